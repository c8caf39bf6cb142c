// Scheduler tables (expected pick sequences for factor sets) and one conformance suite run
// against every registered lbmethod.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { schedulerNames, getScheduler } from '../../src/balancer/schedulers/registry.js';
import { makeHeartbeat } from '../../src/balancer/schedulers/heartbeat.js';
import { bestMember } from '../../src/balancer/pick.js';
import type { Lbmethod } from '../../src/config/model.js';
import type { RawMember } from '../../src/config/schema.js';
import { testBalancer } from '../helpers/core-state.js';

type Spec = string | [string, Partial<RawMember>];

const f = (route: string, loadfactor: number, more: Partial<RawMember> = {}): Spec => [route, { loadfactor, ...more }];

describe('byrequests tables', () => {
  const table: { name: string; members: Spec[]; expect: string }[] = [
    { name: '1,1,2', members: [f('a', 1), f('b', 1), f('c', 2)], expect: 'c a b c c a b c' },
    { name: '1,1,1', members: ['a', 'b', 'c'], expect: 'a b c a b c' },
    { name: '3,1', members: [f('a', 3), f('b', 1)], expect: 'a a b a a a b a' },
    { name: '1,2,3', members: [f('a', 1), f('b', 2), f('c', 3)], expect: 'c b a c b c c b a c b c' },
    { name: '5,1,1', members: [f('a', 5), f('b', 1), f('c', 1)], expect: 'a a b a c a a a a b a c a a' },
    { name: 'decimals 1.5,1', members: [f('a', 1.5), f('b', 1)], expect: 'a b a b a a b a b a' },
    { name: '100,1', members: [f('a', 100), f('b', 1)], expect: 'a a a a a' },
    { name: '1,1,2 with b drained', members: [f('a', 1), f('b', 1, { status: '+N' }), f('c', 2)], expect: 'c a c c a c' },
    { name: '1,1,2 with b in error', members: [f('a', 1), f('b', 1, { status: '+E' }), f('c', 2)], expect: 'c a c c a c' },
    { name: '1,1,2 with b disabled', members: [f('a', 1), f('b', 1, { status: '+D' }), f('c', 2)], expect: 'c a c c a c' },
    { name: 'standby h idle while a, c usable', members: [f('a', 1), f('h', 5, { status: '+H' }), f('c', 2)], expect: 'c a c c a c' },
    { name: 'standby h takes over', members: [f('a', 1, { status: '+S' }), f('h', 5, { status: '+H' }), f('c', 2, { status: '+D' })], expect: 'h h h' },
    {
      name: 'spare r replaces the one unusable member',
      members: [f('a', 1), f('b', 1, { status: '+D' }), f('r', 1, { status: '+R' }), f('s', 1, { status: '+R' })],
      expect: 'a r a r',
    },
    {
      name: 'lbset 1 only when lbset 0 is unusable',
      members: [f('a', 1, { lbset: 1 }), f('b', 2, { status: '+E' }), f('c', 1, { lbset: 1 })],
      expect: 'a c a c',
    },
  ];
  for (const row of table) {
    test(`byrequests ${row.name}: ${row.expect}`, () => {
      const b = testBalancer(row.members, { forcerecovery: false });
      // Members configured in error stay there (no retry within the test).
      for (const m of b.state.members) if (m.flags.E) m.errorTime = b.clock.now;
      assert.equal(b.sequence(row.expect.split(' ').length).join(' '), row.expect);
    });
  }
});

