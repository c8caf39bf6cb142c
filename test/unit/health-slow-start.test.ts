// Slow start: a recovered member gets a growing share of new sessions; sticky requests are never held back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeState } from '../../src/balancer/runtime.js';
import type { StateChange } from '../../src/balancer/balancer-state.js';
import { RAMP_FLOOR } from '../../src/balancer/member-state.js';
import { pickMember } from '../../src/balancer/pick.js';
import { validateConfig } from '../../src/config/validate.js';
import { FakeTimers } from '../helpers/fake-timers.js';

function setup(slowstart: string | number = '30s', lbmethod: 'byrequests' | 'bytraffic' = 'byrequests') {
  const t = new FakeTimers();
  const model = validateConfig({
    balancers: {
      c: {
        lbmethod,
        stickysession: '_s',
        slowstart,
        members: [
          { url: 'http://127.0.0.1:8081', route: 'first' },
          { url: 'http://127.0.0.1:8082', route: 'second' },
          { url: 'http://127.0.0.1:8083', route: 'third' },
        ],
      },
    },
  });
  const runtime = new RuntimeState(model, t.clock);
  const b = runtime.balancer('c')!;
  return { t, runtime, b, first: b.members[0] };
}

/** Picks `n` new-session requests at a frozen time and counts the winners by route. */
function shares(b: ReturnType<typeof setup>['b'], n: number, now: number, target = '/'): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const o = pickMember(b, { target }, now);
    assert.equal(o.kind, 'member');
    if (o.kind === 'member') out[o.member.route] = (out[o.member.route] ?? 0) + 1;
  }
  return out;
}

test('slow start: no ramp at start-up, and none when slowstart is 0', () => {
  const { t, first } = setup();
  assert.equal(first.rampShare(t.now), 1);
  const off = setup(0);
  off.b.setFlag(off.first, 'E', true, 'proxy', 'x');
  off.b.setFlag(off.first, 'E', false, 'proxy', 'y');
  assert.equal(off.first.rampShare(off.t.now), 1);
  assert.equal(off.first.effectiveFactor(off.t.now), 1);
});

test('slow start: the share grows linearly from 10 % to the full factor over slowstart', () => {
  const { t, b, first } = setup('30s');
  b.setMember(first, { lbfactor: 4 }, 'manager');
  b.markFailure(first, 'connection refused');
  t.now += 60_001;
  b.retryCheck(first, t.now);
  assert.equal(first.isUsable(), true);
  const at = (ms: number) => [first.rampShare(t.now + ms), first.effectiveFactor(t.now + ms)];
  assert.deepEqual(at(0), [RAMP_FLOOR, 0.4]);
  assert.deepEqual(at(15_000), [0.55, 2.2]);
  assert.ok(Math.abs(at(29_999)[0] - 1) < 0.001);
  assert.deepEqual(at(30_000), [1, 4]);
  assert.deepEqual(at(90_000), [1, 4]);
  assert.equal(first.isRamping(t.now + 10), true);
  assert.equal(first.isRamping(t.now + 30_000), false);
});

test('slow start: byrequests shares of new sessions follow the ramp', () => {
  const { t, b, first } = setup('30s');
  b.markFailure(first, 'connection refused');
  t.now += 60_001;
  b.retryCheck(first, t.now);
  const start = t.now;
  // Weights 0.1 : 1 : 1 at the start of the ramp, 0.55 : 1 : 1 half way, 1 : 1 : 1 at the end.
  const s0 = shares(b, 2100, start);
  assert.ok(Math.abs(s0.first - 100) <= 2, `start: ${JSON.stringify(s0)}`);
  const s1 = shares(b, 2550, start + 15_000);
  assert.ok(Math.abs(s1.first - 550) <= 2, `half way: ${JSON.stringify(s1)}`);
  const s2 = shares(b, 3000, start + 30_000);
  assert.ok(Math.abs(s2.first - 1000) <= 2, `end: ${JSON.stringify(s2)}`);
  assert.ok(Math.abs(s2.second - 1000) <= 2 && Math.abs(s2.third - 1000) <= 2, `end: ${JSON.stringify(s2)}`);
  // Over the whole ramp, picked request by request, the member gets about (0.1 + 1) / 2 of a full share.
  const { t: t2, b: b2, first: f2 } = setup('30s');
  b2.setFlag(f2, 'D', true, 'manager');
  b2.setFlag(f2, 'D', false, 'manager');
  let got = 0;
  for (let i = 0; i < 3000; i++) {
    const o = pickMember(b2, { target: '/' }, t2.now + i * 10);
    if (o.kind === 'member' && o.member === f2) got++;
  }
  assert.ok(got > 500 && got < 800, `got ${got} of 3000 (a full share would be 1000)`);
});

