// Rolling restarts with real node processes started by the launcher, under a bounded load of
// clients with live sessions.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { deadPort as freePort } from '../helpers/backends.js';
import { MiniBrowser } from '../helpers/mini-browser.js';
import { launcherPlugin } from '../../src/launcher/launcher.js';
import { RollingRestart } from '../../src/rolling/rolling-restart.js';
import type { RawBalancer, RawConfig } from '../../src/config/schema.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const SLOW_NODE = join(ROOT, 'test/fixtures/apps/slow-node.mjs');
const DEMO_NODE = [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'demo-node'];

const running: RunningBalancer[] = [];
after(async () => {
  for (const r of running) await r.close();
});

async function cluster(command: string[], extra: Partial<RawBalancer> = {}, env: Record<string, string> = {}) {
  const plugin = launcherPlugin({ output: () => {} });
  const raw: RawConfig = {
    nodes: { command, cwd: ROOT, env, list: [{ route: 'first', port: await freePort() }, { route: 'second', port: await freePort() }], balancer: 'c' },
    balancers: { c: { stickysession: '_s|_s', nofailover: true, members: [], ...extra } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  };
  const lb = await startBalancer(raw, { plugins: [plugin] });
  running.push(lb);
  return { lb, launcher: plugin.launcher! };
}

test('rolling restart of the demo app under load: no failed request, no session lost', async () => {
  const { lb } = await cluster(DEMO_NODE);
  const rolling = new RollingRestart(lb.app, { idleMs: 400, maxWaitMs: 30_000, pollMs: 25, healthyTimeoutMs: 30_000 });
  const failures: string[] = [];
  const clients: { route: string; drainingAtStart?: string; clicks: number; count?: string }[] = [];
  const CLICKS = 8;

  // One client: a new session, CLICKS increments, then it goes away (its session idles out).
  async function client(): Promise<void> {
    const current = rolling.current;
    const draining = current && (current.step === 'drain' || current.step === 'wait-idle') ? current.route : undefined;
    const b = new MiniBrowser(lb.url, { cookies: false });
    const record: (typeof clients)[number] = { route: '', drainingAtStart: draining, clicks: 0 };
    clients.push(record);
    try {
      let p = await b.go('/');
      if (p.status !== 200) throw new Error(`GET / → ${p.status}`);
      record.route = b.bodyData('route')!;
      p = await b.clickText('Counter');
      for (let i = 0; i < CLICKS; i++) {
        p = await b.click('increment');
        if (p.status !== 200) throw new Error(`increment → ${p.status}`);
        if (b.bodyData('route') !== record.route) throw new Error(`session moved from ${record.route} to ${b.bodyData('route')}`);
        record.clicks++;
      }
      record.count = b.text('count');
    } catch (e) {
      failures.push((e as Error).message);
    }
  }

  // A bounded load: 3 concurrent client loops until the rollout is over (at most 400 clients).
  let stop = false;
  const loops = Array.from({ length: 3 }, async () => {
    while (!stop && clients.length < 400) await client();
  });
  await until(() => clients.length >= 6, 'clients running');
  const summary = await rolling.run();
  stop = true;
  await Promise.all(loops);

  assert.deepEqual(failures, [], 'no client saw a failure');
  assert.equal(summary.ok, true, summary.message);
  assert.deepEqual(summary.nodes.map((n) => [n.route, n.ok, n.idleBy]), [
    ['first', true, 'idle-window'],
    ['second', true, 'idle-window'],
  ]);
  assert.deepEqual(summary.notEnabled, []);
  // Every session kept its state to the end.
  for (const c of clients) assert.equal(c.count, String(CLICKS), `client on ${c.route} kept its counter`);
  // New sessions during a drain went to the other node.
  const duringDrain = clients.filter((c) => c.drainingAtStart);
  assert.ok(duringDrain.length > 0, 'some clients started while a node was draining');
  for (const c of duringDrain) assert.notEqual(c.route, c.drainingAtStart);
  // Both restarted nodes serve new sessions afterwards. byrequests counts the sticky traffic of
  // the load too, so the node that carried more of it may wait a while for its next new session.
  const routes = new Set<string>();
  for (let i = 0; i < 300 && routes.size < 2; i++) {
    const r = await request(`${lb.url}/`);
    assert.equal(r.status, 200);
    routes.add(/data-route="([^"]+)"/.exec(r.body)?.[1] ?? '');
  }
  assert.deepEqual([...routes].sort(), ['first', 'second']);
  // Progress was reported step by step.
  const steps = rolling.events.filter((e) => e.route === 'first').map((e) => e.step);
  for (const s of ['drain', 'wait-idle', 'stop', 'start', 'wait-healthy', 'enable']) assert.ok(steps.includes(s as never), `step ${s} reported`);
});