describe('bybusyness tables', () => {
  test('fewest requests in flight wins; ties go to the higher lbstatus', () => {
    const b = testBalancer(['a', 'b', 'c'], { lbmethod: 'bybusyness' });
    b.m.a.busy = 2;
    b.m.b.busy = 1;
    b.m.c.busy = 1;
    assert.equal(b.who(), 'b');
    assert.equal(b.who(), 'c');
    assert.equal(b.who(), 'b');
    b.m.a.busy = 0;
    assert.deepEqual(b.sequence(3), ['a', 'a', 'a']);
  });

  test('equal busyness follows the byrequests order for factors 1,1,2', () => {
    const b = testBalancer([f('a', 1), f('b', 1), f('c', 2)], { lbmethod: 'bybusyness' });
    assert.equal(b.sequence(8).join(' '), 'c a b c c a b c');
  });

  test('requests that stay in flight spread new ones over every member', () => {
    const b = testBalancer(['a', 'b', 'c'], { lbmethod: 'bybusyness' });
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = b.who();
      seq.push(r);
      b.m[r].busy++;
    }
    assert.equal(seq.join(' '), 'a b c a b c');
  });
});

describe('bytraffic tables', () => {
  test('lowest (to + from) / lbfactor wins; ties go to the first', () => {
    const b = testBalancer([f('a', 1), f('b', 2), f('c', 1)], { lbmethod: 'bytraffic' });
    assert.equal(b.who(), 'a');
    b.m.a.bytesTo = 100;
    b.m.a.bytesFrom = 100;
    b.m.b.bytesFrom = 300;
    // a: 200, b: 150, c: 0.
    assert.equal(b.who(), 'c');
    b.m.c.bytesTo = 160;
    assert.equal(b.who(), 'b');
    b.m.b.bytesTo = 100;
    // a: 200, b: 200, c: 160.
    assert.equal(b.who(), 'c');
    b.m.c.bytesTo = 200;
    // All 200: the first wins.
    assert.equal(b.who(), 'a');
  });

  test('traffic recorded per pick spreads by factor 2:1', () => {
    const b = testBalancer([f('a', 2), f('b', 1)], { lbmethod: 'bytraffic' });
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = b.who();
      seq.push(r);
      b.m[r].bytesFrom += 1000;
    }
    assert.equal(seq.join(' '), 'a b a a b a');
  });
});

describe('heartbeat', () => {
  test('weighted random by lbfactor, with an injected random source', () => {
    const rolls = [0.9, 0.1, 0.2];
    let i = 0;
    const hb = makeHeartbeat(() => rolls[i++ % rolls.length]);
    const b = testBalancer([f('a', 1), f('b', 1), f('c', 2)]);
    // Walk: a kept (first), b replaces when roll < 1/2, c replaces when roll < 2/4.
    // begin() takes 0.9; b: 0.1 < 0.5 → b; c: 0.2 < 0.5 → c.
    assert.equal(bestMember(b.state, hb, b.clock.now)?.route, 'c');
    i = 0;
    const never = makeHeartbeat(() => 0.99);
    assert.equal(bestMember(b.state, never, b.clock.now)?.route, 'a');
  });
});

// ---- One conformance suite for every registered scheduler ----

/** Records load on the winner the way the data path does, so every scheduler can rotate. */
function pickWithLoad(b: ReturnType<typeof testBalancer>): string {
  const r = b.who();
  const m = b.m[r];
  if (m) {
    m.busy++;
    m.bytesFrom += 1000;
  }
  return r;
}

function tally(seq: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of seq) out[r] = (out[r] ?? 0) + 1;
  return out;
}

test('the registry knows the four Apache lbmethods', () => {
  assert.deepEqual(schedulerNames().sort(), ['bybusyness', 'byrequests', 'bytraffic', 'heartbeat']);
  assert.throws(() => getScheduler('roundrobin'), /unknown lbmethod "roundrobin"/);
});

