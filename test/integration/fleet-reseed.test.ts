// Two balancers re-seed a Redis that restarted empty, each with its own change to the same setting
// made while Redis was away: the later change wins on both, and the conflict is logged exactly
// once, whatever order Redis takes their steps in. Two fleets in this process on a real
// redis-server; each order is forced by holding one balancer's Redis call (its write, or the read
// of the whole state) until the other's step is done in Redis.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/http.js';
import { validateConfig } from '../../src/config/validate.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { memoryLogger } from '../../src/log/logger.js';
import { Fleet } from '../../src/fleet/fleet.js';
import type { FleetStore } from '../../src/fleet/store.js';

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

const ONE = 'http://127.0.0.1:9';

interface Node {
  fleet: Fleet;
  runtime: RuntimeState;
  lines: Record<string, any>[];
}

function balancer(redis: RedisServer, name: string, id: string): Node {
  const config = validateConfig({
    fleet: { redis: redis.url, name, id, heartbeat: 0.2, peerTimeout: 2 },
    persist: false,
    balancers: { app: { stickysession: '_s', members: [{ url: ONE, route: 'one' }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
  });
  const runtime = new RuntimeState(config);
  const { logger, lines } = memoryLogger('warn');
  const fleet = new Fleet({ model: config.fleet!, id, runtime, config: () => config, logger, info: () => ({ address: id, version: 'test', startedAt: 0, workers: 0 }) });
  fleet.start();
  cleanup.push(() => fleet.stop());
  return { fleet, runtime, lines };
}

function lbfactor(n: Node): number {
  return n.runtime.balancers.get('app')!.members[0].lbfactor;
}

function setLbfactor(n: Node, value: number): void {
  const b = n.runtime.balancers.get('app')!;
  b.setMember(b.members[0], { lbfactor: value }, 'manager');
}

/** Holds a store's calls of one kind until opened; `reached` says a call is waiting. */
function hold(store: FleetStore, method: 'write' | 'snapshot') {
  const s = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const real = s[method].bind(store);
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let reached = false;
  s[method] = async (...a: unknown[]) => {
    reached = true;
    await opened;
    return real(...a);
  };
  return { open, reached: () => reached };
}

const conflicts = (n: Node) => n.lines.filter((l) => /conflicting changes/.test(l.msg));

/**
 * lb1 sets lbfactor 3, then lb2 sets 7 (later: it wins), both while Redis is away; Redis comes back
 * empty. `held` is the call held on each balancer; `first` is the balancer let through first: its
 * step is in Redis before the other's held call goes on.
 */
async function reseed(name: string, held: 'write' | 'snapshot', first: 'lb1' | 'lb2') {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const lb1 = balancer(redis, name, 'lb1');
  const lb2 = balancer(redis, name, 'lb2');
  const both = [lb1, lb2];
  await until(() => both.every((n) => n.fleet.synced), 'both joined', 10_000);
  await redis.kill();
  await until(() => both.every((n) => !n.fleet.synced), 'both see Redis gone', 10_000);
  setLbfactor(lb1, 3);
  setLbfactor(lb2, 7);
  const gates = { lb1: hold(lb1.fleet.store, held), lb2: hold(lb2.fleet.store, held) };
  const second = first === 'lb1' ? 'lb2' : 'lb1';
  await redis.restart();
  const field = JSON.stringify(['m', 'app', ONE, 'lbfactor']);
  if (held === 'write') {
    // Both read the emptied Redis before either stores anything.
    await until(() => gates.lb1.reached() && gates.lb2.reached(), 'both about to write into the empty Redis', 10_000);
  } else {
    await until(() => gates[first].reached(), `${first} about to read the state`, 10_000);
  }
  gates[first].open();
  const firstValue = first === 'lb1' ? 3 : 7;
  await until(async () => (await redis.command('HGET', `stickylb:${name}:state`, field)).includes(`"value":${firstValue}`), `${first}'s change stored`, 10_000);
  gates[second].open();
  // Settled: the same entry on both, nothing left to store, Redis holds the later change.
  await until(() => both.every((n) => n.fleet.synced && n.fleet.pendingChanges === 0 && lbfactor(n) === 7), 'both converged on 7', 10_000);
  assert.match(await redis.command('HGET', `stickylb:${name}:state`, field), /"value":7,.*"o":"lb2"/);
  return { lb1: conflicts(lb1), lb2: conflicts(lb2) };
}

const line = /settled by version \(the later one wins\): kept balancer app member http:\/\/127\.0\.0\.1:9: lbfactor 7 \(manager on lb2 .*\); dropped balancer app member http:\/\/127\.0\.0\.1:9: lbfactor 3 \(manager on lb1 /;

test('both read the emptied Redis, the earlier change is stored first: the later one replaces it, and its balancer logs the conflict', async () => {
  const c = await reseed('w1', 'write', 'lb1');
  assert.equal(c.lb1.length, 0, JSON.stringify(c.lb1));
  assert.equal(c.lb2.length, 1, JSON.stringify(c.lb2));
  assert.match(c.lb2[0].msg, line);
});

test('both read the emptied Redis, the later change is stored first: the earlier one is refused, and its balancer logs the conflict', async () => {
  const c = await reseed('w2', 'write', 'lb2');
  assert.equal(c.lb2.length, 0, JSON.stringify(c.lb2));
  assert.equal(c.lb1.length, 1, JSON.stringify(c.lb1));
  assert.match(c.lb1[0].msg, line);
});

test('one balancer re-seeds first and the other finds its change when it reads the state: logged once, by the one that reads it', async () => {
  const a = await reseed('r1', 'snapshot', 'lb1');
  assert.deepEqual([a.lb1.length, a.lb2.length], [0, 1], JSON.stringify(a));
  assert.match(a.lb2[0].msg, line);
  const b = await reseed('r2', 'snapshot', 'lb2');
  assert.deepEqual([b.lb1.length, b.lb2.length], [1, 0], JSON.stringify(b));
  assert.match(b.lb1[0].msg, line);
});
