// Log rotation: the log file is renamed while requests keep coming and the logs are reopened;
// every request ends up logged exactly once across the files, and no line is cut. Once in process
// (reopen() called directly) and once through SIGUSR1 to a `stickylb run` child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBalancer } from '../helpers/balancer.js';
import { startBackend } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { startCli } from '../helpers/node-process.js';
import { createLogger, errorLogStream } from '../../src/log/logger.js';
import type { LogsPlugin } from '../../src/log/plugin.js';

const COMBINED = /^\S+ - - \[[^\]]+\] "GET \/(?:app|files)\/[^ ]*\?n=(\d+) HTTP\/1\.1" (\d{3}) (\d+|-) "[^"]*" "[^"]*"$/;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-rotate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function text(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function lineCount(file: string): number {
  return text(file).split('\n').filter(Boolean).length;
}

/** The request numbers logged in `files`; checks that every line is whole and well-formed. */
function loggedNumbers(files: string[]): number[] {
  const out: number[] = [];
  for (const f of files) {
    const t = text(f);
    if (t === '') continue;
    assert.ok(t.endsWith('\n'), `${f} ends in the middle of a line`);
    for (const line of t.slice(0, -1).split('\n')) {
      const m = COMBINED.exec(line);
      assert.ok(m, `${f}: damaged or partial line: ${JSON.stringify(line)}`);
      out.push(Number(m[1]));
    }
  }
  return out;
}

function assertEachOnce(numbers: number[], total: number): void {
  const counts = new Map<number, number>();
  for (const n of numbers) counts.set(n, (counts.get(n) ?? 0) + 1);
  const twice = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !counts.has(i));
  assert.deepEqual({ twice, missing }, { twice: [], missing: [] });
  assert.equal(numbers.length, total);
}

test('rotation under load: rename + reopen() three times, every request logged once, no partial line', async (t) => {
  const dir = tempDir(t);
  const access = join(dir, 'access.log');
  const errors = join(dir, 'error.log');
  const backend = await startBackend({ name: 'n1', route: 'R1' });
  const logger = createLogger({ path: errors, level: 'info' });
  const lb = await startBalancer(
    {
      balancers: { c: { members: [{ url: backend.url, route: 'R1' }] } },
      proxyPass: [{ path: '/app', to: 'balancer://c/' }],
      accessLog: [{ path: access, format: 'combined' }],
    },
    { logger },
  );
  t.after(async () => {
    await lb.close();
    await backend.close();
    await errorLogStream(logger)?.writer.close();
  });
  const logs = lb.app.plugin<LogsPlugin>('logs')!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.after(() => agent.destroy());

  const TOTAL = 600;
  const ROTATE_AT = new Set([150, 300, 450]);
  let next = 0;
  let rotations = 0;
  const reopens: Promise<void>[] = [];
  const worker = async () => {
    for (;;) {
      const n = next++;
      if (n >= TOTAL) return;
      if (ROTATE_AT.has(n)) {
        rotations++;
        renameSync(access, `${access}.${rotations}`);
        if (rotations === 1) renameSync(errors, `${errors}.1`);
        // Not awaited: requests go on while the file is reopened.
        reopens.push(logs.reopen());
      }
      const r = await request(`${lb.url}/app/item?n=${n}`, { agent });
      assert.equal(r.status, 200);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await Promise.all(reopens);

  const files = [`${access}.1`, `${access}.2`, `${access}.3`, access];
  await until(() => files.reduce((s, f) => s + lineCount(f), 0) >= TOTAL, `${TOTAL} lines across the rotated files`, 10_000);
  await logs.flush();
  assertEachOnce(loggedNumbers(files), TOTAL);
  for (const f of files) assert.ok(lineCount(f) > 0, `${f} got lines`);
  // The error log was reopened too: the new file has the reopen notice.
  await until(() => text(errors).includes('log files reopened'), 'the reopen notice in the new error log');
});

test('SIGUSR1 to `stickylb run` reopens the access and error logs; shutdown flushes them', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'html', 'files'), { recursive: true });
  writeFileSync(join(dir, 'html', 'files', 'main.css'), 'body{}\n');
  const config = join(dir, 'stickylb.yaml');
  // Relative paths: taken from the config file's directory, not the working directory.
  writeFileSync(
    config,
    [
      'listen: ["127.0.0.1:0"]',
      'static: { root: html }',
      'accessLog:',
      '  - { path: logs/access.log, format: combined }',
      'errorLog: { path: logs/error.log, level: info, format: text }',
      '',
    ].join('\n'),
  );
  const access = join(dir, 'logs', 'access.log');
  const errors = join(dir, 'logs', 'error.log');
  const proc = startCli(['run', '-c', config]);
  t.after(() => proc.stop('SIGKILL'));
  const [, port] = await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
  const base = `http://127.0.0.1:${port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());

  const burst = async (from: number, to: number) => {
    const all: Promise<unknown>[] = [];
    for (let n = from; n < to; n++) all.push(request(`${base}/files/main.css?n=${n}`, { agent }).then((r) => assert.equal(r.status, 200)));
    await Promise.all(all);
  };

  await burst(0, 40);
  await until(() => lineCount(access) === 40, '40 lines before the rotation');
  renameSync(access, `${access}.1`);
  renameSync(errors, `${errors}.1`);
  // Requests in flight while the signal arrives.
  const during = burst(40, 80);
  proc.child.kill('SIGUSR1');
  await during;
  await until(() => text(errors).includes('log files reopened'), 'the reopen notice in the new error log');
  await burst(80, 120);
  await until(() => lineCount(`${access}.1`) + lineCount(access) === 120, '120 lines across both files');
  assert.ok(lineCount(access) >= 40, 'the requests after the signal went to the new file');

  // The last requests right before a clean shutdown are not lost.
  await burst(120, 140);
  agent.destroy();
  assert.equal(await proc.stop('SIGTERM'), 0);
  assertEachOnce(loggedNumbers([`${access}.1`, access]), 140);
  assert.match(text(errors), /\[warn\] \[pid \d+\] SIGTERM: stopping/);
  assert.ok(!/Debugger listening/.test(proc.stderr), 'SIGUSR1 did not start the inspector');
  assert.deepEqual(readdirSync(join(dir, 'logs')).sort(), ['access.log', 'access.log.1', 'error.log', 'error.log.1']);
});