for (const name of schedulerNames()) {
  const lbmethod = name as Lbmethod;
  describe(`scheduler conformance: ${name}`, () => {
    const N = 120;

    test('spreads new sessions over every usable member', () => {
      const b = testBalancer(['a', 'b', 'c'], { lbmethod });
      const t = tally(Array.from({ length: N }, () => pickWithLoad(b)));
      assert.deepEqual(Object.keys(t).sort(), ['a', 'b', 'c']);
    });

    test('never picks an unusable or drained member', () => {
      const b = testBalancer(
        ['ok1', ['dis', { status: '+D' }], ['stop', { status: '+S' }], ['err', { status: '+E' }], ['hc', { status: '+C' }], ['drn', { status: '+N' }], 'ok2'],
        { lbmethod, forcerecovery: false },
      );
      b.m.err.errorTime = b.clock.now;
      const t = tally(Array.from({ length: N }, () => pickWithLoad(b)));
      assert.deepEqual(Object.keys(t).sort(), ['ok1', 'ok2']);
    });

    test('respects lbset tiers', () => {
      const b = testBalancer([['high', { lbset: 1 }], 'low1', ['higher', { lbset: 2 }], 'low2'], { lbmethod });
      assert.deepEqual(Object.keys(tally(Array.from({ length: N }, () => pickWithLoad(b)))).sort(), ['low1', 'low2']);
      b.m.low1.flags.D = true;
      b.m.low2.flags.N = true;
      assert.deepEqual(tally(Array.from({ length: 10 }, () => pickWithLoad(b))), { high: 10 });
      b.m.high.flags.S = true;
      assert.deepEqual(tally(Array.from({ length: 10 }, () => pickWithLoad(b))), { higher: 10 });
    });

    test('uses hot standbys only when nothing else in the lbset is usable', () => {
      const b = testBalancer(['a', ['h1', { status: '+H' }], 'b', ['h2', { status: '+H' }]], { lbmethod });
      assert.deepEqual(Object.keys(tally(Array.from({ length: N }, () => pickWithLoad(b)))).sort(), ['a', 'b']);
      b.m.a.flags.D = true;
      assert.deepEqual(tally(Array.from({ length: 10 }, () => pickWithLoad(b))), { b: 10 });
      b.m.b.flags.C = true;
      const t = tally(Array.from({ length: N }, () => pickWithLoad(b)));
      assert.ok(Object.keys(t).every((r) => r === 'h1' || r === 'h2'), JSON.stringify(t));
    });

    test('hot spares only replace unusable members, one each', () => {
      const b = testBalancer(['a', 'b', ['r1', { status: '+R' }], ['r2', { status: '+R' }]], { lbmethod });
      assert.deepEqual(Object.keys(tally(Array.from({ length: N }, () => pickWithLoad(b)))).sort(), ['a', 'b']);
      b.m.a.flags.D = true;
      // One unusable member: the first usable spare may stand in, the second never.
      const t = tally(Array.from({ length: N }, () => pickWithLoad(b)));
      assert.deepEqual(Object.keys(t).sort(), ['b', 'r1']);
    });

    test('picks the sticky member whatever the scheduler would choose', () => {
      const b = testBalancer(['a', 'b', 'c'], { lbmethod, stickysession: '_s', nofailover: true });
      // Make "b" the worst candidate for every scheduler.
      b.m.b.busy = 50;
      b.m.b.bytesFrom = 1e9;
      b.m.b.lbstatus = -1000;
      for (let i = 0; i < 20; i++) assert.equal(b.who('/', '_s=x.b'), 'b');
      b.m.b.flags.D = true;
      assert.equal(b.who('/', '_s=x.b'), 'refused-nofailover');
    });

    test('a drained sticky member is still used for its sessions', () => {
      const b = testBalancer(['a', ['b', { status: '+N' }]], { lbmethod, stickysession: '_s', nofailover: true });
      for (let i = 0; i < 5; i++) assert.equal(b.who('/', '_s=x.b'), 'b');
    });

    test('answers none when no member is usable, and counts the refusal', () => {
      const b = testBalancer([['a', { status: '+D' }], ['b', { status: '+N' }], ['h', { status: '+H+S' }]], { lbmethod });
      assert.equal(b.who(), 'none');
      assert.equal(b.state.refused, 1);
    });

    test('elected counts every pick', () => {
      const b = testBalancer(['a', 'b'], { lbmethod });
      for (let i = 0; i < 10; i++) pickWithLoad(b);
      assert.equal(b.m.a.elected + b.m.b.elected, 10);
    });
  });
}
