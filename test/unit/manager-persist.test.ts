// Saved manager changes: snapshot with the overridden config values, restore while the config
// still says the same, config wins (and is reported) after an edit. No files, no sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { applyChanges } from '../../src/manager/api/changes.js';
import { parseState, reconcileReload, restore, snapshot } from '../../src/manager/persist/persist.js';
import { newMemberModel } from '../../src/manager/api/add-member.js';
import { nameIdentity } from '../../src/balancer/member-identity.js';

function config(lbfactorOfFirst = 1, lbmethod: 'byrequests' | 'bybusyness' = 'byrequests') {
  return validateConfig({
    listen: ['127.0.0.1:0'],
    balancers: {
      c: {
        lbmethod,
        stickysession: '_s',
        growth: 2,
        members: [
          { url: 'http://10.0.0.1:8080', route: 'a', loadfactor: lbfactorOfFirst },
          { url: 'http://10.0.0.2:8080', route: 'b' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
}

function changed() {
  const cfg = config();
  const rt = new RuntimeState(cfg);
  const b = rt.balancer('c')!;
  applyChanges(b, { member: { ref: 'a', changes: { lbfactor: 5, status: { D: true } } }, balancer: { lbmethod: 'bytraffic', maxattempts: 0 } }, cfg);
  applyChanges(b, { add: { url: 'http://10.0.0.3:8080', changes: { route: 'c3', status: { D: false } } } }, cfg);
  return { cfg, rt };
}

test('snapshot stores each manager value with the config value it overrode', () => {
  const { rt } = changed();
  const s = snapshot(rt, 0);
  assert.deepEqual(s.balancers.c.settings, {
    lbmethod: { value: 'bytraffic', overrode: 'byrequests' },
    maxattempts: { value: 0, overrode: null },
  });
  assert.deepEqual(s.balancers.c.members['http://10.0.0.1:8080'], {
    lbfactor: { value: 5, overrode: 1 },
    'status.D': { value: true, overrode: false },
  });
  assert.deepEqual(s.balancers.c.added, [{ url: 'http://10.0.0.3:8080', route: 'c3', redirect: '', lbfactor: 1, lbset: 0, flags: {} }]);
  // Round trip through the file format.
  assert.deepEqual(parseState(JSON.stringify(s)), s);
  assert.throws(() => parseState('{"version":99,"balancers":{}}'), /version/);
  assert.throws(() => parseState('[]'), /not a stickylb state file/);
});

test('restore applies saved values onto an unchanged config and marks them as set in the manager', () => {
  const { rt } = changed();
  const saved = snapshot(rt, 0);
  const cfg = config();
  const fresh = new RuntimeState(cfg);
  const report = restore(fresh, saved, cfg);
  assert.deepEqual(report.conflicts, []);
  assert.deepEqual(report.dropped, []);
  const b = fresh.balancer('c')!;
  assert.equal(b.lbmethod, 'bytraffic');
  assert.equal(b.maxattempts, 0);
  assert.equal(b.members[0].lbfactor, 5);
  assert.equal(b.members[0].flags.D, true);
  assert.equal(b.members.length, 3);
  assert.equal(b.members[2].route, 'c3');
  assert.equal(b.members[2].flags.D, false);
  assert.equal(b.growthLeft, 1);
  assert.deepEqual([...b.members[0].changedAtRuntime].sort(), ['lbfactor', 'status.D']);
  assert.deepEqual([...b.changedAtRuntime].sort(), ['lbmethod', 'maxattempts']);
  // Saving again gives the same state.
  assert.deepEqual(snapshot(fresh, 0).balancers, saved.balancers);
});

test('restore: where the config file changed since, the config wins and the conflict is reported', () => {
  const { rt } = changed();
  const saved = snapshot(rt, 0);
  const edited = config(3, 'bybusyness');
  const fresh = new RuntimeState(edited);
  const report = restore(fresh, saved, edited);
  const b = fresh.balancer('c')!;
  assert.equal(b.members[0].lbfactor, 3, 'the edited config value stays');
  assert.equal(b.lbmethod, 'bybusyness');
  assert.equal(b.members[0].flags.D, true, 'values the edit did not touch are still restored');
  assert.equal(report.conflicts.length, 2);
  assert.match(report.conflicts.join('\n'), /member http:\/\/10\.0\.0\.1:8080: lbfactor: the config file now says 3 \(it said 1 when the manager set 5\); the config wins/);
  assert.match(report.conflicts.join('\n'), /balancer c: lbmethod: the config file now says "bybusyness" \(it said "byrequests" when the manager set "bytraffic"\); the config wins/);
  assert.ok(!b.members[0].changedAtRuntime.has('lbfactor'));
});

test('restore: members gone from the config are dropped; an added member now in the config is the config\'s', () => {
  const { rt } = changed();
  const saved = snapshot(rt, 0);
  const cfg = validateConfig({
    listen: ['127.0.0.1:0'],
    balancers: { c: { growth: 2, members: [{ url: 'http://10.0.0.2:8080', route: 'b' }, { url: 'http://10.0.0.3:8080', route: 'third' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const fresh = new RuntimeState(cfg);
  const report = restore(fresh, saved, cfg);
  assert.match(report.dropped.join('\n'), /member http:\/\/10\.0\.0\.1:8080 is no longer configured/);
  assert.match(report.conflicts.join('\n'), /member http:\/\/10\.0\.0\.3:8080, added in the manager, is now in the config file; the config wins/);
  assert.equal(fresh.balancer('c')!.members.length, 2);
  assert.equal(fresh.balancer('c')!.members[1].route, 'third');
});

test('reload: values the config file changed go back to the config, the others stay', () => {
  const { cfg, rt } = changed();
  const edited = config(4);
  rt.reload(edited);
  const conflicts = reconcileReload(rt, cfg);
  const b = rt.balancer('c')!;
  assert.equal(b.members[0].lbfactor, 4);
  assert.ok(!b.members[0].changedAtRuntime.has('lbfactor'));
  assert.equal(b.members[0].flags.D, true);
  assert.equal(b.lbmethod, 'bytraffic');
  assert.deepEqual(conflicts, ['balancer c member http://10.0.0.1:8080: lbfactor: the config file now says 4 (it said 1 when the manager set 5); the config wins']);
});

test('members found by DNS: their manager settings are saved by identity (present or away) and restored to whichever address the name is found at', () => {
  const cfg = config();
  const rt = new RuntimeState(cfg);
  const b = rt.balancer('c')!;
  const found = (name: string, address: string) => {
    const m = newMemberModel(`http://${address}:8080`, b, cfg);
    return { ...m, route: name.split('.')[0], status: { ...m.status, D: false }, source: { kind: 'dns' as const, query: '_http._tcp.app.test', name, identity: nameIdentity(name, 8080) } };
  };
  b.addMember(found('app-0.app.test', '10.0.0.5'), 'dns', { discovered: true });
  const app1 = b.addMember(found('app-1.app.test', '10.0.0.6'), 'dns', { discovered: true });
  applyChanges(b, { member: { ref: 'app-0', changes: { status: { N: true } } } }, cfg);
  applyChanges(b, { member: { ref: 'app-1', changes: { lbfactor: 3 } } }, cfg);
  // app-1 left DNS (removed): its setting is kept all the same.
  b.removeMember(app1, 'dns', 'left DNS');
  const saved = snapshot(rt, 0);
  assert.deepEqual(saved.balancers.c.found, {
    'dns:app-0.app.test:8080': { 'status.N': { value: true, overrode: false } },
    'dns:app-1.app.test:8080': { lbfactor: { value: 3, overrode: 1 } },
  });
  assert.deepEqual(saved.balancers.c.members, {}, 'not by address');
  assert.deepEqual(saved.balancers.c.added, []);
  // A restart: restored before discovery finds anything, given to the member found at a new address.
  const fresh = new RuntimeState(cfg);
  const report = restore(fresh, parseState(JSON.stringify(saved)), cfg);
  assert.deepEqual(report.applied, [
    'balancer c member dns:app-0.app.test:8080 (found by DNS): status.N true, once it is found',
    'balancer c member dns:app-1.app.test:8080 (found by DNS): lbfactor 3, once it is found',
  ]);
  const fb = fresh.balancer('c')!;
  assert.deepEqual(snapshot(fresh, 0).balancers.c.found, saved.balancers.c.found, 'saving before they are found keeps them');
  const moved = fb.addMember(found('app-0.app.test', '10.0.0.9'), 'dns', { discovered: true });
  assert.deepEqual(fb.restoreKept(moved, 'dns').applied, ['status.N on']);
  assert.equal(moved.flags.N, true);
  assert.deepEqual(snapshot(fresh, 0).balancers.c.found, saved.balancers.c.found);
});
