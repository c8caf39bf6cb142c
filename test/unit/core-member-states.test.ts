// Member status flags, the retry interval, forced recovery and lbset tiers, as the reference
// document describes them ("Parameters", "Schedulers", "Failure handling").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStatus, noFlags } from '../../src/config/model.js';
import { testBalancer } from '../helpers/core-state.js';

test('reference: status flags are set with +X and cleared with -X, the sign carries over', () => {
  const f = applyStatus(noFlags(), '+H');
  assert.equal(f.H, true);
  assert.deepEqual(applyStatus({ ...noFlags(), S: true, E: true, D: true }, 'S-E'), { ...noFlags(), S: true, D: true });
  assert.deepEqual(applyStatus(noFlags(), 'dn'), { ...noFlags(), D: true, N: true });
  assert.deepEqual(applyStatus({ ...noFlags(), D: true, H: true }, '-DH+r'), { ...noFlags(), R: true });
});

test('reference: a member is usable unless D, S, E or C; drain, standby, spare and I do not count', () => {
  const b = testBalancer(['a']);
  const m = b.m.a;
  assert.equal(m.isUsable(), true);
  for (const l of ['D', 'S', 'E', 'C'] as const) {
    m.flags = { ...noFlags(), [l]: true };
    assert.equal(m.isUsable(), false, l);
  }
  for (const l of ['N', 'H', 'R', 'I'] as const) {
    m.flags = { ...noFlags(), [l]: true };
    assert.equal(m.isUsable(), true, l);
  }
});

test('reference: disabled and stopped members take no requests, sticky or new', () => {
  for (const status of ['+D', '+S']) {
    const b = testBalancer([['a', { status }], 'b'], { stickysession: '_s' });
    assert.deepEqual(b.sequence(5), Array(5).fill('b'));
    assert.equal(b.who('/', '_s=x.a'), 'b');
  }
});

test('reference: drain: never picked by the scheduler, still sticky', () => {
  const b = testBalancer(['a', ['b', { status: '+N' }], 'c'], { stickysession: '_s', nofailover: true });
  assert.deepEqual(b.sequence(6), ['a', 'c', 'a', 'c', 'a', 'c']);
  assert.equal(b.who('/', '_s=x.b'), 'b');
  // Only drained members left: nothing for new sessions, sessions still served.
  b.m.a.flags.D = true;
  b.m.c.flags.D = true;
  assert.equal(b.who('/'), 'none');
  assert.equal(b.who('/', '_s=x.b'), 'b');
});

test('reference: a failure puts a member in error; ignore-errors (I) never does', () => {
  const b = testBalancer(['a', ['b', { status: '+I' }]]);
  b.state.markFailure(b.m.a, 'connection refused');
  assert.equal(b.m.a.flags.E, true);
  assert.equal(b.m.a.errorCause, 'connection refused');
  assert.equal(b.m.a.errorTime, b.clock.now);
  assert.equal(b.m.a.errors, 1);
  b.state.markFailure(b.m.b, 'connection refused');
  assert.equal(b.m.b.flags.E, false);
  assert.equal(b.m.b.isUsable(), true);
  assert.equal(b.m.b.errors, 1);
  assert.deepEqual(b.sequence(3), ['b', 'b', 'b']);
});

test('reference: retry: an errored member is eligible again once now > error_time + retry', () => {
  const b = testBalancer([['a', { retry: 10 }], 'b']);
  b.state.markFailure(b.m.a, 'connection refused');
  b.clock.now += 10_000;
  // Exactly at the end of the interval: still in error.
  assert.deepEqual(b.sequence(2), ['b', 'b']);
  assert.equal(b.m.a.flags.E, true);
  b.clock.now += 1;
  const seq = b.sequence(2);
  assert.equal(b.m.a.flags.E, false);
  assert.equal(b.m.a.retries, 1);
  assert.deepEqual(seq.sort(), ['a', 'b']);
});

test('reference: retry applies to the sticky lookup too', () => {
  const b = testBalancer([['a', { retry: '500ms' }], 'b'], { stickysession: '_s', nofailover: true });
  b.state.markFailure(b.m.a, 'connection refused');
  assert.equal(b.who('/', '_s=x.a'), 'refused-nofailover');
  b.clock.now += 501;
  assert.equal(b.who('/', '_s=x.a'), 'a');
});

test('reference: retry 0 makes an errored member eligible at the next instant', () => {
  const b = testBalancer([['a', { retry: 0 }], 'b']);
  b.state.markFailure(b.m.a, 'connection refused');
  assert.equal(b.m.a.flags.E, true);
  b.clock.now += 1;
  b.sequence(1);
  assert.equal(b.m.a.flags.E, false);
});

test('reference: stopped members are never retried', () => {
  const b = testBalancer([['a', { status: '+S', retry: 0 }], 'b']);
  b.state.markFailure(b.m.a, 'connection refused');
  b.clock.now += 100_000;
  assert.deepEqual(b.sequence(3), ['b', 'b', 'b']);
  assert.equal(b.m.a.isUsable(), false);
});

