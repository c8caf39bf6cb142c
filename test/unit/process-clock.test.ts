// The tests' process deadlines (test/helpers/process-clock.ts) with real child processes: the CPU
// time of a process tree is read from /proc; a wait fails once the process used its CPU budget,
// at once when it exits, and after the wall-clock cap when it waits doing nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { treeCpuMs, untilProcess } from '../helpers/process-clock.js';

/** A node process in a process group of its own, so stop() ends what it started too. */
function node(code: string) {
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore', detached: true });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    child,
    async stop() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await exited;
    },
  };
}

test('a process that spins fails the wait once it used its CPU budget; its children\'s CPU counts', async (t) => {
  // A parent that waits and a child that spins: the tree's CPU grows.
  const p = node(`require('node:child_process').spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }); setInterval(() => {}, 1000);`);
  t.after(() => p.stop());
  await assert.rejects(untilProcess(p.child, () => false, 'something that never comes', { cpuMs: 300 }), /gave up waiting for something that never comes: it used \d+\.\d s of CPU/);
  assert.ok(treeCpuMs(p.child.pid!)! >= 300);
});

test('a process that exits fails the wait at once; one that waits without CPU only after the wall-clock cap; a wait that is met resolves', async (t) => {
  const gone = node('process.exit(3)');
  t.after(() => gone.stop());
  await assert.rejects(untilProcess(gone.child, () => false, 'a line', { cpuMs: 60_000 }), /the process exited \(3\)/);
  const idle = node('setInterval(() => {}, 1000)');
  t.after(() => idle.stop());
  const t0 = Date.now();
  await assert.rejects(untilProcess(idle.child, () => false, 'a line', { cpuMs: 60_000, wallMs: 300 }), /gave up waiting for a line: \d+ s passed/);
  assert.ok(Date.now() - t0 >= 300);
  let n = 0;
  await untilProcess(idle.child, () => ++n === 3, 'three polls');
  assert.equal(n, 3);
});
