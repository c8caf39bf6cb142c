// The manager's 15-minute history, sampled by hand: rates from the counters between samples, busy
// and live sessions as they are, old points dropped, removed members forgotten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { validateConfig } from '../../src/config/validate.js';
import { History } from '../../src/manager/api/history.js';

function setup() {
  const config = validateConfig({ balancers: { c: { members: [{ url: 'http://127.0.0.1:1', route: 'a' }, { url: 'http://127.0.0.1:2', route: 'b' }] } } });
  const runtime = new RuntimeState(config);
  const b = runtime.balancer('c')!;
  return { runtime, b, a: b.members[0], config };
}

test('history: answers and failures per second between samples, busy and sessions as sampled', () => {
  const { runtime, b, a } = setup();
  const h = new History(5000, 60_000);
  h.sample(runtime, 1_000_000);
  assert.deepEqual(h.view(runtime, 1_000_000).balancers[0].members[0].points, [], 'a rate needs two samples');
  for (let i = 0; i < 50; i++) b.countAnswer(a, 200);
  b.countAnswer(a, 503);
  b.markFailure(a, 'connection refused');
  a.busy = 3;
  h.sample(runtime, 1_005_000, (_b, m) => (m.route === 'a' ? 7 : undefined));
  const [pa, pb] = h.view(runtime, 1_005_000).balancers[0].members.map((m) => m.points);
  assert.deepEqual(pa, [{ t: 1_005_000, rps: 10.2, eps: 0.2, busy: 3, sessions: 7 }]);
  assert.deepEqual(pb, [{ t: 1_005_000, rps: 0, eps: 0, busy: 0 }]);
});

test('history: points older than the window are dropped; members a reload removed are forgotten', () => {
  const { runtime, config } = setup();
  const h = new History(5000, 20_000);
  for (let t = 0; t <= 60_000; t += 5000) h.sample(runtime, 1_000_000 + t);
  const points = h.view(runtime, 1_060_000).balancers[0].members[0].points;
  assert.deepEqual(points.map((p) => p.t - 1_000_000), [45_000, 50_000, 55_000, 60_000]);
  runtime.reload({ ...config, balancers: { c: { ...config.balancers.c, members: [config.balancers.c.members[1]] } } });
  h.sample(runtime, 1_065_000);
  const members = h.view(runtime, 1_065_000).balancers[0].members;
  assert.deepEqual(members.map((m) => [m.route, m.points.length]), [['b', 4]]);
});
