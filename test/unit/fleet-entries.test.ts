// The fleet's shared settings without Redis: which local changes are shared, how versions order
// changes, how an entry is applied through the runtime-state API, and the heartbeat views (who
// sees a member differently, a member's activity on the other balancers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import type { StateChange } from '../../src/balancer/balancer-state.js';
import { applyEntry, changeValue, decodeKey, dropsUnseen, encodeKey, identityIn, sharedKeyOf, wins, type Entry } from '../../src/fleet/entries.js';
import { newMemberModel } from '../../src/manager/api/add-member.js';
import { nameIdentity } from '../../src/balancer/member-identity.js';
import { VersionClock } from '../../src/fleet/version.js';
import { activityElsewhere, disagreements, statusOf, type Heartbeat } from '../../src/fleet/heartbeat.js';
import { heldReason } from '../../src/fleet/rollout.js';
import { safeUrl } from '../../src/fleet/view.js';

function runtime(now = () => 1_000_000) {
  const config = validateConfig({
    balancers: {
      app: {
        stickysession: '_s',
        growth: 2,
        slowstart: 30,
        members: [
          { url: 'http://10.0.0.1:8080', route: 'a' },
          { url: 'http://10.0.0.2:8080', route: 'b' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
  });
  return { config, runtime: new RuntimeState(config, now) };
}

const A = 'http://10.0.0.1:8080';

test('fleet: manager changes and a rolling restart\'s drain are shared; errors, health, DNS and the fleet\'s own are not', () => {
  const c = (x: Partial<StateChange>): StateChange => ({ balancer: 'app', field: 'status.N', from: false, to: true, by: 'manager', ...x });
  assert.deepEqual(sharedKeyOf(c({ member: A })), { kind: 'member', balancer: 'app', member: A, field: 'status.N' });
  assert.deepEqual(sharedKeyOf(c({ member: A, field: 'lbfactor', from: 1, to: 5 })), { kind: 'member', balancer: 'app', member: A, field: 'lbfactor' });
  assert.deepEqual(sharedKeyOf(c({ field: 'lbmethod', from: 'byrequests', to: 'bybusyness' })), { kind: 'balancer', balancer: 'app', field: 'lbmethod' });
  assert.deepEqual(sharedKeyOf(c({ member: 'http://10.0.0.9:80', field: 'member', from: undefined, to: 'http://10.0.0.9:80' })), { kind: 'added', balancer: 'app', member: 'http://10.0.0.9:80' });
  assert.deepEqual(sharedKeyOf(c({ member: A, by: 'rolling' })), { kind: 'member', balancer: 'app', member: A, field: 'status.N' });
  assert.deepEqual(sharedKeyOf(c({ member: A, by: 'rolling', field: 'slowstart', from: 1, to: 30000 })), { kind: 'ramp', balancer: 'app', member: A });
  for (const x of [
    c({ member: A, field: 'status.E', by: 'proxy' }),
    c({ member: A, field: 'status.C', by: 'health' }),
    c({ member: A, field: 'status.C', by: 'manager' }),
    c({ member: A, by: 'dns' }),
    c({ member: A, by: 'fleet' }),
    c({ member: A, by: 'rolling', field: 'status.E' }),
  ]) {
    assert.equal(sharedKeyOf(x), undefined, `${x.field} by ${x.by}`);
  }
});

test('fleet: a change\'s value is taken in the form persistence saves it', () => {
  const c = (field: string, to: unknown): StateChange => ({ balancer: 'app', field, from: undefined, to, by: 'manager' });
  assert.deepEqual(changeValue({ kind: 'balancer', balancer: 'app', field: 'stickysession' }, c('stickysession', { cookie: 'JSESSIONID' }), 0), { cookie: 'JSESSIONID', url: null });
  assert.equal(changeValue({ kind: 'balancer', balancer: 'app', field: 'stickysession' }, c('stickysession', undefined), 0), null);
  assert.equal(changeValue({ kind: 'balancer', balancer: 'app', field: 'maxattempts' }, c('maxattempts', undefined), 0), null);
  assert.equal(changeValue({ kind: 'member', balancer: 'app', member: A, field: 'lbfactor' }, c('lbfactor', 4), 0), 4);
  assert.deepEqual(changeValue({ kind: 'added', balancer: 'app', member: A }, c('member', A), 0), { url: A });
  assert.deepEqual(changeValue({ kind: 'ramp', balancer: 'app', member: A }, c('slowstart', 30000), 1234), { at: 1234 });
});

test('fleet: keys survive the trip through Redis; anything else is not a key', () => {
  for (const k of [
    { kind: 'balancer', balancer: 'app', field: 'stickysession' },
    { kind: 'member', balancer: 'app', member: A, field: 'status.D' },
    { kind: 'added', balancer: 'app', member: A },
    { kind: 'ramp', balancer: 'app', member: A },
  ] as const) {
    assert.deepEqual(decodeKey(encodeKey(k)), k);
  }
  for (const bad of ['x', '[]', '["m","app","x","status.E"]', '["b","app","growth"]', '{"a":1}', '["m","app",1,"lbset"]']) assert.equal(decodeKey(bad), undefined, bad);
});

test('fleet: the later version wins; equal versions are ordered by balancer id', () => {
  const e = (v: number, o: string): Entry => ({ value: true, v, o, by: 'manager' });
  assert.equal(wins(e(2, 'a'), e(1, 'z')), true);
  assert.equal(wins(e(1, 'z'), e(2, 'a')), false);
  assert.equal(wins(e(5, 'lb2'), e(5, 'lb1')), true);
  assert.equal(wins(e(5, 'lb1'), e(5, 'lb2')), false);
  assert.equal(wins(e(5, 'lb1'), e(5, 'lb1')), false);
  assert.equal(wins(e(0, 'x'), undefined), true);
});

test('fleet: a change here that replaces, or would replace, a change it was not made from is a conflict; one made from it, an older copy or itself is not', () => {
  const e = (v: number, o: string): Entry => ({ value: 1, v, o, by: 'manager' });
  const mine = e(300, 'lb2');
  // Both changed while Redis was away (made from nothing the fleet had): whatever Redis holds is a conflict.
  assert.equal(dropsUnseen(e(200, 'lb1'), mine, undefined), true);
  // Made from the entry Redis holds: no conflict.
  assert.equal(dropsUnseen(e(200, 'lb1'), mine, 200), false);
  // Redis was re-seeded from an older copy than ours was made from: no conflict.
  assert.equal(dropsUnseen(e(100, 'lb1'), mine, 200), false);
  // A change stored after the one ours was made from: a conflict.
  assert.equal(dropsUnseen(e(250, 'lb1'), mine, 200), true);
  // Nothing there (Redis restarted empty), or ours stored already by a write that timed out: none.
  assert.equal(dropsUnseen(undefined, mine, undefined), false);
  assert.equal(dropsUnseen(e(300, 'lb2'), mine, undefined), false);
  // The comparison does not depend on which one wins: a later change elsewhere is compared alike.
  assert.equal(dropsUnseen(e(400, 'lb1'), mine, 200), true);
  assert.equal(dropsUnseen(e(400, 'lb1'), mine, 400), false);
});

test('fleet: versions follow the clock, never go back, and rise above every version seen', () => {
  let now = 1000;
  const c = new VersionClock(() => now);
  assert.equal(c.next(), 1000);
  assert.equal(c.next(), 1001);
  now = 900; // the clock went back
  assert.equal(c.next(), 1002);
  c.see(5000); // a change from a balancer whose clock is ahead
  now = 2000;
  assert.equal(c.next(), 5001);
  now = 9000;
  assert.equal(c.next(), 9000);
});

test('fleet: an entry is applied through the runtime-state API as a change by the fleet, with its origin', () => {
  const { runtime: rt, config } = runtime();
  const seen: StateChange[] = [];
  rt.events.on('change', (c: StateChange) => seen.push(c));
  const b = rt.balancer('app')!;
  const m = b.member('a')!;
  const drain: Entry = { value: true, v: 10, o: 'lb2', by: 'manager' };
  assert.equal(applyEntry(rt, { kind: 'member', balancer: 'app', member: m.id, field: 'status.N' }, drain, config, 0), 'applied');
  assert.equal(m.flags.N, true);
  assert.deepEqual(seen.map((c) => [c.field, c.to, c.by, c.cause]), [['status.N', true, 'fleet', 'manager on lb2']]);
  // A setting from another balancer's manager is a setting here too (kept across reloads, saved).
  assert.ok(m.changedAtRuntime.has('status.N'));
  assert.equal(applyEntry(rt, { kind: 'member', balancer: 'app', member: m.id, field: 'status.N' }, drain, config, 0), 'same');
  assert.equal(applyEntry(rt, { kind: 'member', balancer: 'app', member: m.id, field: 'lbfactor' }, { ...drain, value: 7 }, config, 0), 'applied');
  assert.equal(m.lbfactor, 7);
  assert.equal(applyEntry(rt, { kind: 'balancer', balancer: 'app', field: 'stickysession' }, { ...drain, value: { cookie: 'JSESSIONID', url: 'jsessionid' } }, config, 0), 'applied');
  assert.deepEqual(b.sticky, { cookie: 'JSESSIONID', url: 'jsessionid' });
  assert.equal(applyEntry(rt, { kind: 'balancer', balancer: 'app', field: 'maxattempts' }, { ...drain, value: null }, config, 0), 'same');
  // A member the manager added elsewhere is added here (disabled, as Apache adds them) …
  const url = 'http://10.0.0.9:8080';
  assert.equal(applyEntry(rt, { kind: 'added', balancer: 'app', member: url }, { ...drain, value: { url } }, config, 0), 'applied');
  assert.equal(b.member(url)?.flags.D, true);
  // … and an entry for a member or balancer this balancer does not have waits.
  assert.equal(applyEntry(rt, { kind: 'member', balancer: 'app', member: 'http://10.0.0.77:80', field: 'status.D' }, drain, config, 0), 'waiting');
  assert.equal(applyEntry(rt, { kind: 'member', balancer: 'other', member: A, field: 'status.D' }, drain, config, 0), 'waiting');
  // A value the runtime refuses is reported, not thrown.
  const bad = applyEntry(rt, { kind: 'member', balancer: 'app', member: m.id, field: 'lbfactor' }, { ...drain, value: 500 }, config, 0);
  assert.deepEqual(bad, { refused: 'lbfactor must be within 1..100' });
});

test('fleet: a setting of a member found by DNS is keyed by its name, and applies to the member of that name at whatever address', () => {
  const { runtime: rt, config } = runtime();
  const b = rt.balancer('app')!;
  const found = (address: string) => {
    const m = newMemberModel(`http://${address}:8080`, b, config);
    return { ...m, route: 'app-0', status: { ...m.status, D: false }, source: { kind: 'dns' as const, query: '_http._tcp.app.test', name: 'app-0.app.test', identity: nameIdentity('app-0.app.test', 8080) } };
  };
  const here = b.addMember(found('10.0.0.5'), 'dns', { discovered: true });
  const drain: StateChange = { balancer: 'app', member: here.id, field: 'status.N', from: false, to: true, by: 'manager' };
  const k = sharedKeyOf(drain, identityIn(rt))!;
  assert.deepEqual(k, { kind: 'member', balancer: 'app', member: 'dns:app-0.app.test:8080', field: 'status.N' });
  assert.equal(encodeKey(k), '["m","app","dns:app-0.app.test:8080","status.N"]');
  // Configured members are keyed by their id, as before.
  assert.deepEqual(sharedKeyOf({ ...drain, member: A }, identityIn(rt)), { kind: 'member', balancer: 'app', member: A, field: 'status.N' });
  // Another balancer found the name at another address: the entry applies there.
  const { runtime: other } = runtime();
  const ob = other.balancer('app')!;
  const there = ob.addMember(found('10.0.0.6'), 'dns', { discovered: true });
  assert.equal(applyEntry(other, k, { value: true, v: 10, o: 'lb1', by: 'manager' }, config, 0), 'applied');
  assert.equal(there.flags.N, true);
  // Where the name is not found (yet), it waits.
  ob.removeMember(there, 'dns');
  assert.equal(applyEntry(other, k, { value: true, v: 10, o: 'lb1', by: 'manager' }, config, 0), 'waiting');
});

test('fleet: the slow start after a rolling restart elsewhere ramps here too, unless it is over', () => {
  let now = 1_000_000;
  const { runtime: rt, config } = runtime(() => now);
  const m = rt.balancer('app')!.member('b')!;
  const k = { kind: 'ramp', balancer: 'app', member: m.id } as const;
  assert.equal(applyEntry(rt, k, { value: { at: now - 40_000 }, v: 1, o: 'lb1', by: 'rolling' }, config, now), 'expired');
  assert.equal(applyEntry(rt, k, { value: { at: now - 10_000 }, v: 2, o: 'lb1', by: 'rolling' }, config, now), 'applied');
  assert.equal(m.rampStart, now - 10_000);
  now += 1;
  assert.ok(m.isRamping(now));
});

const beat = (id: string, members: Heartbeat['members'], clock = 100_000): Heartbeat => ({ id, address: `${id}:80`, version: '1', startedAt: 0, workers: 0, seq: 1, epoch: 'e', clock, members });

test('fleet: members the balancers see differently are listed with each view; alike ones are not', () => {
  const out = disagreements([
    beat('lb1', { app: { [A]: { f: '', r: 'a', b: 0, s: 0 }, B: { f: 'N', r: 'b', b: 0, s: 0 } } }),
    beat('lb2', { app: { [A]: { f: 'E', r: 'a', b: 0, s: 0, c: 'connection refused' }, B: { f: 'N', r: 'b', b: 0, s: 0 } } }),
  ]);
  assert.deepEqual(out, [
    {
      balancer: 'app',
      member: A,
      route: 'a',
      views: [
        { id: 'lb1', status: 'Ok' },
        { id: 'lb2', status: 'Error', cause: 'connection refused' },
      ],
    },
  ]);
  assert.equal(statusOf('NC'), 'Drain, Health check failed');
  assert.equal(statusOf('H'), 'Ok, Standby');
});

test('fleet: a member is idle elsewhere only when every other balancer drained it, has nothing in flight and saw no session request for long', () => {
  const act = activityElsewhere(
    [
      beat('lb1', { app: { [A]: { f: 'N', r: 'a', b: 5, s: 99_000 } } }),
      beat('lb2', { app: { [A]: { f: 'N', r: 'a', b: 1, s: 97_000 } } }),
      beat('lb3', { app: { [A]: { f: 'N', r: 'a', b: 0, s: 0 } } }),
      beat('lb4', { app: { [A]: { f: '', r: 'a', b: 0, s: 0 } } }),
    ],
    'lb1',
    'app',
    A,
  );
  assert.deepEqual(act, { busy: 1, quietMs: 3_000, waitingFor: ['lb4'] });
});

test('fleet: a refused rollout says who runs which one and where; Redis URLs are shown without their password', () => {
  const reason = heldReason({ token: 't', holder: 'lb1', address: '10.0.0.1:80', balancer: 'app', startedAt: Date.UTC(2026, 0, 1, 12), member: 'app-0', step: 'wait-idle' }, 9_500);
  assert.equal(
    reason,
    'a rolling restart of balancer app is already running on lb1 (10.0.0.1:80), started 2026-01-01T12:00:00.000Z, now at app-0 (wait-idle): one rollout at a time across the fleet; its lease runs out in 10s unless lb1 renews it',
  );
  assert.equal(safeUrl('rediss://default:s3cret@redis:6380/1'), 'rediss://default:***@redis:6380/1');
  assert.equal(safeUrl('redis://:s3cret@redis'), 'redis://:***@redis');
  assert.equal(safeUrl('redis://redis:6379'), 'redis://redis:6379');
});