test('reference: forcerecovery clears E on all but hot standbys when every member is in error', () => {
  const b = testBalancer(['a', 'b', ['h', { status: '+H' }]]);
  for (const m of b.state.members) b.state.markFailure(m, 'connection refused');
  b.clock.now += 1000;
  const out = b.pick('/');
  assert.equal(out.kind, 'member');
  assert.equal(b.m.a.flags.E, false);
  assert.equal(b.m.b.flags.E, false);
  assert.equal(b.m.h.flags.E, true);
  assert.equal(b.m.a.retries, 1);
  assert.equal(out.kind === 'member' && out.member.route, 'a');
});

test('reference: forcerecovery does nothing while one member is not in error', () => {
  const b = testBalancer(['a', 'b', ['c', { status: '+D' }]]);
  b.state.markFailure(b.m.a, 'connection refused');
  b.state.markFailure(b.m.b, 'connection refused');
  assert.equal(b.who('/'), 'none');
  assert.equal(b.m.a.flags.E, true);
  assert.equal(b.state.refused, 1);
});

test('reference: forcerecovery Off leaves every member in error: 503', () => {
  const b = testBalancer(['a', 'b'], { forcerecovery: false });
  for (const m of b.state.members) b.state.markFailure(m, 'connection refused');
  assert.equal(b.who('/'), 'none');
  assert.equal(b.m.a.flags.E, true);
});

test('reference: lbset tiers: the lowest lbset with a usable member wins', () => {
  const b = testBalancer([['a1', { lbset: 1 }], 'a0', ['b1', { lbset: 1 }], 'b0', ['c2', { lbset: 2 }]]);
  assert.deepEqual(b.sequence(4), ['a0', 'b0', 'a0', 'b0']);
  b.m.a0.flags.D = true;
  assert.deepEqual(b.sequence(2), ['b0', 'b0']);
  b.m.b0.flags.E = true;
  b.m.b0.errorTime = b.clock.now;
  assert.deepEqual(b.sequence(4), ['a1', 'b1', 'a1', 'b1']);
  b.m.a1.flags.S = true;
  b.m.b1.flags.C = true;
  assert.deepEqual(b.sequence(2), ['c2', 'c2']);
});

test('reference: lbset tiers with a gap (0 and 2) still reach the higher tier', () => {
  const b = testBalancer([['x', { lbset: 2 }], ['y', { status: '+D' }]]);
  assert.deepEqual(b.sequence(2), ['x', 'x']);
});

test('reference: hot standby is used only when no other member of its lbset is usable', () => {
  const b = testBalancer(['a', ['h', { status: '+H' }], 'b', ['z', { lbset: 1 }]]);
  assert.deepEqual(b.sequence(4), ['a', 'b', 'a', 'b']);
  b.m.a.flags.D = true;
  assert.deepEqual(b.sequence(2), ['b', 'b']);
  b.m.b.flags.D = true;
  // The lbset 0 standby comes before the members of lbset 1.
  assert.deepEqual(b.sequence(2), ['h', 'h']);
  b.m.h.flags.D = true;
  assert.deepEqual(b.sequence(2), ['z', 'z']);
});

test('reference: hot spares replace unusable members, at most one spare per unusable member', () => {
  const b = testBalancer(['a', 'b', 'c', ['r1', { status: '+R' }], ['r2', { status: '+R' }]]);
  const tally = (n: number) => {
    const out: Record<string, number> = {};
    for (const r of b.sequence(n)) out[r] = (out[r] ?? 0) + 1;
    return out;
  };
  assert.deepEqual(tally(9), { a: 3, b: 3, c: 3 });
  b.m.a.flags.D = true;
  assert.deepEqual(tally(9), { b: 3, c: 3, r1: 3 });
  b.m.b.flags.E = true;
  b.m.b.errorTime = b.clock.now;
  assert.deepEqual(tally(9), { c: 3, r1: 3, r2: 3 });
  // A draining member (not a spare) also counts as one to replace.
  b.m.c.flags.N = true;
  assert.deepEqual(tally(6), { r1: 3, r2: 3 });
});

test('reference: an unusable spare is not used, the next spare is', () => {
  const b = testBalancer(['a', 'b', ['r1', { status: '+R+D' }], ['r2', { status: '+R' }]]);
  b.m.a.flags.D = true;
  const seq = b.sequence(4);
  assert.ok(!seq.includes('r1'));
  assert.ok(seq.includes('r2'));
});

test('reference: changing a factor resets lbstatus to the new factor', () => {
  const b = testBalancer(['a', 'b']);
  b.sequence(3);
  b.state.setMember(b.m.b, { lbfactor: 5 }, 'manager');
  assert.equal(b.m.b.lbstatus, 5);
  assert.throws(() => b.state.setMember(b.m.b, { lbfactor: 0 }, 'manager'), RangeError);
});
