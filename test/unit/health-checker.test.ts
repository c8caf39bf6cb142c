// The checker's scheduling, driven by fake timers and a scripted probe: no sockets, no sleeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';
import { HealthChecker } from '../../src/health/checker.js';
import type { ProbeFn, ProbeOptions, ProbeResult, ProbeTarget } from '../../src/health/probe.js';
import { FakeTimers } from '../helpers/fake-timers.js';

interface Call {
  target: ProbeTarget;
  opts: ProbeOptions;
  resolve(r: Omit<ProbeResult, 'durationMs'>): void;
  settled: boolean;
}

/** A probe whose answers the test gives, one call at a time; an abort ends a call as cancelled. */
function scriptedProbe() {
  const calls: Call[] = [];
  const fn: ProbeFn = (target, opts) =>
    new Promise<ProbeResult>((res) => {
      const call: Call = {
        target,
        opts,
        settled: false,
        resolve(r) {
          if (call.settled) return;
          call.settled = true;
          res({ ...r, durationMs: 1 });
        },
      };
      opts.signal?.addEventListener('abort', () => call.resolve({ ok: false, detail: 'cancelled' }));
      calls.push(call);
    });
  return { fn, calls, open: () => calls.filter((c) => !c.settled) };
}

function setup(raw: RawConfig) {
  const t = new FakeTimers();
  const runtime = new RuntimeState(validateConfig(raw), t.clock);
  const p = scriptedProbe();
  const checker = new HealthChecker(runtime, { timers: t, probe: p.fn });
  return { t, runtime, p, checker, b: runtime.balancer('c')! };
}

const health = { method: 'GET' as const, uri: '/ping', interval: 10, timeout: 2, fails: 2, passes: 2 };

function twoMembers(h: Record<string, unknown> = health): RawConfig {
  return {
    balancers: {
      c: {
        members: [
          { url: 'http://127.0.0.1:8081/app/', route: 'first', health: h as never },
          { url: 'http://127.0.0.1:8082', route: 'second' },
        ],
      },
    },
  };
}

test('checker: probes each member with a health setting at once, then every interval', async () => {
  const { t, p, checker } = setup(twoMembers());
  checker.start();
  await t.advance(0);
  assert.equal(p.calls.length, 1, 'only the member with a health setting is probed');
  const first = p.calls[0];
  assert.deepEqual(
    { ...first.target, expect: first.target.expect?.source },
    { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 8081, path: '/app/ping', expect: 'status 200-399' },
  );
  first.resolve({ ok: true, status: 200, detail: 'status 200' });
  await t.advance(9_999);
  assert.equal(p.calls.length, 1);
  await t.advance(1);
  assert.equal(p.calls.length, 2);
  p.calls[1].resolve({ ok: true, status: 200, detail: 'status 200' });
  await t.advance(10_000);
  assert.equal(p.calls.length, 3);
  await checker.stop();
});

test('checker: fails set C after hcfails, passes clear it after hcpasses', async () => {
  const { t, p, checker, b } = setup(twoMembers());
  const m = b.members[0];
  checker.start();
  const answer = async (r: Omit<ProbeResult, 'durationMs'>) => {
    await t.advance(p.calls.length === 0 ? 0 : 10_000);
    p.open()[0].resolve(r);
    await t.advance(0);
  };
  await answer({ ok: false, status: 503, detail: 'status 503' });
  assert.equal(m.flags.C, false);
  await answer({ ok: false, status: 503, detail: 'status 503' });
  assert.equal(m.flags.C, true);
  assert.equal(m.health.lastStatus, 503);
  await answer({ ok: true, status: 200, detail: 'status 200' });
  assert.equal(m.flags.C, true);
  await answer({ ok: true, status: 200, detail: 'status 200' });
  assert.equal(m.flags.C, false);
  assert.equal(m.health.checks, 4);
  await checker.stop();
});

test('checker: a hanging member gets one probe at a time; the timeout ends it as a failure', async () => {
  const { t, p, checker, b } = setup(twoMembers({ ...health, interval: 1, timeout: 5, fails: 1 }));
  const m = b.members[0];
  checker.start();
  await t.advance(0);
  assert.equal(p.calls.length, 1);
  // Four intervals pass while the probe hangs: no new probe is started.
  await t.advance(4_000);
  assert.equal(p.calls.length, 1);
  assert.equal(checker.inFlight(), 1);
  assert.equal(checker.checks()[0].skipped, 4);
  assert.equal(m.health.checks, 0);
  // At 5 s the probe's own timeout aborts it.
  await t.advance(1_000);
  assert.equal(p.calls[0].settled, true);
  assert.equal(m.flags.C, true);
  assert.equal(m.health.lastDetail, 'timeout after 5s');
  // The next tick probes again.
  await t.advance(1_000);
  assert.equal(p.calls.length, 2);
  await checker.stop();
  assert.equal(p.calls[1].settled, true, 'stop cancels the probe in flight');
  assert.equal(t.pending, 0, 'stop leaves no timers behind');
});

test('checker: a stopped member is never probed, and its late results are dropped', async () => {
  const raw = twoMembers();
  raw.balancers!.c.members[0].status = 'S';
  const { t, p, checker, b } = setup(raw);
  const m = b.members[0];
  checker.start();
  await t.advance(60_000);
  assert.equal(p.calls.length, 0);
  b.setFlag(m, 'S', false, 'manager');
  await t.advance(10_000);
  assert.equal(p.calls.length, 1);
  b.setFlag(m, 'S', true, 'manager');
  p.calls[0].resolve({ ok: false, detail: 'connection refused' });
  await t.advance(0);
  assert.equal(m.health.checks, 0);
  await t.advance(60_000);
  assert.equal(p.calls.length, 1);
  await checker.stop();
});

