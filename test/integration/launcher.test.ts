// The launcher with real node processes: restarts, clear start failures, graceful shutdown.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { deadPort as freePort } from '../helpers/backends.js';
import { untilProcess } from '../helpers/process-clock.js';
import { launcherPlugin, NoNodeCanServeError } from '../../src/launcher/launcher.js';
import type { RawConfig } from '../../src/config/schema.js';

const NODE_APP = new URL('../fixtures/apps/slow-node.mjs', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function clusterConfig(command: string[]): Promise<RawConfig> {
  return {
    nodes: { command, list: [{ route: 'first', port: await freePort() }, { route: 'second', port: await freePort() }], balancer: 'c' },
    balancers: { c: { stickysession: '_s|_s', nofailover: true, members: [] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  };
}

const running: RunningBalancer[] = [];
after(async () => {
  for (const r of running) await r.close();
});

function sessionOf(setCookie: string[] | undefined): string {
  const m = /_s=([^;]+)/.exec(setCookie?.[0] ?? '');
  assert.ok(m, 'a session cookie was issued');
  return m[1];
}

test('a killed node is restarted and serves again; only its own sessions see errors meanwhile', async () => {
  const plugin = launcherPlugin({ output: () => {}, backoffStartMs: 1500 });
  const lb = await startBalancer(await clusterConfig([process.execPath, NODE_APP]), { plugins: [plugin] });
  running.push(lb);
  const sessions: Record<string, string> = {};
  for (let i = 0; i < 6 && Object.keys(sessions).length < 2; i++) {
    const r = await request(`${lb.url}/`);
    sessions[r.json().route] = sessionOf(r.headers['set-cookie'] as string[]);
  }
  assert.deepEqual(Object.keys(sessions).sort(), ['first', 'second']);
  const first = plugin.launcher!.node('first')!;
  const oldPid = first.pid!;
  process.kill(oldPid, 'SIGKILL');

  // While the node is down, its sessions are refused (nofailover) and the other node's are served.
  await until(async () => (await request(`${lb.url}/`, { headers: { cookie: `_s=${sessions.first}` } })).status === 503, 'first session refused');
  for (let i = 0; i < 20; i++) {
    const r = await request(`${lb.url}/`, { headers: { cookie: `_s=${sessions.second}` } });
    assert.equal(r.status, 200);
    assert.equal(r.json().route, 'second');
  }
  // New sessions go to the live node.
  const fresh = await request(`${lb.url}/`);
  assert.equal(fresh.json().route, 'second');

  // The launcher brings it back and the balancer uses it again.
  await until(async () => {
    const r = await request(`${lb.url}/`, { headers: { cookie: `_s=x.first` } });
    return r.status === 200 && r.json().route === 'first';
  }, 'first node back', 10_000);
  assert.notEqual(first.pid, oldPid);
  assert.equal(first.restarts, 1);
});

test('a missing command gives a clear message naming the node, and nothing starts', async () => {
  const cfg = await clusterConfig(['/nonexistent/app-binary']);
  await assert.rejects(
    startBalancer(cfg, { plugins: [launcherPlugin({ output: () => {} })] }),
    (e: Error) => {
      assert.ok(e instanceof NoNodeCanServeError);
      assert.match(e.message, /node first \(port \d+\): command not found: \/nonexistent\/app-binary/);
      assert.match(e.message, /node second \(port \d+\): command not found/);
      return true;
    },
  );
});

test('a node that exits at once, and a node whose port is taken, are named with the reason', async () => {
  const cfg = await clusterConfig([process.execPath, '-e', 'console.error("cannot open database"); process.exit(3)']);
  await assert.rejects(startBalancer(cfg, { plugins: [launcherPlugin({ output: () => {} })] }), (e: Error) => {
    assert.match(e.message, /node first \(port \d+\): exited with code 3 right after start; last output:\n\s+cannot open database/);
    return true;
  });

  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const taken = (blocker.address() as net.AddressInfo).port;
  const cfg2 = await clusterConfig([process.execPath, NODE_APP]);
  cfg2.nodes!.list![0].port = taken;
  const plugin = launcherPlugin({ output: () => {} });
  const lb = await startBalancer(cfg2, { plugins: [plugin] });
  running.push(lb);
  // One node can serve, so the balancer runs; the other is reported and kept out of rotation.
  assert.equal(plugin.launcher!.node('first')!.phase, 'failed');
  for (let i = 0; i < 4; i++) assert.equal((await request(`${lb.url}/`)).json().route, 'second');
  blocker.close();
});

test('SIGTERM: in-flight requests complete, then every node process is gone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-launcher-'));
  const port = await freePort();
  const cfg = { listen: [`127.0.0.1:${port}`], ...(await clusterConfig([process.execPath, NODE_APP])), errorLog: { level: 'error' } };
  const file = join(dir, 'cluster.json');
  writeFileSync(file, JSON.stringify(cfg));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'run', '-c', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // A test that fails before its SIGTERM stops the balancer (and so its nodes) all the same.
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  });
  // Up when it says it listens (both nodes started by then); the deadline is in the CPU time it
  // gets (about 2 s of it to start from the sources), not in seconds of a busy machine.
  await untilProcess(child, () => out.includes('stickylb listening'), 'the balancer to listen', { context: () => out });
  const pids = [...out.matchAll(/node (first|second) \(port \d+\) is running \(pid (\d+)\)/g)].map((m) => Number(m[2]));
  // The pids may only be logged at info level; ask the nodes instead.
  const seen = new Set<number>(pids);
  for (let i = 0; i < 6; i++) seen.add((await request(`http://127.0.0.1:${port}/`)).json().pid);
  assert.equal(seen.size, 2);

  const inflight = Array.from({ length: 6 }, () => request(`http://127.0.0.1:${port}/?delay=800`));
  // The nodes print a line for each slow request they received (the launcher passes it on).
  await untilProcess(child, () => (out.match(/request received/g) ?? []).length === 6, 'requests reached the nodes');
  child.kill('SIGTERM');
  const replies = await Promise.all(inflight);
  for (const r of replies) assert.equal(r.status, 200);
  assert.equal(await exited, 0);
  for (const pid of seen) await until(() => !alive(pid), `node pid ${pid} gone`);
});
