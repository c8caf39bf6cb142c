// Members added and removed at run time through the runtime-state API: in the manager (a growth
// slot, disabled at first, as Apache) or found by discovery (no slot, enabled), and removal with
// its change event; configured members stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import type { StateChange } from '../../src/balancer/balancer-state.js';
import { newMemberModel } from '../../src/manager/api/add-member.js';
import { describeStateChange } from '../../src/health/log-lines.js';
import { nameIdentity } from '../../src/balancer/member-identity.js';

function setup() {
  const config = validateConfig({ balancers: { app: { growth: 1, members: [{ url: 'http://10.0.0.1:8080', route: 'a' }] } } });
  const rt = new RuntimeState(config);
  const b = rt.balancer('app')!;
  const seen: StateChange[] = [];
  rt.events.on('change', (c: StateChange) => seen.push(c));
  return { config, rt, b, seen };
}

test('members found by discovery take no growth slot and start enabled; removal frees nothing of growth', () => {
  const { config, b, seen } = setup();
  const found = b.addMember({ ...newMemberModel('http://10.0.0.5:8080', b, config), route: 'app-0' }, 'dns', { discovered: true });
  assert.equal(found.isUsable(), true);
  assert.equal(b.growthLeft, 1);
  b.removeMember(found, 'dns', 'left DNS');
  assert.equal(b.growthLeft, 1);
  assert.equal(b.member('app-0'), undefined);
  assert.deepEqual(
    seen.map((c) => [c.field, c.from, c.to, c.by, c.cause]),
    [
      ['member', undefined, 'http://10.0.0.5:8080', 'dns', undefined],
      ['member', 'http://10.0.0.5:8080', undefined, 'dns', 'left DNS'],
    ],
  );
  assert.equal(describeStateChange(seen[1])?.msg.endsWith('removed from balancer app by dns (left DNS)'), true);
});

test('a member added in the manager takes a slot and starts disabled; removing it frees the slot; configured members cannot be removed', () => {
  const { config, b } = setup();
  const added = b.addMember(newMemberModel('http://10.0.0.6:8080', b, config), 'manager');
  assert.equal(added.flags.D, true);
  assert.equal(b.growthLeft, 0);
  assert.throws(() => b.addMember(newMemberModel('http://10.0.0.7:8080', b, config), 'manager'), /no free slot/);
  b.removeMember(added, 'manager');
  assert.equal(b.growthLeft, 1);
  assert.throws(() => b.removeMember(b.member('a')!, 'manager'), /is in the config of app: remove it there/);
  assert.throws(() => b.removeMember(added, 'manager'), /is not a member of app/);
});

test('settings applied by the fleet count as settings (kept across reloads) and carry their cause', () => {
  const { b, seen } = setup();
  const m = b.member('a')!;
  b.setMember(m, { status: { N: true }, lbfactor: 3 }, 'fleet', 'manager on lb2');
  assert.deepEqual([...m.changedAtRuntime].sort(), ['lbfactor', 'status.N']);
  assert.equal(seen.find((c) => c.field === 'status.N')?.cause, 'manager on lb2');
  b.setMember(m, { status: { D: true } }, 'dns');
  assert.equal(m.changedAtRuntime.has('status.D'), false);
});

/** A member found by DNS under `name` at `address` (routed by name, as SRV sources are). */
function foundModel(config: ReturnType<typeof setup>['config'], b: ReturnType<typeof setup>['b'], name: string, address: string) {
  const base = newMemberModel(`http://${address}:8080`, b, config);
  return { ...base, route: name.split('.')[0], status: { ...base.status, D: false }, source: { kind: 'dns' as const, query: '_http._tcp.app.test', name, identity: nameIdentity(name, 8080) } };
}