test('checker: disabled members are still checked (only S stops checks)', async () => {
  const raw = twoMembers();
  raw.balancers!.c.members[0].status = 'D';
  const { t, p, checker } = setup(raw);
  checker.start();
  await t.advance(0);
  assert.equal(p.calls.length, 1);
  await checker.stop();
});

test('checker: follows reloads: new members are checked, removed ones are not, changed intervals apply', async () => {
  const { t, p, checker, runtime } = setup(twoMembers());
  checker.start();
  await t.advance(0);
  p.calls[0].resolve({ ok: true, detail: 'status 200', status: 200 });
  const next: RawConfig = {
    balancers: {
      c: {
        members: [
          { url: 'http://127.0.0.1:8081/app/', route: 'first', health: { ...health, interval: 3 } },
          { url: 'http://127.0.0.1:8082', route: 'second' },
          { url: 'http://127.0.0.1:8083', route: 'third', health: { method: 'TCP' } },
        ],
      },
    },
  };
  runtime.reload(validateConfig(next));
  await t.advance(0);
  assert.deepEqual(p.calls.map((c) => c.target.port), [8081, 8083]);
  assert.equal(p.calls[1].target.method, 'TCP');
  p.calls[1].resolve({ ok: true, detail: 'connected' });
  await t.advance(3_000);
  assert.deepEqual(p.calls.map((c) => c.target.port), [8081, 8083, 8081], 'the new 3 s interval applies');
  assert.equal(runtime.balancer('c')!.members[0].health.checks, 1, 'the result before the reload was kept');
  p.open()[0].resolve({ ok: true, detail: 'status 200', status: 200 });
  assert.equal(checker.checks().length, 2);
  // Removing member 1 and its check cancels its probe in flight.
  await t.advance(3_000);
  const inFlight = p.open()[0];
  assert.equal(inFlight.target.port, 8081);
  runtime.reload(validateConfig({ balancers: { c: { members: [next.balancers!.c.members[2]] } } }));
  await t.advance(0);
  assert.equal(inFlight.settled, true);
  assert.deepEqual(checker.checks().map((c) => c.member), ['http://127.0.0.1:8083']);
  await checker.stop();
});

test('checker: a member whose check is removed by a reload does not stay failed', async () => {
  const { t, p, checker, runtime } = setup(twoMembers({ ...health, fails: 1 }));
  checker.start();
  await t.advance(0);
  p.calls[0].resolve({ ok: false, detail: 'connection refused' });
  await t.advance(0);
  assert.equal(runtime.balancer('c')!.members[0].flags.C, true);
  const raw = twoMembers();
  delete raw.balancers!.c.members[0].health;
  runtime.reload(validateConfig(raw));
  await t.advance(0);
  const m = runtime.balancer('c')!.members[0];
  assert.equal(m.flags.C, false);
  assert.equal(m.isUsable(), true);
  await checker.stop();
});

test('checker: members added at run time (growth) are checked', async () => {
  const raw = twoMembers();
  raw.balancers!.c.growth = 1;
  const { t, p, checker, b } = setup(raw);
  checker.start();
  await t.advance(0);
  const model = validateConfig({ balancers: { x: { members: [{ url: 'http://127.0.0.1:8090', health: { method: 'HEAD' } }] } } }).balancers.x.members[0];
  b.addMember(model, 'manager');
  await t.advance(0);
  assert.deepEqual(p.calls.map((c) => [c.target.port, c.target.method]), [[8081, 'GET'], [8090, 'HEAD']]);
  await checker.stop();
});

test('checker: a probe that throws counts as a failure; checkNow probes at once', async () => {
  const t = new FakeTimers();
  const runtime = new RuntimeState(validateConfig(twoMembers({ ...health, fails: 1 })), t.clock);
  let n = 0;
  const checker = new HealthChecker(runtime, {
    timers: t,
    probe: async () => {
      n++;
      throw new Error('boom');
    },
  });
  checker.start();
  await t.advance(0);
  const m = runtime.balancer('c')!.members[0];
  assert.equal(m.flags.C, true);
  assert.equal(m.health.lastDetail, 'boom');
  const r = await checker.checkNow('c', 'first');
  assert.equal(r?.ok, false);
  assert.equal(n, 2);
  assert.equal(await checker.checkNow('c', 'second'), undefined, 'no health setting, no check');
  await checker.stop();
  assert.equal(await checker.checkNow('c', 'first'), undefined);
});

test('checker: logs transitions through the logger it was given', async () => {
  const t = new FakeTimers();
  const runtime = new RuntimeState(validateConfig(twoMembers({ ...health, fails: 1 })), t.clock);
  const lines: string[] = [];
  const logger = { warn: (_f: object, msg: string) => lines.push(`warn ${msg}`), info: (_f: object, msg: string) => lines.push(`info ${msg}`) };
  const checker = new HealthChecker(runtime, { timers: t, probe: async () => ({ ok: false, detail: 'connection refused', durationMs: 0 }), logger });
  checker.start();
  await t.advance(25_000);
  await checker.stop();
  runtime.balancer('c')!.setFlag(runtime.balancer('c')!.members[0], 'C', false, 'manager');
  assert.deepEqual(lines, ['warn member http://127.0.0.1:8081/app/ route=first: health check failed (1/1: connection refused)']);
});
