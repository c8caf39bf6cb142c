// A rolling restart is one operation of the fleet: three stickylb processes on a real
// redis-server. A rollout started on one balancer drains the node on all of them and waits until
// it is idle on every one (sessions still busy on another balancer hold it); a second rollout
// started on another balancer meanwhile is refused with the reason; when the balancer holding the
// lock is killed, the lock's lease runs out and another balancer can start one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../helpers/redis.js';
import { startBackend } from '../helpers/backends.js';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { request, until } from '../helpers/http.js';
import { apiGet, apiSend } from '../helpers/manager.js';

const dir = mkdtempSync(join(tmpdir(), 'stickylb-fleet-rolling-'));
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

interface Lb {
  id: string;
  url: string;
  proc: NodeProcess;
}

async function startLb(id: string, redis: string, members: string): Promise<Lb> {
  const file = join(dir, `${id}.yaml`);
  writeFileSync(
    file,
    [
      'listen: ["127.0.0.1:0"]',
      'errorLog: { level: warn, format: text }',
      `fleet: { redis: "${redis}", name: shop, id: ${id}, heartbeat: 0.25, peerTimeout: 2, lease: 3 }`,
      'persist: false',
      `balancers: { app: { stickysession: _s, members: ${members} } }`,
      'proxyPass: [ { path: /, to: "balancer://app/" } ]',
      'manager: { path: /balancer-manager }',
      '',
    ].join('\n'),
  );
  const proc = startCli(['run', '-c', file]);
  cleanup.push(() => proc.stop('SIGKILL', 5000));
  const m = await proc.waitFor(/stickylb listening on (http:\/\/\S+)/, 30_000);
  return { id, url: m[1], proc };
}

async function rollout(lb: Lb, body: Record<string, unknown>) {
  const nonce = (await apiGet(lb.url)).balancers[0].nonce;
  return apiSend(lb.url, 'POST', '/rolling', { nonce, balancer: 'app', ...body });
}

async function drained(lb: Lb, route: string): Promise<boolean> {
  return (await apiGet(lb.url, `/balancers/app/members/${route}`)).flags.N;
}

test('one rollout at a time across the fleet: drained on every balancer, idle on every balancer, a second one refused, the lock of a dead balancer expires', async () => {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const one = await startBackend({ name: 'one' });
  const two = await startBackend({ name: 'two' });
  cleanup.push(() => one.close(), () => two.close());
  const members = `[ { url: "${one.url}", route: one }, { url: "${two.url}", route: two } ]`;
  const lbs = [await startLb('lb1', redis.url, members), await startLb('lb2', redis.url, members), await startLb('lb3', redis.url, members)];
  const [lb1, lb2, lb3] = lbs;
  for (const lb of lbs) await until(async () => (await apiGet(lb.url, '/fleet')).balancers.filter((b: { live: boolean }) => b.live).length === 3, `${lb.id} sees 3 balancers`, 20_000);

  // Sessions of member one keep coming through lb3 while the rollout starts on lb1.
  let busy = true;
  const sticky = (async () => {
    while (busy) assert.equal((await request(`${lb3.url}/`, { headers: { Cookie: '_s=s1.one' } })).status, 200);
  })();

  let r = await rollout(lb1, { routes: ['one'], idle: '1s', hook: 'sleep 5' });
  assert.equal(r.status, 202, r.body);
  // The node is drained on every balancer.
  for (const lb of lbs) await until(() => drained(lb, 'one'), `one drained on ${lb.id}`, 5000);

  // A second rollout started elsewhere is refused, with the reason.
  r = await rollout(lb2, { routes: ['two'], idle: '1s' });
  assert.equal(r.status, 409, r.body);
  assert.match(r.json().error, /^a rolling restart of balancer app is already running on lb1 \(127\.0\.0\.1:\d+\), started .*: one rollout at a time across the fleet/);
  const fleetState = await apiGet(lb2.url, '/rolling');
  assert.equal(fleetState.fleet.holder, 'lb1');
  assert.equal(fleetState.fleet.here, false);

  // Idle means idle on every balancer: while lb3 still sees its sessions, lb1 waits.
  const waitStarted = Date.now();
  await until(async () => Date.now() - waitStarted > 2500, 'more than the idle window with traffic on lb3', 5000);
  const during = await apiGet(lb1.url, '/rolling');
  assert.equal(during.current.step, 'wait-idle', JSON.stringify(during.current));
  assert.match(during.events.at(-1).message, /counting every balancer of the fleet/);
  busy = false;
  await sticky;
  await until(async () => (await apiGet(lb1.url, '/rolling')).current?.step === 'restart-hook', 'idle everywhere: the restart begins', 15_000);

  // The lock holder dies in the middle: the lock stays until its lease runs out, then lb2 may start.
  lb1.proc.child.kill('SIGKILL');
  await lb1.proc.exited;
  r = await rollout(lb2, { routes: ['one'], idle: '0.2s', hook: 'true', force: true });
  assert.equal(r.status, 409, r.body);
  assert.match(r.json().error, /already running on lb1 .*its lease runs out in \d+s unless lb1 renews it/);
  await until(async () => (r = await rollout(lb2, { routes: ['one'], idle: '0.2s', hook: 'true', force: true })).status === 202, 'the lease runs out', 15_000);
  // lb2's rollout finishes: member one is enabled again on every live balancer.
  await until(async () => (await apiGet(lb2.url, '/rolling')).summary?.ok === true, 'lb2\'s rollout done', 30_000);
  for (const lb of [lb2, lb3]) await until(async () => !(await drained(lb, 'one')), `one undrained on ${lb.id}`, 5000);
});
