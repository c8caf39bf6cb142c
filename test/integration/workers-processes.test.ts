// Worker processes come and go without the balancer losing more than what was in flight on a
// dead one: a real `stickylb run` with 2 workers and 2 nodes its launcher starts, under load from
// keep-alive clients. kill -9 of a worker, SIGHUP (also with listener changes), SIGUSR1 with a
// rotated access log, and SIGTERM with a request in flight.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { deadPort as freePort } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { startWorkersBalancer, type WorkersAnswer, type WorkersBalancer } from '../helpers/workers.js';

const NODE_APP = new URL('../fixtures/apps/slow-node.mjs', import.meta.url).pathname;
let lb: WorkersBalancer;
let config: Record<string, unknown>;
let stopped = false;

before(async () => {
  config = {
    workers: 2,
    nodes: { command: [process.execPath, NODE_APP], list: [{ route: 'one', port: await freePort() }, { route: 'two', port: await freePort() }] },
    balancers: { app: { stickysession: '_s', members: [] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    accessLog: [{ path: 'access.log', format: '%P %m %U %>s %b' }],
  };
  // A fixed port, as configs have: a reload that keeps the address keeps the listening socket.
  const port = await freePort();
  config.listen = [`127.0.0.1:${port}`];
  lb = await startWorkersBalancer(config, { port });
});

after(async () => {
  if (!stopped) await lb?.stop();
});

/** Rewrites the config file and sends SIGHUP; resolves once the owner has logged the reload. */
async function reloadWith(next: Record<string, unknown>): Promise<void> {
  const log = () => (existsSync(join(lb.dir, 'error.log')) ? readFileSync(join(lb.dir, 'error.log'), 'utf8') : '');
  const before = log().split('configuration reloaded').length;
  writeFileSync(lb.file, stringify({ errorLog: { path: join(lb.dir, 'error.log'), level: 'info' }, manager: { path: '/balancer-manager' }, ...next }));
  lb.proc.child.kill('SIGHUP');
  await until(() => log().split('configuration reloaded').length > before, 'the reload', 60_000);
}

test('kill -9 of a worker under load: only what it had in flight fails, the other serves on, the worker comes back', async () => {
  const load = startLoad({ url: () => `${lb.url}/w?delay=5`, concurrency: 6 });
  let victim: WorkersAnswer['workers'][number] | undefined;
  let other: WorkersAnswer['workers'][number] | undefined;
  try {
    await until(() => load.stats.ok >= 300, 'load running', 30_000);
    const before = await lb.workers();
    victim = before.workers.find((w) => w.index === 1)!;
    other = before.workers.find((w) => w.index === 2)!;
    process.kill(victim.pid, 'SIGKILL');
    const okAtKill = load.stats.ok;
    await until(async () => (await lb.workers()).workers.some((w) => w.index === 1 && w.pid !== victim!.pid && w.phase === 'ready'), 'worker 1 replaced', 60_000);
    await until(() => load.stats.ok >= okAtKill + 300, 'load after the replacement', 30_000);
  } finally {
    await load.stop();
  }
  const stats = load.stats;
  const now = await lb.workers();
  const back = now.workers.find((w) => w.index === 1)!;
  assert.equal(back.restarts, 1);
  assert.equal(now.workers.find((w) => w.index === 2)!.pid, other!.pid, 'the other worker was not touched');
  console.log(`kill -9 under load: ${stats.failed} failed of ${stats.sent} requests; the killed worker held ${victim!.connections} connection(s)`);
  // Only the dead worker's connections could lose a request (one each at most).
  assert.ok(stats.failed <= victim!.connections, `${stats.failed} requests failed; the killed worker held ${victim!.connections} connections\n${stats.errors.join('\n')}`);
  assert.equal(stats.refused, 0, 'a connection was refused');
});

test('SIGHUP under load: every worker reloads, listeners are added, moved and removed, no request fails, no connection is refused', async () => {
  const load = startLoad({ url: () => `${lb.url}/h`, concurrency: 6 });
  try {
    await until(() => load.stats.ok >= 200, 'load running', 30_000);
    // A plain reload: the workers take the new config in place.
    const gen = (await lb.workers()).generation;
    await reloadWith({ ...config, timeout: 30 });
    assert.equal((await lb.workers()).generation, gen, 'workers were reloaded, not replaced');
    let ok = load.stats.ok;
    await until(() => load.stats.ok >= ok + 200, 'load after the reload', 30_000);

    // A second listener: new workers listen on both addresses, the old ones drain.
    const second = await freePort();
    await reloadWith({ ...config, timeout: 30, listen: [`127.0.0.1:${lb.port}`, `127.0.0.1:${second}`] });
    await until(async () => (await request(`http://127.0.0.1:${second}/h`).catch(() => undefined))?.status === 200, 'the added listener answers', 30_000);
    ok = load.stats.ok;
    await until(() => load.stats.ok >= ok + 200, 'load after adding a listener', 30_000);

    // Move the second listener to another port: the old address stops answering.
    const third = await freePort();
    await reloadWith({ ...config, timeout: 30, listen: [`127.0.0.1:${lb.port}`, `127.0.0.1:${third}`] });
    await until(async () => (await request(`http://127.0.0.1:${third}/h`).catch(() => undefined))?.status === 200, 'the moved listener answers', 30_000);
    await until(async () => (await request(`http://127.0.0.1:${second}/h`).then(() => 'open', (e: NodeJS.ErrnoException) => e.code)) === 'ECONNREFUSED', 'the old address is closed', 30_000);
    ok = load.stats.ok;
    await until(() => load.stats.ok >= ok + 200, 'load after moving a listener', 30_000);
    await until(async () => (await lb.workers()).workers.every((w) => w.phase === 'ready'), 'the previous workers are gone', 30_000);
  } finally {
    const stats = await load.stop();
    assert.equal(stats.failed, 0, stats.errors.join('\n'));
    assert.equal(stats.refused, 0, 'a connection was refused');
  }
});

test('SIGUSR1 under load: every worker reopens the access log; every request is logged once, in whole lines', async () => {
  const log = join(lb.dir, 'access.log');
  const load = startLoad({ url: () => `${lb.url}/logged`, concurrency: 6 });
  try {
    await until(() => load.stats.ok >= 300, 'load running', 30_000);
    // logrotate: rename, then SIGUSR1.
    renameSync(log, `${log}.1`);
    lb.proc.child.kill('SIGUSR1');
    await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('/logged'), 'lines in the new file', 30_000);
    const ok = load.stats.ok;
    await until(() => load.stats.ok >= ok + 300, 'load after the reopen', 30_000);
  } finally {
    const stats = await load.stop();
    assert.equal(stats.failed + stats.refused, 0, stats.errors.join('\n'));
  }
  const lines = () => [...readFileSync(`${log}.1`, 'utf8').split('\n'), ...readFileSync(log, 'utf8').split('\n')].filter((l) => l.includes('/logged'));
  await until(() => lines().length >= load.stats.ok, 'every line written', 10_000);
  const all = lines();
  assert.equal(all.length, load.stats.ok, 'one line per request');
  const bad = all.filter((l) => !/^\d+ GET \/logged 200 \d+$/.test(l));
  assert.deepEqual(bad, [], 'every line whole');
  const pids = new Set(all.map((l) => l.split(' ')[0]));
  assert.ok(pids.size >= 2, `lines from ${pids.size} worker(s)`);
  const after = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('/logged'));
  assert.ok(new Set(after.map((l) => l.split(' ')[0])).size >= 2, 'both workers write to the new file');
});

test('SIGTERM: workers stop taking connections, the request in flight is answered, the launcher stops its nodes last', async () => {
  const slow = request(`${lb.url}/slow?delay=1500`);
  await until(() => /answering in 1500 ms/.test(lb.proc.stdout), 'the slow request reached a node', 30_000);
  stopped = true;
  const code = lb.stop();
  const r = await slow;
  assert.equal(r.status, 200, 'the request in flight was answered by its node');
  assert.equal(await code, 0);
  await assert.rejects(request(`${lb.url}/h`), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
});