test('slow start after the restart is visible in the pick shares', async () => {
  const { lb } = await cluster([process.execPath, SLOW_NODE], { slowstart: '30s' });
  const summary = await new RollingRestart(lb.app, { idleMs: 100, maxWaitMs: 5000, routes: ['first'], pollMs: 20 }).run();
  assert.equal(summary.ok, true, summary.message);
  const member = lb.app.runtime.balancer('c')!.member('first')!;
  assert.ok(member.isRamping(Date.now()), 'the restarted member ramps up');
  const counts: Record<string, number> = { first: 0, second: 0 };
  for (let i = 0; i < 60; i++) counts[(await request(`${lb.url}/`)).json().route]++;
  // At the start of a 30 s ramp the member has about a tenth of its weight.
  assert.ok(counts.first > 0 && counts.first <= 15, `first took ${counts.first} of 60 new sessions while ramping`);
});

test('abort in the middle leaves every node enabled', async () => {
  const { lb } = await cluster([process.execPath, SLOW_NODE]);
  const rolling = new RollingRestart(lb.app, { idleMs: 60_000, maxWaitMs: 60_000, pollMs: 20 });
  const done = rolling.run();
  await until(() => rolling.current?.step === 'wait-idle', 'first node draining');
  const b = lb.app.runtime.balancer('c')!;
  assert.equal(b.member('first')!.flags.N, true);
  rolling.abort();
  const summary = await done;
  assert.equal(summary.aborted, true);
  assert.deepEqual(summary.notEnabled, []);
  assert.match(summary.message, /aborted after \d of 2 member\(s\); every member is enabled/);
  for (const m of b.members) assert.equal(m.isUsable() && !m.flags.N, true, `${m.route} enabled`);
  const routes = new Set<string>();
  for (let i = 0; i < 6; i++) routes.add((await request(`${lb.url}/`)).json().route);
  assert.deepEqual([...routes].sort(), ['first', 'second']);
});

test('a node whose new version fails its health check stops the rollout; the other keeps serving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-rolling-'));
  const marker = join(dir, 'broken');
  const { lb } = await cluster([process.execPath, SLOW_NODE], {}, { BROKEN_IF_EXISTS: marker });
  writeFileSync(marker, 'the next build is broken');
  const rolling = new RollingRestart(lb.app, { idleMs: 100, maxWaitMs: 5000, healthyTimeoutMs: 1500, pollMs: 20 });
  const summary = await rolling.run();
  assert.equal(summary.ok, false);
  assert.match(summary.message, /first did not come back; the other members keep serving/);
  assert.equal(summary.nodes.length, 1);
  assert.deepEqual(summary.notEnabled.map((n) => n.route), ['first']);
  assert.ok(rolling.events.some((e) => e.step === 'failed' && /did not pass its health check/.test(e.message)));
  const b = lb.app.runtime.balancer('c')!;
  assert.equal(b.member('second')!.flags.N, false, 'the second node was never drained');
  for (let i = 0; i < 10; i++) {
    const r = await request(`${lb.url}/`);
    assert.equal(r.status, 200);
    assert.equal(r.json().route, 'second');
  }
});
