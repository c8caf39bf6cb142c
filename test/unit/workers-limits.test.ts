// Limits shared by worker processes, without processes or sockets: a worker's book, the owner's
// ledger, and several workers (the real SharedConnections / SharedRates and links) talking to one
// ledger through in-memory channels whose messages are delivered in a random order (each channel
// in order, as a pipe is). After every step the balancer's connections and rate estimate are
// within the limit; whenever every message has arrived, an admission is refused exactly when one
// process would refuse it, with the same Retry-After, and the messages always come to rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GaugeBook, WindowBook } from '../../src/workers/limit-book.js';
import { LimitLedger } from '../../src/workers/limit-ledger.js';
import { LimitLink } from '../../src/workers/limit-link.js';
import { SharedConnections, SharedRates } from '../../src/workers/shared-limits.js';
import { bucketKeyOf, clientKey, gaugeAllowance, shareTarget, SHARE_UNITS } from '../../src/workers/limit-share.js';
import type { LimitToOwner, LimitToWorker } from '../../src/workers/protocol.js';
import { keepGone, sumViews } from '../../src/workers/edge-summary.js';
import { retryAfter, type Bucket } from '../../src/edge/rate-limit.js';
import type { RateLimitModel } from '../../src/config/edge-model.js';
import { rng } from '../helpers/rng.js';

const bucket = (window: number, prev: number, curr: number, w = 1000): Bucket => ({ w, window, prev, curr });

test('shares: half of all units divided among the workers; a worker fills its share of a limit alone', () => {
  assert.equal(shareTarget(2), SHARE_UNITS / 4);
  assert.equal(shareTarget(1), SHARE_UNITS / 2);
  assert.equal(gaugeAllowance(10, shareTarget(2)), 2);
  assert.equal(gaugeAllowance(3, shareTarget(2)), 0);
  const b = new GaugeBook(shareTarget(2));
  assert.equal(b.check('k', 10, 0), 'ok');
  assert.equal(b.check('k', 10, 1), 'ok');
  assert.equal(b.check('k', 10, 2), 'ask');
});

test('gauge book: a lease from the owner, full and room, giving back, plain again at zero', () => {
  const b = new GaugeBook(shareTarget(2));
  assert.equal(b.ask('k', 2), true);
  assert.equal(b.ask('k', 2), false, 'one need at a time');
  b.granted('k', 3);
  assert.equal(b.check('k', 10, 4), 'ok');
  assert.equal(b.check('k', 10, 5), 'ask');
  // Connections close while the key is not full: the lease stays.
  assert.equal(b.closed('k', 10, 3), undefined);
  // Full: what is not used goes back at once, and later closes too.
  assert.equal(b.full('k', 3), 2);
  assert.equal(b.check('k', 10, 3), 'full');
  assert.deepEqual(b.closed('k', 10, 2), { n: 1, implicit: false });
  b.room('k');
  assert.equal(b.check('k', 10, 2), 'ask');
  b.ask('k', 2);
  b.granted('k', 2);
  // Nothing used and a lease at least the share: the plain share again, the rest given back.
  assert.deepEqual(b.closed('k', 10, 0), { n: 2, implicit: true });
  assert.equal(b.leases.size, 0);
  // A lease below the share goes back whole; the owner gives the share back when it fits.
  b.claim('j', 1);
  assert.deepEqual(b.closed('j', 10, 0), { n: 1, implicit: false });
  assert.equal(b.check('j', 10, 0), 'ask');
  b.release('j');
  assert.equal(b.leases.size, 0);
});

