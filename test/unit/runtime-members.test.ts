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
