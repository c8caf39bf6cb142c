// `stickylb restart --rolling` against a running `stickylb run`, through the manager's API.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../helpers/http.js';
import { untilProcess } from '../helpers/process-clock.js';
import { deadPort as freePort } from '../helpers/backends.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/bin.ts')];
const SLOW_NODE = join(ROOT, 'test/fixtures/apps/slow-node.mjs');

function cli(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out, exit: new Promise((r) => child.on('exit', (c) => r(c))) };
}

let file: string;
let port: number;
let balancer: ReturnType<typeof cli>;

before(async () => {
  port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-rolling-cli-'));
  file = join(dir, 'cluster.yaml');
  writeFileSync(
    file,
    [
      `listen: ["127.0.0.1:${port}"]`,
      'errorLog: { level: error }',
      'nodes:',
      `  command: ["${process.execPath}", "${SLOW_NODE}"]`,
      `  list: [{ route: first, port: ${await freePort()} }, { route: second, port: ${await freePort()} }]`,
      '  balancer: c',
      'balancers:',
      '  c: { stickysession: "_s|_s", nofailover: true, members: [] }',
      'manager: { path: /balancer-manager }',
      'proxyPass:',
      '  - { path: /balancer-manager, to: "!" }',
      '  - { path: /, to: "balancer://c/" }',
      '',
    ].join('\n'),
  );
  balancer = cli(['run', '-c', file]);
  // Up when it says it listens: its launcher has started both nodes by then. The deadline is in
  // the CPU time it gets (about 2 s of it to start from the sources), not in seconds of a busy machine.
  await untilProcess(balancer.child, () => balancer.output().includes('stickylb listening'), 'the balancer to listen', { context: balancer.output });
});

after(async () => {
  balancer.child.kill('SIGTERM');
  await balancer.exit;
});

test('restart --rolling restarts every node, prints each step, exits 0', async () => {
  const before = new Set<number>();
  for (let i = 0; i < 6; i++) before.add((await request(`http://127.0.0.1:${port}/`)).json().pid);
  const r = cli(['restart', '--rolling', '-c', file, '--idle', '200ms']);
  const code = await r.exit;
  const out = r.output();
  assert.equal(code, 0, out);
  for (const step of ['drain', 'wait-idle', 'stop', 'start', 'wait-healthy', 'enable']) assert.match(out, new RegExp(`first\\s+${step}`));
  assert.match(out, /second\s+enable\s+second enabled again/);
  assert.match(out, /first: restarted in [\d.]+s; sessions lost: 0/);
  assert.match(out, /done: restarted 2 member\(s\)/);
  const afterPids = new Set<number>();
  for (let i = 0; i < 40 && afterPids.size < 2; i++) afterPids.add((await request(`http://127.0.0.1:${port}/`)).json().pid);
  assert.equal(afterPids.size, 2);
  for (const pid of afterPids) assert.ok(!before.has(pid), 'every node runs a new process');
});

test('the rolling API refuses a start without the nonce or from another origin', async () => {
  const url = `http://127.0.0.1:${port}/balancer-manager/api/rolling`;
  const noNonce = await request(url, { method: 'POST', headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(noNonce.status, 403);
  assert.match(noNonce.json().error, /nonce/);
  const api = (await request(`http://127.0.0.1:${port}/balancer-manager/api`)).json();
  const nonce = api.balancers.find((b: { name: string }) => b.name === 'c').nonce;
  const foreign = await request(url, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ nonce }) });
  assert.equal(foreign.status, 403);
  const state = (await request(url)).json();
  assert.equal(state.running, false);
  assert.equal(state.balancer, 'c');
});

test('abort through the API stops after the current step and leaves every node enabled', async () => {
  const api = (await request(`http://127.0.0.1:${port}/balancer-manager/api`)).json();
  const nonce = api.balancers.find((b: { name: string }) => b.name === 'c').nonce;
  const headers = { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' };
  const url = `http://127.0.0.1:${port}/balancer-manager/api/rolling`;
  const started = await request(url, { method: 'POST', headers, body: JSON.stringify({ nonce, idle: '60s' }) });
  assert.equal(started.status, 202, started.body);
  await untilProcess(balancer.child, async () => (await request(url)).json().current?.step === 'wait-idle', 'first node waiting for idleness');
  const abort = await request(`${url}/abort`, { method: 'POST', headers, body: JSON.stringify({ nonce }) });
  assert.equal(abort.status, 202);
  await untilProcess(balancer.child, async () => (await request(url)).json().summary !== undefined, 'rollout over');
  const s = (await request(url)).json().summary;
  assert.equal(s.aborted, true);
  assert.deepEqual(s.notEnabled, []);
  const routes = new Set<string>();
  for (let i = 0; i < 40 && routes.size < 2; i++) routes.add((await request(`http://127.0.0.1:${port}/`)).json().route);
  assert.deepEqual([...routes].sort(), ['first', 'second']);
});

test('the manager page shows the node phases and starts a rolling restart from its form', async () => {
  const page = await request(`http://127.0.0.1:${port}/balancer-manager`);
  assert.equal(page.status, 200);
  assert.match(page.body, /<section class="card" id="rolling"><h2>Nodes and rolling restart<\/h2>/);
  assert.match(page.body, /<td>first<\/td><td>\d+<\/td><td>\d+<\/td><td>running<\/td>/);
  const form = /<form method="post" action="([^"]+)"><input type="hidden" name="nonce" value="([^"]+)"><input type="hidden" name="balancer" value="c">/.exec(page.body);
  assert.ok(form, 'the page has the rolling restart form');
  assert.equal(form[1], '/balancer-manager/api/rolling');
  const started = await request(`http://127.0.0.1:${port}${form[1]}`, {
    method: 'POST',
    headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `nonce=${encodeURIComponent(form[2])}&balancer=c&idle=100ms`,
  });
  assert.equal(started.status, 303);
  assert.equal(started.headers.location, '/balancer-manager/#rolling');
  const url = `http://127.0.0.1:${port}/balancer-manager/api/rolling`;
  // Both nodes stopped, started and found healthy again: the balancer and its nodes at work.
  await untilProcess(balancer.child, async () => (await request(url)).json().summary?.ok === true && !(await request(url)).json().running, 'rollout done');
  const after = await request(`http://127.0.0.1:${port}/balancer-manager`);
  assert.match(after.body, /Last rolling restart: done — restarted 2 member\(s\)\./);
});
