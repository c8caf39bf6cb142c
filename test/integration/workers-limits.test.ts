// Per-address limits hold for the balancer, not per worker: a real `stickylb run` with 2 workers,
// clients on their own loopback addresses whose connections the kernel spreads over both
// workers. Many connections at once from one address: exactly maxConnectionsPerClient are let in,
// across both workers. A burst of requests on new connections: exactly the rate limit's requests
// pass. A refused client gets the same answer as from one process, and refusals are counted and
// logged as there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { get, rawConn, type RawConn } from '../helpers/edge.js';
import { startWorkersBalancer, type WorkersBalancer } from '../helpers/workers.js';
import { retryAfter } from '../../src/edge/rate-limit.js';

const PER_CLIENT = 10;
const RATE = 20;
const HOUR = 3_600_000;

let member: Backend;
let lb: WorkersBalancer;
let single: RunningBalancer;
const held: RawConn[] = [];

function limits() {
  return {
    maxConnectionsPerClient: PER_CLIENT,
    keepAliveTimeout: 120,
    balancers: { c: { members: [{ url: member.url, route: 'm' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
    sites: undefined,
    rateLimits: [{ path: '/api', requests: RATE, window: '1h' }],
  };
}

before(async () => {
  member = await startBackend({
    name: 'm',
    handler: (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    },
  });
  const { sites: _, ...config } = limits();
  lb = await startWorkersBalancer({ workers: 2, ...config, accessLog: [{ path: 'access.log', format: '%P %a %U %>s' }] });
  single = await startBalancer({ ...config, manager: { allow: ['local'] } });
});

after(async () => {
  for (const c of held) c.socket.destroy();
  await lb?.stop();
  await single?.close();
  await member?.close();
});

/** Access log lines (pid, client, path, status) of the workers. */
function accessLines(): { pid: string; client: string; path: string; status: string }[] {
  const f = join(lb.dir, 'access.log');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pid, client, path, status] = l.split(' ');
      return { pid, client, path, status };
    });
}

async function workerPids(): Promise<string[]> {
  return (await lb.workers()).workers.map((w) => String(w.pid));
}

async function limitsApi(): Promise<{ counters: Record<string, number>; rateLimits: { rule: string; allowed: number; limited: number }[]; connections: { busiestClients: Record<string, number> } }> {
  return (await request(`${lb.manager}/api/limits`)).json();
}

/**
 * Opens `n` connections from `from` at once and sends a request on each: those let in are
 * answered (and kept open), the others get the refusal and are closed.
 */
async function wave(n: number, from: string, tag: string): Promise<{ admitted: RawConn[]; refused: number }> {
  const conns = Array.from({ length: n }, () => rawConn(lb.port, from));
  await Promise.all(conns.map((c) => c.ready.catch(() => undefined)));
  conns.forEach((c, i) => c.write(`GET /held/${tag}-${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
  await until(() => conns.every((c) => c.closed() || c.text().includes('\r\n\r\n')), 'every connection answered or closed', 30_000);
  const admitted = conns.filter((c) => /^HTTP\/1\.1 200 /.test(c.text()) && !c.closed());
  held.push(...admitted);
  for (const c of conns) if (!admitted.includes(c)) c.socket.destroy();
  return { admitted, refused: n - admitted.length };
}

test('connections from one address spread over both workers: exactly maxConnectionsPerClient are let in; the refusal is the one of one process, counted and logged', async () => {
  const pids = await workerPids();
  assert.equal(pids.length, 2);
  let refusedAll = 0;
  let spread: Map<string, number> | undefined;
  const admittedByWave: number[] = [];
  for (let w = 0; w < 20 && !spread; w++) {
    const from = `127.0.0.${10 + w}`;
    const { admitted, refused } = await wave(3 * PER_CLIENT, from, `w${w}`);
    refusedAll += refused;
    admittedByWave.push(admitted.length);
    assert.equal(admitted.length, PER_CLIENT, `wave ${w}: ${admitted.length} of 30 connections from ${from} let in (limit ${PER_CLIENT})`);
    // Which worker let each in: its access log line.
    await until(() => accessLines().filter((l) => l.path.startsWith(`/held/w${w}-`)).length === PER_CLIENT, 'the access log lines of the wave', 10_000);
    const byPid = new Map<string, number>();
    for (const l of accessLines().filter((x) => x.path.startsWith(`/held/w${w}-`))) byPid.set(l.pid, (byPid.get(l.pid) ?? 0) + 1);
    if (byPid.size === 2) spread = byPid;

    // One more from the same address, sending nothing: refused, with the answer of one process.
    const extra = rawConn(lb.port, from);
    await extra.ready;
    await until(() => extra.closed(), 'the extra connection to be refused', 10_000);
    refusedAll++;
    if (w === 0) {
      const one = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(() => rawConn(single.port, from));
      await Promise.all(one.map((c) => c.ready));
      await until(() => single.app.server.edge.connections.of(from) === PER_CLIENT, 'one process counts its connections');
      const refusedByOne = rawConn(single.port, from);
      await refusedByOne.ready;
      await until(() => refusedByOne.closed(), 'one process refuses the eleventh');
      assert.match(extra.text(), /^HTTP\/1\.1 503 /);
      assert.equal(extra.text(), refusedByOne.text(), 'the same refusal as one process');
      for (const c of one) c.socket.destroy();
    }
  }
  console.log(`connections: ${admittedByWave.length} wave(s) of 30 from one address each, let in: ${admittedByWave.join(', ')} (limit ${PER_CLIENT}, overshoot ${Math.max(...admittedByWave) - PER_CLIENT}); by worker in the spread wave: ${[...(spread ?? new Map()).values()].join(' + ')}`);
  assert.ok(spread, 'the kernel gave both workers connections of one address in some wave');
  // Counted as one process counts them (all workers together, reported within 100 ms).
  await until(async () => (await limitsApi()).counters.connectionsRefusedPerClient === refusedAll, `${refusedAll} refusals counted`, 10_000);
  // The busiest clients: every worker's connections of an address together.
  await until(async () => (await limitsApi()).connections.busiestClients['127.0.0.10'] === PER_CLIENT, 'the held connections among the busiest clients', 10_000);
  // Logged once a minute per address, by the worker that refused.
  const log = readFileSync(join(lb.dir, 'error.log'), 'utf8');
  assert.match(log, /refused a connection from 127\.0\.0\.10: 127\.0\.0\.10 has 10 connections open already \(maxConnectionsPerClient\)/);
});

test('a burst of requests on new connections from one address, over both workers: exactly the rate limit passes; the 429 is the one of one process', async () => {
  let spread = false;
  const passedByBurst: number[] = [];
  for (let i = 0; i < 20 && !spread; i++) {
    const from = `127.0.1.${10 + i}`;
    const t0 = Date.now();
    const answers: Awaited<ReturnType<typeof get>>[] = [];
    // 60 requests, 4 at a time (well below the connection limit), each on a connection of its own.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < 3 * RATE) {
          const n = next++;
          answers.push(await get(lb.port, `/api/b${i}-${n}`, { from }));
        }
      }),
    );
    const t1 = Date.now();
    // A burst that crossed an hour boundary weighs the previous hour: take another address.
    if (Math.floor(t0 / HOUR) !== Math.floor(t1 / HOUR)) continue;
    const passed = answers.filter((a) => a.status === 200).length;
    passedByBurst.push(passed);
    assert.equal(passed, RATE, `burst ${i}: ${passed} of 60 requests passed (limit ${RATE} an hour)`);
    const limited = answers.filter((a) => a.status === 429);
    assert.equal(limited.length, 3 * RATE - RATE);
    // Retry-After as one process computes it for 20 requests in this hour, at some time of the burst.
    const lo = retryAfter({ prev: 0, curr: RATE }, RATE, HOUR, t1 - Math.floor(t1 / HOUR) * HOUR);
    const hi = retryAfter({ prev: 0, curr: RATE }, RATE, HOUR, t0 - Math.floor(t0 / HOUR) * HOUR);
    for (const a of limited) {
      const s = Number(a.headers['retry-after']);
      assert.ok(s >= lo && s <= hi, `Retry-After ${a.headers['retry-after']}, one process would say ${lo}–${hi}`);
    }
    await until(() => accessLines().filter((l) => l.path.startsWith(`/api/b${i}-`)).length === 3 * RATE, 'the access log lines of the burst', 10_000);
    const pids = new Set(accessLines().filter((l) => l.path.startsWith(`/api/b${i}-`) && l.status === '200').map((l) => l.pid));
    spread = pids.size === 2;
    if (i === 0) {
      // One process, the same burst: the same answers.
      const one: Awaited<ReturnType<typeof get>>[] = [];
      for (let n = 0; n < RATE + 1; n++) one.push(await get(single.port, `/api/one-${n}`, { from }));
      const byOne = one[RATE];
      assert.equal(byOne.status, 429);
      assert.equal(limited[0].body, byOne.body);
      assert.equal(limited[0].headers['content-type'], byOne.headers['content-type']);
      assert.deepEqual(Object.keys(limited[0].headers).filter((h) => h !== 'date').sort(), Object.keys(byOne.headers).filter((h) => h !== 'date').sort());
    }
  }
  console.log(`rate limit: ${passedByBurst.length} burst(s) of 60 requests from one address, passed: ${passedByBurst.join(', ')} (limit ${RATE}, overshoot ${Math.max(...passedByBurst) - RATE})`);
  assert.ok(spread, 'both workers let requests of one address pass in some burst');
  await until(async () => (await limitsApi()).counters.rateLimited === passedByBurst.length * 2 * RATE, 'the 429s counted', 10_000);
  // The rule's figures, every worker's together.
  await until(
    async () => {
      const r = (await limitsApi()).rateLimits.find((x) => x.rule === '/api 20/3600s');
      return r?.allowed === passedByBurst.length * RATE && r.limited === passedByBurst.length * 2 * RATE;
    },
    'the rule figures of all workers',
    10_000,
  );
  assert.match(readFileSync(join(lb.dir, 'error.log'), 'utf8'), /refused GET \/api\/b0-\d+ from 127\.0\.1\.10: over the rate limit \/api 20\/3600s/);
});