test('window book: the share of the estimate alone, a lease per window, refusals with the Retry-After of the balancer', () => {
  const w = new WindowBook(shareTarget(2));
  // Share of 10 requests: 2.5. Two fit (0+1, 1+1), the third asks.
  assert.equal(w.check('r', 10, bucket(5, 0, 0), 5000), 'ok');
  assert.equal(w.check('r', 10, bucket(5, 0, 2), 5000), 'ask');
  // Half into the window the previous window weighs half: 4 * 0.5 + 0 + 1 > 2.5.
  assert.equal(w.check('r', 10, bucket(5, 4, 0), 5500), 'ask');
  assert.equal(w.check('r', 10, bucket(5, 2, 0), 5500), 'ok');
  assert.deepEqual(w.ask('r', bucket(5, 0, 2)), { window: 5, prev: 0, curr: 2 });
  w.claim('r', 7, bucket(5, 0, 2));
  w.granted('r', 5, 4);
  assert.equal(w.check('r', 10, bucket(5, 0, 3), 5100), 'ok');
  assert.equal(w.check('r', 10, bucket(5, 0, 4), 5100), 'ask');
  // The next window starts with no lease.
  assert.equal(w.check('r', 10, bucket(6, 4, 0), 6000), 'ask');
  w.ask('r', bucket(6, 4, 0));
  w.refused('r', 6, 6900, 10, 0);
  assert.equal(w.check('r', 10, bucket(6, 4, 0), 6100), retryAfter({ prev: 10, curr: 0 }, 10, 1000, 100));
  // Past the window it was leased through, the share again.
  assert.equal(w.check('r', 10, bucket(8, 0, 0), 8000), 'ok');
  assert.equal(w.leases.size, 0);
  // A claim leaves a lease also where the client never comes again: forgotten once passed.
  w.claim('s', 9, bucket(8, 0, 0));
  w.prune(9999);
  assert.equal(w.leases.size, 1);
  w.prune(10_000);
  assert.equal(w.leases.size, 0);
});

/** An owner and `n` workers, their messages held in channels until `deliver` moves them. */
class Net {
  readonly toOwner: LimitToOwner[][] = [];
  readonly toWorker: LimitToWorker[][] = [];
  readonly ledger: LimitLedger;
  readonly links: LimitLink[] = [];
  readonly conns: SharedConnections[] = [];
  readonly rates: SharedRates[] = [];
  readonly alive: boolean[] = [];
  time = 1_000_000;
  readonly maxConnections: number;
  readonly maxPerClient: number;

  constructor(
    readonly n: number,
    limits: { maxConnections?: number; maxPerClient?: number } = {},
  ) {
    this.maxConnections = limits.maxConnections ?? 0;
    this.maxPerClient = limits.maxPerClient ?? 0;
    this.ledger = new LimitLedger({ send: (id, m) => this.toWorker[id].push(m), now: () => this.time, roundTimeoutMs: 1e9 });
    for (let i = 0; i < n; i++) this.add();
  }

  add(): number {
    const id = this.links.length;
    this.toOwner.push([]);
    this.toWorker.push([]);
    this.alive.push(true);
    const start = this.ledger.join(id, shareTarget(this.n));
    const conns = new SharedConnections(
      () => link,
      () => ({ maxConnections: this.maxConnections, maxConnectionsPerClient: this.maxPerClient }),
    );
    const rates = new SharedRates(
      () => link,
      () => this.time,
    );
    const link: LimitLink = new LimitLink({
      send: (m) => this.toOwner[id].push(m),
      start,
      gaugeUsed: (k) => conns.used(k),
      gaugeLimit: (k) => conns.limitOf(k),
      bucket: (k, w, now) => rates.local.bucketByKey(bucketKeyOf(k), w, now),
      now: () => this.time,
      waitMs: 1e12,
    });
    this.links.push(link);
    this.conns.push(conns);
    this.rates.push(rates);
    return id;
  }

  kill(id: number, reserveMs: number): void {
    this.alive[id] = false;
    this.toOwner[id] = [];
    this.toWorker[id] = [];
    this.links[id].close();
    this.ledger.leave(id, reserveMs);
  }

  /** Delivers one message from a random channel that holds one; false when all are empty. */
  deliver(r: () => number): boolean {
    const ready: [string, number][] = [];
    for (let i = 0; i < this.links.length; i++) {
      if (!this.alive[i]) continue;
      if (this.toOwner[i].length) ready.push(['o', i]);
      if (this.toWorker[i].length) ready.push(['w', i]);
    }
    if (!ready.length) return false;
    const [dir, i] = ready[Math.floor(r() * ready.length)];
    if (dir === 'o') this.ledger.receive(i, this.toOwner[i].shift()!);
    else this.links[i].receive(this.toWorker[i].shift()!);
    return true;
  }

