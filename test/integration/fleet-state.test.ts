// Several balancers as one fleet on a real redis-server: three balancers (Apps in this process,
// each with its own runtime state and Redis connections) share what their managers change; the
// manager answers once a change is stored and says who applied it; the fleet, and where the
// balancers see a member differently, show in the manager; requests never call Redis.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import http from 'node:http';
import net from 'node:net';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { apiGet, apiSend } from '../helpers/manager.js';
import { startWorkersBalancer } from '../helpers/workers.js';
import type { RawConfig } from '../../src/config/schema.js';
import { validateConfig } from '../../src/config/validate.js';

let redis: RedisServer;
let one: Backend;
let two: Backend;
const running: RunningBalancer[] = [];

before(async () => {
  redis = await startRedis();
  one = await startBackend({ name: 'one' });
  two = await startBackend({ name: 'two' });
});

after(async () => {
  for (const r of running) await r.close();
  await one?.close();
  await two?.close();
  await redis?.stop();
});

function config(fleet: string, id: string, extra: Partial<RawConfig> = {}, members?: RawConfig['balancers']): RawConfig {
  const { fleet: more, ...rest } = extra;
  return {
    fleet: { redis: redis.url, name: fleet, id, heartbeat: 0.2, peerTimeout: 2, ...more },
    persist: false,
    balancers: members ?? {
      app: {
        stickysession: '_s',
        growth: 2,
        members: [
          { url: one.url, route: 'one' },
          { url: two.url, route: 'two' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    manager: { path: '/balancer-manager' },
    serverStatus: { path: '/server-status' },
    metrics: { path: '/metrics' },
    ...rest,
  };
}

async function fleetOf(name: string, n: number, extra: Partial<RawConfig> = {}): Promise<RunningBalancer[]> {
  const out: RunningBalancer[] = [];
  for (let i = 1; i <= n; i++) {
    const lb = await startBalancer(config(name, `lb${i}`, extra));
    running.push(lb);
    out.push(lb);
  }
  // Every balancer knows the others (their heartbeats) before changes are made.
  for (const lb of out) await until(async () => (await apiGet(lb.url, '/fleet')).balancers.filter((b: { live: boolean }) => b.live).length === n, `${n} live balancers`, 10_000);
  return out;
}

async function nonce(lb: RunningBalancer): Promise<string> {
  return (await apiGet(lb.url)).balancers[0].nonce;
}

/** A new session's member (no cookie): which backend answered. */
async function newSession(lb: RunningBalancer): Promise<string> {
  const r = await request(`${lb.url}/`);
  assert.equal(r.status, 200, r.body);
  return r.headers['x-member'] as string;
}

test('drain in one balancer\'s manager: the answer comes once it is stored and applied everywhere, and no balancer sends a new session there after it [fleet]', async () => {
  const lbs = await fleetOf('drain', 3);
  // Before: new sessions reach both members on every balancer.
  for (const lb of lbs) {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await newSession(lb));
    assert.deepEqual([...seen].sort(), ['one', 'two']);
  }
  // A steady stream of new sessions on every balancer while the drain is made on lb1.
  let stop = false;
  const hits: { lb: number; at: number; member: string }[] = [];
  const streams = lbs.map(async (lb, i) => {
    while (!stop && hits.length < 5000) hits.push({ lb: i + 1, at: Date.now(), member: await newSession(lb) });
  });
  await until(() => hits.length > 30, 'traffic');
  const r = await apiSend(lbs[0].url, 'POST', '/balancers/app/members/one/drain', {}, { 'X-Stickylb-Nonce': await nonce(lbs[0]) });
  const answeredAt = Date.now();
  assert.equal(r.status, 200, r.body);
  const fleet = r.json().fleet;
  assert.equal(fleet.stored, true);
  assert.deepEqual(fleet.applied.map((a: { id: string }) => a.id).sort(), ['lb1', 'lb2', 'lb3'], `every balancer applied it before the answer: ${JSON.stringify(fleet)}`);
  assert.deepEqual(fleet.pending, []);
  await until(() => hits.some((h) => h.at > answeredAt + 500), 'traffic after the answer');
  stop = true;
  await Promise.all(streams);
  const late = hits.filter((h) => h.at >= answeredAt && h.member === 'one');
  assert.deepEqual(late, [], 'no new session went to the drained member after the answer');
  // Every balancer shows it drained, set in a manager (lb1's, shared by the fleet).
  for (const lb of lbs) {
    const m = (await apiGet(lb.url, '/balancers/app/members/one')) as { flags: { N: boolean }; changedAtRuntime: string[] };
    assert.equal(m.flags.N, true);
    assert.deepEqual(m.changedAtRuntime, ['status.N']);
  }
  // Sticky requests of its sessions still go there, on every balancer.
  for (const lb of lbs) {
    const s = await request(`${lb.url}/`, { headers: { Cookie: '_s=abc.one' } });
    assert.equal(s.headers['x-member'], 'one');
  }
});

test('every manager change is shared: load factor, route, balancer settings, a member added; a balancer that joins later gets them all', async () => {
  const [lb1, lb2, lb3] = await fleetOf('settings', 3);
  let r = await apiSend(lb2.url, 'PATCH', '/balancers/app/members/two', { lbfactor: 4, redirect: 'one' }, { 'X-Stickylb-Nonce': await nonce(lb2) });
  assert.equal(r.status, 200, r.body);
  r = await apiSend(lb3.url, 'PATCH', '/balancers/app', { lbmethod: 'bybusyness', stickysession: 'JSESSIONID|jsessionid' }, { 'X-Stickylb-Nonce': await nonce(lb3) });
  assert.equal(r.status, 200, r.body);
  r = await apiSend(lb1.url, 'POST', '/balancers/app/members', { url: 'http://127.0.0.1:9/', route: 'three', lbfactor: 2 }, { 'X-Stickylb-Nonce': await nonce(lb1) });
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json().fleet.stored, true);
  const expect = async (lb: RunningBalancer) => {
    const b = (await apiGet(lb.url, '/balancers/app')) as { lbmethod: string; sticky: unknown; members: { route: string; lbfactor: number; redirect: string; flags: { D: boolean } }[] };
    assert.equal(b.lbmethod, 'bybusyness');
    assert.deepEqual(b.sticky, { cookie: 'JSESSIONID', url: 'jsessionid' });
    const two = b.members.find((m) => m.route === 'two')!;
    assert.equal(two.lbfactor, 4);
    assert.equal(two.redirect, 'one');
    const three = b.members.find((m) => m.route === 'three');
    assert.ok(three, 'the added member is there');
    assert.equal(three.lbfactor, 2);
    assert.equal(three.flags.D, true, 'added disabled, as Apache adds them');
  };
  for (const lb of [lb1, lb2, lb3]) await expect(lb);
  const late = await startBalancer(config('settings', 'lb4'));
  running.push(late);
  await until(async () => (await apiGet(late.url, '/balancers/app')).members.length === 3, 'the late balancer has the added member');
  await expect(late);
});

test('the manager shows the fleet: each balancer with its address, version, last beat and workers; members one balancer sees differently', async () => {
  const [lb1] = await fleetOf('view', 2);
  // A third balancer whose health check of member two fails (as when it cannot reach it).
  const odd = await startBalancer(
    config('view', 'lb-odd', {}, {
      app: {
        stickysession: '_s',
        growth: 2,
        members: [
          { url: one.url, route: 'one' },
          { url: two.url, route: 'two', health: { method: 'GET', uri: '/', expect: 'status 599', interval: 0.2 } },
        ],
      },
    }),
  );
  running.push(odd);
  await until(async () => {
    const v = await apiGet(lb1.url, '/fleet');
    return v.disagreements.length === 1 && v.balancers.filter((b: { live: boolean }) => b.live).length === 3;
  }, 'the odd balancer\'s view', 10_000);
  const v = await apiGet(lb1.url, '/fleet');
  assert.equal(v.redis.state, 'connected');
  assert.deepEqual(
    v.balancers.map((b: { id: string; live: boolean; workers: number; self: boolean }) => [b.id, b.live, b.workers, b.self]),
    [
      ['lb-odd', true, 0, false],
      ['lb1', true, 0, true],
      ['lb2', true, 0, false],
    ],
  );
  for (const b of v.balancers) {
    assert.match(b.address, /^127\.0\.0\.1:\d+$/);
    assert.match(b.version, /^\d+\.\d+\.\d+/);
    assert.ok(b.lastSeenMs < 2000);
  }
  const d = v.disagreements[0];
  assert.equal(d.member, two.url.replace(/\/$/, ''));
  assert.deepEqual(
    d.views.map((x: { id: string; status: string }) => [x.id, x.status]),
    [
      ['lb1', 'Ok'],
      ['lb-odd', 'Health check failed'],
      ['lb2', 'Ok'],
    ],
  );
  // The manager page has the card; server-status and metrics say the fleet is shared.
  const page = await request(`${lb1.url}/balancer-manager`);
  assert.match(page.body, /<h2>Fleet view<\/h2>/);
  assert.match(page.body, /Members seen differently/);
  assert.match(page.body, /lb-odd<\/strong>: Health check failed/);
  const auto = (await request(`${lb1.url}/server-status?auto`)).body;
  assert.match(auto, /^FleetState: shared$/m);
  assert.match(auto, /^FleetBalancers: 3$/m);
  assert.match(auto, /^FleetDisagreements: 1$/m);
  const metrics = (await request(`${lb1.url}/metrics`)).body;
  assert.match(metrics, /^stickylb_fleet_redis_up\{fleet="view"\} 1$/m);
  assert.match(metrics, /^stickylb_fleet_balancers\{fleet="view"\} 3$/m);
  assert.match(metrics, /^stickylb_fleet_disagreements\{fleet="view"\} 1$/m);
});

test('each balancer\'s worker count in the fleet view: a `stickylb run` with `workers: 2` says 2 from its first heartbeat on, one without workers 0 [fleet-workers]', async () => {
  const single = await startBalancer(config('workers', 'lb-single'));
  running.push(single);
  const owner = await startWorkersBalancer({ ...config('workers', 'lb-workers'), workers: 2 });
  try {
    // Every heartbeat of lb-workers that lb-single sees, from the first one on.
    const seen: number[] = [];
    await until(async () => {
      const b = (await apiGet(single.url, '/fleet')).balancers.find((x: { id: string }) => x.id === 'lb-workers');
      if (b) seen.push(b.workers);
      return seen.length >= 3;
    }, 'lb-workers seen three times', 20_000);
    assert.deepEqual([...new Set(seen)], [2], `worker counts lb-single saw: ${seen.join(', ')}`);
    // Both balancers' managers show both counts.
    for (const url of [single.url, owner.url]) {
      const v = await apiGet(url, '/fleet');
      assert.deepEqual(
        v.balancers.map((b: { id: string; workers: number }) => [b.id, b.workers]),
        [
          ['lb-single', 0],
          ['lb-workers', 2],
        ],
      );
    }
    const page = (await request(owner.manager)).body;
    assert.match(page, /<td>lb-workers \(this one\)<\/td>(?:<td>[^<]*<\/td>){3}<td class="num">2<\/td>/);
  } finally {
    assert.equal(await owner.stop(), 0);
  }
});

test('a balancer with worker processes starts while its Redis accepts connections but never answers: the workers report in during the fleet\'s wait for Redis, and it serves [fleet-workers]', async () => {
  // A Redis that hangs (a stalled host): the start waits its whole time for it, while the
  // workers, forked first, are up and say hello.
  const open = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    open.add(s);
    s.on('error', () => undefined).on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    const { fleet: _redis, ...rest } = config('silent', 'lb-silent');
    const owner = await startWorkersBalancer({ ...rest, fleet: { redis: `redis://127.0.0.1:${port}`, name: 'silent', id: 'lb-silent' }, workers: 2 });
    try {
      const r = await request(`${owner.url}/`);
      assert.equal(r.status, 200, r.body);
      assert.notEqual((await apiGet(owner.url, '/fleet')).redis.state, 'connected');
    } finally {
      assert.equal(await owner.stop(), 0);
    }
  } finally {
    for (const s of open) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('health verdicts stay each balancer\'s own by default; shared, a member failing on one balancer is out on all until it passes there', async () => {
  const withCheck = (expect: string): RawConfig['balancers'] => ({
    app: {
      stickysession: '_s',
      members: [
        { url: one.url, route: 'one' },
        { url: two.url, route: 'two', health: { method: 'GET', uri: '/', expect, interval: 0.2 } },
      ],
    },
  });
  const shared = { fleet: { redis: redis.url, name: 'health', heartbeat: 0.2, peerTimeout: 2, health: 'shared' as const } };
  const good = await startBalancer(config('health', 'lb-good', shared, withCheck('status 200')));
  const bad = await startBalancer(config('health', 'lb-bad', shared, withCheck('status 599')));
  running.push(good, bad);
  const two$ = async (lb: RunningBalancer) => (await apiGet(lb.url, '/balancers/app/members/two')) as { flags: { C: boolean } };
  await until(async () => (await two$(good)).flags.C, 'the failure seen by lb-bad takes two out on lb-good', 10_000);
  for (let i = 0; i < 6; i++) assert.equal(await newSession(good), 'one');
  // lb-bad's check is fixed (a reload): two comes back on both.
  await bad.app.reload(validateConfig({ listen: ['127.0.0.1:0'], ...config('health', 'lb-bad', shared, withCheck('status 200')) }));
  await until(async () => !(await two$(bad)).flags.C && !(await two$(good)).flags.C, 'two back on both balancers', 10_000);
});

test('a reload keeps the values the fleet shares, even where the config file now says otherwise', async () => {
  const [lb1, lb2] = await fleetOf('reload', 2);
  const r = await apiSend(lb2.url, 'PATCH', '/balancers/app/members/one', { lbfactor: 5 }, { 'X-Stickylb-Nonce': await nonce(lb2) });
  assert.equal(r.status, 200, r.body);
  await until(async () => (await apiGet(lb1.url, '/balancers/app/members/one')).lbfactor === 5, 'shared');
  const next = config('reload', 'lb1', {}, {
    app: {
      stickysession: '_s',
      growth: 2,
      members: [
        { url: one.url, route: 'one', loadfactor: 2 },
        { url: two.url, route: 'two' },
      ],
    },
  });
  await lb1.app.reload(validateConfig({ listen: ['127.0.0.1:0'], ...next }));
  assert.equal((await apiGet(lb1.url, '/balancers/app/members/one')).lbfactor, 5);
});

test('nothing of the fleet runs per request: the same asynchronous work per request with and without it, and no state change', async () => {
  for (const r of running.splice(0)) await r.close();
  // The heartbeat (every 5 s here) is the fleet's only timer; a few per run at most.
  const [on] = await fleetOf('perreq', 1, { fleet: { redis: redis.url, name: 'perreq', heartbeat: 5, peerTimeout: 15, lease: 15 } });
  const { fleet: _none, ...plain } = config('perreq', 'off');
  const off = await startBalancer(plain);
  running.push(off);
  let changes = 0;
  on.app.runtime.events.on('change', () => changes++);
  const N = 2000;
  /** Asynchronous resources (timers, promises, ticks, sockets) created while n sticky requests are served, by type. */
  const work = async (lb: RunningBalancer, n = N) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const counts: Record<string, number> = {};
    const hook = createHook({ init: (_id, type) => void (counts[type] = (counts[type] ?? 0) + 1) });
    hook.enable();
    try {
      for (let i = 0; i < n; i++) {
        await new Promise<void>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: lb.port, path: '/', agent, headers: { Cookie: '_s=x.one' } }, (res) => res.resume().on('end', resolve))
            .on('error', reject);
        });
      }
    } finally {
      hook.disable();
      agent.destroy();
    }
    return counts;
  };
  // Warm-up: the pools to the members are open before counting.
  await work(off, 50);
  await work(on, 50);
  const [a, b] = [await work(off), await work(on)];
  const total = (c: Record<string, number>) => Object.values(c).reduce((x, y) => x + y, 0);
  // Anything the fleet did per request would add at least N; a heartbeat adds a few.
  assert.ok(Math.abs(total(b) - total(a)) < N / 10, `per type, without the fleet ${JSON.stringify(a)}; with it ${JSON.stringify(b)}`);
  for (const type of new Set([...Object.keys(a), ...Object.keys(b)])) assert.ok(Math.abs((b[type] ?? 0) - (a[type] ?? 0)) < N / 10, `${type}: ${a[type] ?? 0} without the fleet, ${b[type] ?? 0} with it`);
  assert.equal(changes, 0, 'requests made no state change the fleet listens to');
});

test('no Redis call per request: commands sent to Redis do not grow with the requests served', async () => {
  // Only this test's balancer talks to Redis.
  for (const r of running.splice(0)) await r.close();
  const [lb] = await fleetOf('quiet', 1, { fleet: { redis: redis.url, name: 'quiet', heartbeat: 2, peerTimeout: 10, lease: 10 } });
  const calls = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.command('INFO', 'stats'))![1]);
  const t0 = Date.now();
  const before = await calls();
  for (let i = 0; i < 600; i++) await request(`${lb.url}/`, { headers: i % 2 ? { Cookie: '_s=x.two' } : {} });
  const elapsed = Date.now() - t0;
  const delta = (await calls()) - before;
  // Heartbeats (every 2 s, a script of a few commands each) and the INFO calls themselves;
  // nothing per request.
  const beats = Math.ceil(elapsed / 2000) + 2;
  assert.ok(delta <= beats * 8 + 4, `${delta} Redis commands while 600 requests were served in ${elapsed} ms (${beats} heartbeats)`);
});