test('settings made at run time on a member found by DNS follow its name: kept when it goes, given back when it is found again at another address', () => {
  const { config, b, seen } = setup();
  const old = b.addMember(foundModel(config, b, 'app-0.app.test', '10.0.0.5'), 'dns', { discovered: true });
  assert.equal(old.identity, 'dns:app-0.app.test:8080');
  b.setMember(old, { status: { N: true }, lbfactor: 4 }, 'manager');
  // A change DNS made is not a setting: it is not kept.
  b.setMember(old, { lbset: 1 }, 'dns');
  b.removeMember(old, 'dns', 'app-0 is at 10.0.0.6 now');
  assert.deepEqual(Object.fromEntries(b.keptSettings()), {
    'dns:app-0.app.test:8080': { 'status.N': { value: true, overrode: false }, lbfactor: { value: 4, overrode: 1 } },
  });
  const moved = b.addMember(foundModel(config, b, 'app-0.app.test', '10.0.0.6'), 'dns', { discovered: true });
  assert.equal(moved.flags.N, false, 'adding alone changes nothing');
  seen.length = 0;
  const r = b.restoreKept(moved, 'dns', 'kept');
  assert.deepEqual(r, { applied: ['lbfactor 4', 'status.N on'], conflicts: [] });
  assert.equal(moved.flags.N, true);
  assert.equal(moved.lbfactor, 4);
  assert.deepEqual([...moved.changedAtRuntime].sort(), ['lbfactor', 'status.N'], 'they count as set at run time (saved, kept across reloads)');
  assert.deepEqual(seen.map((c) => [c.member, c.field, c.to, c.by]), [
    ['http://10.0.0.6:8080', 'lbfactor', 4, 'dns'],
    ['http://10.0.0.6:8080', 'status.N', true, 'dns'],
  ]);
  assert.equal(b.keptSettings().size, 0, 'given back once');
  // Another name does not get them; a member routed by its address is its address.
  assert.equal(b.addMember(foundModel(config, b, 'app-1.app.test', '10.0.0.7'), 'dns', { discovered: true }).identity, 'dns:app-1.app.test:8080');
  assert.equal(b.member('a')!.identity, 'http://10.0.0.1:8080');
});

test('kept settings: a value set since (by the fleet) stays; a value the config overrides differently now is dropped; a reload keeps found members\' settings', () => {
  const { config, rt, b } = setup();
  b.keepSettings('dns:app-0.app.test:8080', {
    'status.N': { value: true, overrode: false },
    lbfactor: { value: 4, overrode: 1 },
    lbset: { value: 2, overrode: 1 },
    route: { value: 'x', overrode: 'app-0' },
  });
  assert.deepEqual(Object.keys(b.keptSettings().get('dns:app-0.app.test:8080')!), ['status.N', 'lbfactor', 'lbset'], 'the route is DNS\'s to say');
  const m = b.addMember(foundModel(config, b, 'app-0.app.test', '10.0.0.6'), 'dns', { discovered: true });
  b.setMember(m, { lbfactor: 6 }, 'fleet', 'manager on lb2');
  const r = b.restoreKept(m, 'dns');
  assert.deepEqual(r.applied, ['status.N on']);
  assert.deepEqual(r.conflicts, ['lbset: the config now says 0 (it said 1 when 2 was set); the config wins']);
  assert.equal(m.lbfactor, 6, 'the value set since stays');
  assert.equal(m.lbset, 0);
  // A reload rebuilds the balancer from the config: found members are added again by discovery,
  // and get their settings back.
  b.setMember(m, { status: { D: true } }, 'manager');
  rt.reload(config);
  const next = rt.balancer('app')!;
  assert.equal(next.member('app-0'), undefined);
  const again = next.addMember(foundModel(config, next, 'app-0.app.test', '10.0.0.6'), 'dns', { discovered: true });
  assert.deepEqual(next.restoreKept(again, 'dns').applied.sort(), ['lbfactor 6', 'status.D on', 'status.N on']);
  assert.equal(again.flags.D, true);
  assert.equal(again.lbfactor, 6);
});