test('slow start: sticky requests of a ramping member are never held back', () => {
  const { t, b, first } = setup('30s');
  b.setFlag(first, 'C', true, 'health', '1/1: status 503');
  b.setFlag(first, 'C', false, 'health', '1/1: status 200');
  assert.equal(first.rampShare(t.now), RAMP_FLOOR);
  const sticky = shares(b, 200, t.now, '/app?_s=abc.first');
  assert.deepEqual(sticky, { first: 200 });
  // The same with the cookie, and for the other members' sessions.
  for (let i = 0; i < 50; i++) {
    const o = pickMember(b, { target: '/', cookie: '_s=xyz.first' }, t.now);
    assert.equal(o.kind === 'member' && o.stickyHit && o.member.route, 'first');
  }
  assert.deepEqual(shares(b, 20, t.now, '/?_s=q.third'), { third: 20 });
});

test('slow start: every way back into service starts a ramp (E, C, D, S, launcher restart)', () => {
  const { t, b, first } = setup('30s');
  const recover: [string, () => void][] = [
    ['error retry', () => {
      b.markFailure(first, 'connection refused');
      t.now += 60_001;
      b.retryCheck(first, t.now);
    }],
    ['health check', () => {
      b.setFlag(first, 'C', true, 'health', 'x');
      b.recordHealth(first, { ok: true, detail: 'status 200' });
    }],
    ['manager enable', () => {
      b.setMember(first, { status: { D: true } }, 'manager');
      b.setMember(first, { status: { D: false } }, 'manager');
    }],
    ['start after stop', () => {
      b.setFlag(first, 'S', true, 'launcher');
      b.setFlag(first, 'S', false, 'launcher');
    }],
    ['launcher restart', () => b.startRamp(first, 'launcher', 'process restarted')],
  ];
  for (const [how, run] of recover) {
    t.now += 60_000;
    assert.equal(first.isRamping(t.now), false, `${how}: not ramping before`);
    run();
    assert.equal(first.rampShare(t.now), RAMP_FLOOR, `${how}: ramping after`);
  }
});

test('slow start: drain and going out of service do not ramp; leaving service ends a ramp', () => {
  const { t, b, first } = setup('30s');
  b.setFlag(first, 'N', true, 'manager');
  b.setFlag(first, 'N', false, 'manager');
  assert.equal(first.isRamping(t.now), false);
  b.startRamp(first, 'launcher');
  b.setFlag(first, 'D', true, 'manager');
  assert.equal(first.rampStart, 0);
});

test('slow start: startRamp is announced once, and does nothing without a slowstart time', () => {
  const { t, b, first } = setup('20s');
  const changes: StateChange[] = [];
  b.events.on('change', (c: StateChange) => changes.push(c));
  b.startRamp(first, 'launcher', 'process restarted');
  assert.deepEqual(changes, [{ balancer: 'c', member: first.id, field: 'slowstart', from: 1, to: 20_000, by: 'launcher', cause: 'process restarted' }]);
  assert.equal(first.rampStart, t.now);
  const off = setup(0);
  const offChanges: StateChange[] = [];
  off.b.events.on('change', (c: StateChange) => offChanges.push(c));
  off.b.startRamp(off.first, 'launcher');
  assert.equal(offChanges.length, 0);
  assert.equal(off.first.rampStart, 0);
});

test('slow start: a member setting overrides the balancer one', () => {
  const model = validateConfig({
    balancers: { c: { slowstart: '30s', members: [{ url: 'http://127.0.0.1:1', slowstart: '5s' }, { url: 'http://127.0.0.1:2' }] } },
  });
  assert.deepEqual(model.balancers.c.members.map((m) => m.slowstartMs), [5_000, 30_000]);
});

test('slow start: bytraffic also weighs a ramping member down', () => {
  const { t, b, first } = setup('30s', 'bytraffic');
  for (const m of b.members) {
    m.bytesTo = 1000;
    m.bytesFrom = 1000;
  }
  b.startRamp(first, 'launcher');
  const o = pickMember(b, { target: '/' }, t.now);
  assert.equal(o.kind === 'member' && o.member.route, 'second');
});