  async settle(r: () => number): Promise<void> {
    for (let guard = 0; ; guard++) {
      if (guard > 100_000) throw new Error('the messages never settle');
      await flush();
      if (!this.deliver(r)) {
        await flush();
        if (!this.deliver(r)) return;
      }
    }
  }

  open(addr: string): number {
    let sum = 0;
    for (let i = 0; i < this.conns.length; i++) if (this.alive[i]) sum += this.conns[i].of(addr);
    return sum;
  }

  total(): number {
    let sum = 0;
    for (let i = 0; i < this.conns.length; i++) if (this.alive[i]) sum += this.conns[i].open;
    return sum;
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

test('ledger, gauges: the worker that asks gets a lease out of what the others do not hold; claims before refusing; full, room and release', async () => {
  const net = new Net(2, { maxPerClient: 10 });
  const r = rng(1);
  const a = net.conns[0];
  // Worker 0 fills its share (2) alone, then asks; worker 1 holds its share plainly.
  assert.equal(a.tryOpen('x', 0, 10, false), 'ok');
  assert.equal(a.tryOpen('x', 0, 10, false), 'ok');
  assert.deepEqual(net.toOwner[0], []);
  const third = a.tryOpen('x', 0, 10, false);
  assert.ok(third instanceof Promise);
  assert.deepEqual(net.toOwner[0], [{ t: 'need', kind: 'gauge', key: clientKey('x'), limit: 10, used: 2, want: 1 }]);
  await net.settle(r);
  assert.equal(await third, 'ok');
  // No claim was needed: 10 - 2 (worker 1's share) - 2 = 6 free, a chunk of it granted.
  assert.equal(net.links[1].gauges.leases.size, 0, 'worker 1 still holds its plain share');
  // Fill up through worker 0 until the owner has to claim worker 1's share.
  const more: (string | Promise<string>)[] = [];
  for (let i = 0; i < 10; i++) {
    more.push(a.tryOpen('x', 0, 10, false));
    await net.settle(r);
  }
  const verdicts = await Promise.all(more);
  assert.equal(verdicts.filter((v) => v === 'ok').length, 7, verdicts.join(' '));
  assert.equal(net.open('x'), 10);
  // Refused: every worker was claimed (worker 1 holds 0 now) and told the key is full.
  assert.equal(net.links[1].gauges.check(clientKey('x'), 10, 0), 'full');
  assert.equal(net.conns[1].tryOpen('x', 0, 10, false), 'client', 'refused without asking');
  // One closes: it is given back at once, everybody hears there is room, and worker 1 gets it.
  a.close('x');
  await net.settle(r);
  const v = net.conns[1].tryOpen('x', 0, 10, false);
  await net.settle(r);
  assert.equal(await v, 'ok');
  assert.equal(net.open('x'), 10);
  // Everything closes: both hold their plain shares again and the owner forgets the key.
  for (let i = 0; i < 9; i++) a.close('x');
  net.conns[1].close('x');
  await net.settle(r);
  assert.equal(net.open('x'), 0);
  assert.equal(net.links[0].gauges.leases.size + net.links[1].gauges.leases.size, 0);
  assert.deepEqual(net.ledger.contested, { gauges: 0, windows: 0 });
});

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
  test(`simulation ${seed}: connections of three addresses and in total over 3 workers (one dying now and then) in any message order: never over a limit, refused only at it, nothing left leased`, async () => {
    const r = rng(seed);
    const L = 1 + Math.floor(r() * 12);
    const T = 3 + Math.floor(r() * 25);
    const net = new Net(3, { maxPerClient: L, maxConnections: T });
    const addrs = ['a', 'b', 'c'];
    const held: { w: number; addr: string }[] = [];
    let refused = 0;
    let admitted = 0;
    const admit = (w: number, addr: string, v: string) => {
      if (v === 'ok') {
        held.push({ w, addr });
        admitted++;
      } else refused++;
    };
    for (let step = 0; step < 4000; step++) {
      const x = r();
      const live = [0, 1, 2, 3].filter((i) => i < net.links.length && net.alive[i]);
      if (x < 0.35) {
        const w = live[Math.floor(r() * live.length)];
        const addr = addrs[Math.floor(r() * addrs.length)];
        const v = net.conns[w].tryOpen(addr, T, L, false);
        if (v instanceof Promise) void v.then((y) => admit(w, addr, y));
        else admit(w, addr, v);
      } else if (x < 0.55 && held.length) {
        const [h] = held.splice(Math.floor(r() * held.length), 1);
        if (net.alive[h.w]) net.conns[h.w].close(h.addr);
      } else if (x < 0.999) {
        net.deliver(r);
      } else if (net.links.length < 4) {
        // A worker dies (its connections with it) and another starts.
        const dead = live[Math.floor(r() * live.length)];
        net.kill(dead, 0);
        for (let i = held.length - 1; i >= 0; i--) if (held[i].w === dead) held.splice(i, 1);
        net.add();
      }
      await flush();
      for (const addr of addrs) assert.ok(net.open(addr) <= L, `step ${step}: ${net.open(addr)} connections of ${addr}, limit ${L}`);
      assert.ok(net.total() <= T, `step ${step}: ${net.total()} connections, limit ${T}`);
      if (step % 500 === 499) {
        // Every message arrives: now an admission is refused exactly when one process would refuse it.
        await net.settle(r);
        for (const addr of addrs) {
          const live2 = [0, 1, 2, 3].filter((i) => i < net.links.length && net.alive[i]);
          const w = live2[Math.floor(r() * live2.length)];
          const before = { client: net.open(addr), total: net.total() };
          const v = net.conns[w].tryOpen(addr, T, L, false);
          await net.settle(r);
          const got = await v;
          const want = before.total >= T ? 'total' : before.client >= L ? 'client' : 'ok';
          assert.equal(got, want, `step ${step}: ${addr} with ${before.client}/${L} open, ${before.total}/${T} in all`);
          if (got === 'ok') held.push({ w, addr });
        }
      }
    }
    assert.ok(admitted > 50 && refused > 0, `admitted ${admitted}, refused ${refused}`);
    // Everything closes: nothing is left leased, in the owner or in any worker.
    await net.settle(r);
    for (const h of held) if (net.alive[h.w]) net.conns[h.w].close(h.addr);
    await net.settle(r);
    net.ledger.tick(shareTarget(3));
    await net.settle(r);
    assert.deepEqual(net.ledger.contested, { gauges: 0, windows: 0 });
    for (let i = 0; i < net.links.length; i++) if (net.alive[i]) assert.equal(net.links[i].gauges.leases.size, 0, `worker ${i} still leases ${[...net.links[i].gauges.leases.keys()]}`);
  });
}

const RULE: RateLimitModel = { id: '/ 10/1s', path: '/', requests: 10, windowMs: 1000 };

/** The balancer's sliding-window estimate from every worker's own counts. */
function estimate(net: Net, client: string, now: number): { sum: number; prev: number; curr: number } {
  let prev = 0;
  let curr = 0;
  const idx = Math.floor(now / RULE.windowMs);
  for (let i = 0; i < net.rates.length; i++) {
    const b = net.rates[i].local.bucketByKey(`${RULE.id}\0${client}`, RULE.windowMs, now);
    if (b.window !== idx) continue;
    prev += b.prev;
    curr += b.curr;
  }
  const e = now - idx * RULE.windowMs;
  return { sum: prev * (1 - e / RULE.windowMs) + curr, prev, curr };
}

for (const seed of [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]) {
  test(`simulation ${seed}: a rate limit over 3 workers (one dying now and then) in any message order: the estimate never passes the limit; refusals as one process, Retry-After included`, async () => {
    const r = rng(seed);
    const net = new Net(3);
    const clients = ['p', 'q'];
    let admitted = 0;
    let refused = 0;
    for (let step = 0; step < 6000; step++) {
      const x = r();
      const live = net.links.map((_, i) => i).filter((i) => net.alive[i]);
      if (x < 0.3) {
        const w = live[Math.floor(r() * live.length)];
        const c = clients[Math.floor(r() * clients.length)];
        const v = net.rates[w].hit(RULE, c, net.time);
        const count = (y: number) => (y === 0 ? admitted++ : refused++);
        if (v instanceof Promise) void v.then(count);
        else count(v);
      } else if (x < 0.4) {
        net.time += Math.floor(r() * 120);
        if (r() < 0.05) net.ledger.tick(shareTarget(3));
      } else if (x < 0.9995 || net.links.length >= 5) net.deliver(r);
      else {
        // A worker dies (the requests it let through still count) and another starts.
        net.kill(live[Math.floor(r() * live.length)], 2 * RULE.windowMs);
        net.add();
      }
      await flush();
      for (const c of clients) {
        const e = estimate(net, c, net.time);
        assert.ok(e.sum <= RULE.requests + 1e-9, `step ${step}: estimate ${e.sum} for ${c} (prev ${e.prev}, curr ${e.curr})`);
      }
      if (step % 400 === 399) {
        await net.settle(r);
        for (const c of clients) {
          const w = live[Math.floor(r() * live.length)];
          const e = estimate(net, c, net.time);
          const v = net.rates[w].hit(RULE, c, net.time);
          await net.settle(r);
          const got = await v;
          const idx = Math.floor(net.time / RULE.windowMs);
          const want = e.sum + 1 <= RULE.requests + 1e-9 ? 0 : retryAfter(e, RULE.requests, RULE.windowMs, net.time - idx * RULE.windowMs);
          // While a dead worker's share is kept the owner counts all of it: it may refuse sooner
          // (the estimate is checked after every step), never later.
          if (!(net.ledger.reserved > 0 && want === 0)) assert.equal(got, want, `step ${step}: ${c} with an estimate of ${e.sum} (prev ${e.prev}, curr ${e.curr})`);
        }
      }
    }
    assert.ok(admitted > 100 && refused > 50, `admitted ${admitted}, refused ${refused}`);
    // Two windows without requests: nothing is left leased.
    await net.settle(r);
    net.time += 3 * RULE.windowMs;
    net.ledger.tick(shareTarget(3));
    for (const l of net.links) l.windows.prune(net.time);
    assert.deepEqual(net.ledger.contested, { gauges: 0, windows: 0 });
    for (let i = 0; i < net.links.length; i++) if (net.alive[i]) assert.equal(net.links[i].windows.leases.size, 0);
  });
}

test('a worker that dies: its share of a rate limit is kept for two windows, then given to a worker that has less', async () => {
  const net = new Net(2);
  const r = rng(7);
  // Worker 0 counts requests of p on its own share, then dies.
  assert.equal(net.rates[0].hit(RULE, 'p', net.time), 0);
  assert.equal(net.rates[0].hit(RULE, 'p', net.time), 0);
  const target = shareTarget(2);
  net.kill(0, 2 * RULE.windowMs);
  const b = net.add();
  // Half of all units is given and a dead worker's share is kept: the new worker gets its target.
  assert.equal(net.ledger.unitsOf(b), target);
  assert.equal(net.ledger.freeUnits, SHARE_UNITS - 3 * target);
  // While it is kept, the owner counts the dead worker's whole share of p's estimate.
  for (let i = 0; i < 12; i++) {
    const v = net.rates[1].hit(RULE, 'p', net.time);
    await net.settle(r);
    await v;
  }
  // 2 counted by the dead worker, 7 by the live ones: 10 less the dead worker's whole share (2.5).
  const live = net.rates[1].local.bucketByKey(`${RULE.id}\0p`, RULE.windowMs, net.time);
  assert.equal(live.curr, 7);
  assert.equal(estimate(net, 'p', net.time).sum, 9);
  net.time += 2 * RULE.windowMs;
  net.ledger.tick(target);
  assert.equal(net.ledger.freeUnits, SHARE_UNITS - 2 * target);
});

test('edge summary: the rate figures and busiest clients of the workers added up, a gone worker\'s counts kept', () => {
  const a = { rates: [{ rule: '/ 10/1s', allowed: 5, limited: 1, clients: 2 }], clients: { x: 3, y: 1 } };
  const b = { rates: [{ rule: '/ 10/1s', allowed: 2, limited: 0, clients: 1 }], clients: { x: 2, z: 4 } };
  const gone = new Map<string, { allowed: number; limited: number }>();
  keepGone(gone, { rates: [{ rule: '/ 10/1s', allowed: 7, limited: 3, clients: 9 }], clients: {} });
  assert.deepEqual(sumViews([a, b], gone), { rates: [{ rule: '/ 10/1s', allowed: 14, limited: 4, clients: 3 }], clients: { x: 5, z: 4, y: 1 } });
});
