// A manager change to a member found by DNS belongs to its name, not to its address: against a
// real DNS server (dnsmasq, its hosts file changed as a rescheduled pod changes its address), a
// drained StatefulSet-like member stays drained at its new address, in the state file of one
// balancer (also across a restart) and in the shared entries of a fleet on a real redis-server
// (on every balancer, and on one that joins after the move).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { request, until } from '../helpers/http.js';
import { apiGet, apiSend } from '../helpers/manager.js';
import type { RawConfig } from '../../src/config/schema.js';
import { PERSIST } from '../../src/manager/persist/persist-plugin.js';
import { memoryLogger, type Logger } from '../../src/log/logger.js';

const backends: Backend[] = [];
const servers: Dnsmasq[] = [];
const running: RunningBalancer[] = [];
let redis: RedisServer | undefined;

before(async () => {
  redis = await startRedis();
});

after(async () => {
  for (const lb of running) await lb.close();
  for (const b of backends) await b.close();
  for (const d of servers) await d.stop();
  await redis?.stop();
});

async function backend(route: string, host: string, port?: number): Promise<Backend> {
  const b = await startBackend({ name: `${route}@${host}`, route, host, port });
  backends.push(b);
  return b;
}

/** Two StatefulSet-like pods `NAME-0` and `NAME-1` on 127.0.0.1, found through SRV records. */
async function pods(name: string): Promise<{ dns: Dnsmasq; srv: string; pod0: Backend; pod1: Backend }> {
  const pod0 = await backend(`${name}-0`, '127.0.0.1');
  const pod1 = await backend(`${name}-1`, '127.0.0.1');
  const srv = `_http._tcp.${name}.test`;
  const dns = await startDnsmasq(
    [`127.0.0.1 ${name}-0.${name}.test`, `127.0.0.1 ${name}-1.${name}.test`],
    [pod0, pod1].map((b) => ({ name: srv, target: `${b.route}.${name}.test`, port: b.port })),
  );
  servers.push(dns);
  return { dns, srv, pod0, pod1 };
}

function config(dns: Dnsmasq, srv: string, extra: Partial<RawConfig> = {}): RawConfig {
  return {
    resolver: { servers: [dns.server], timeout: 0.3 },
    balancers: { app: { stickysession: '_s', members: [], dns: { name: srv, minTtl: 0.2, drainIdle: 1, drainMax: 20 } } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    manager: { path: '/balancer-manager' },
    ...extra,
  };
}

async function start(raw: RawConfig, logger?: Logger): Promise<RunningBalancer> {
  const lb = await startBalancer(raw, logger ? { logger } : {});
  running.push(lb);
  return lb;
}

type Member = { route: string; hostname: string; flags: { N: boolean }; changedAtRuntime: string[] };

async function member(lb: RunningBalancer, route: string): Promise<Member | undefined> {
  return ((await apiGet(lb.url, '/balancers/app')).members as Member[]).find((m) => m.route === route);
}

async function drain(lb: RunningBalancer, route: string, on = true) {
  const nonce = (await apiGet(lb.url)).balancers[0].nonce as string;
  const r = await apiSend(lb.url, 'POST', `/balancers/app/members/${route}/${on ? 'drain' : 'undrain'}`, {}, { 'X-Stickylb-Nonce': nonce });
  assert.equal(r.status, 200, r.body);
  return r.json();
}

/** A new session's member (no cookie). */
async function newSession(lb: RunningBalancer): Promise<string> {
  const r = await request(`${lb.url}/`);
  assert.equal(r.status, 200, r.body);
  return r.headers['x-member'] as string;
}

async function sessionOn(lb: RunningBalancer, route: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const cookie = String((await request(`${lb.url}/`)).headers['set-cookie'] ?? '').split(';')[0];
    if (cookie.endsWith(`.${route}`)) return cookie;
  }
  throw new Error(`no new session landed on ${route}`);
}

test('one balancer: a drained member found by DNS stays drained at its new address, in the state file by its name, and after a restart [dns-identity]', async () => {
  const { dns, srv, pod0 } = await pods('app');
  const file = join(mkdtempSync(join(tmpdir(), 'stickylb-dns-state-')), 'state.json');
  const raw = config(dns, srv, { persist: { file } });
  const log = memoryLogger('info');
  let lb = await start(raw, log.logger);
  const identity = `dns:app-0.app.test:${pod0.port}`;
  const session = await sessionOn(lb, 'app-0');
  await drain(lb, 'app-0');
  await lb.app.get(PERSIST)!.flush();
  const saved = () => JSON.parse(readFileSync(file, 'utf8')).balancers.app;
  assert.deepEqual(saved().found, { [identity]: { 'status.N': { value: true, overrode: false } } }, 'saved by its name and port, not its address');
  assert.deepEqual(saved().members, {});

  // The pod comes back at another address, on the same port.
  const moved = await backend('app-0', '127.0.0.2', pod0.port);
  await dns.setHosts(['127.0.0.2 app-0.app.test', '127.0.0.1 app-1.app.test']);
  await until(async () => (await member(lb, 'app-0'))?.hostname === '127.0.0.2', 'app-0 at 127.0.0.2', 15_000);
  const m = (await member(lb, 'app-0'))!;
  assert.equal(m.flags.N, true, 'the drain followed the name to its new address');
  assert.deepEqual(m.changedAtRuntime, ['status.N']);
  const said = log.lines.map((l) => String(l.msg)).find((x) => x.startsWith('balancer app: DNS') && x.includes('app-0 is at 127.0.0.2 now'));
  assert.match(said ?? '', new RegExp(`127\\.0\\.0\\.2:${pod0.port} route app-0 joins with the settings kept for ${identity} \\(status\\.N on\\)`), log.lines.map((l) => l.msg).join('\n'));
  for (let i = 0; i < 10; i++) assert.equal(await newSession(lb), 'app-1@127.0.0.1', 'no new session to the drained member');
  const sticky = await request(`${lb.url}/`, { headers: { Cookie: session } });
  assert.equal(sticky.headers['x-member'], 'app-0@127.0.0.2', 'its sessions follow the route to the new address');
  assert.ok(moved.seen.length > 0);
  await lb.app.get(PERSIST)!.flush();
  assert.deepEqual(saved().found, { [identity]: { 'status.N': { value: true, overrode: false } } });

  // A restart: the state file's drain applies to the name wherever DNS finds it, before the first request.
  await lb.close();
  running.splice(running.indexOf(lb), 1);
  const again = memoryLogger('info');
  lb = await start(raw, again.logger);
  const after = (await member(lb, 'app-0'))!;
  assert.equal(after.hostname, '127.0.0.2');
  assert.equal(after.flags.N, true);
  for (let i = 0; i < 6; i++) assert.equal(await newSession(lb), 'app-1@127.0.0.1');
  assert.ok(again.lines.some((l) => String(l.msg).endsWith(`member ${identity} (found by DNS): status.N true, once it is found`)), again.lines.map((l) => l.msg).join('\n'));

  // Undrained in the manager: the file says so.
  await drain(lb, 'app-0', false);
  await lb.app.get(PERSIST)!.flush();
  assert.deepEqual(saved().found, { [identity]: { 'status.N': { value: false, overrode: false } } });
});

test('a fleet: a drain of a member found by DNS is shared under its name, and follows it to a new address on every balancer, and on one that joins later [dns-identity]', async () => {
  const { dns, srv, pod0 } = await pods('web');
  const fleet = (id: string): Partial<RawConfig> => ({ fleet: { redis: redis!.url, name: 'dns-identity', id, heartbeat: 0.2, peerTimeout: 2 }, persist: false });
  const lb1 = await start(config(dns, srv, fleet('lb1')));
  const lb2 = await start(config(dns, srv, fleet('lb2')));
  for (const lb of [lb1, lb2]) await until(async () => (await apiGet(lb.url, '/fleet')).balancers.filter((b: { live: boolean }) => b.live).length === 2, 'both balancers live', 10_000);
  const answer = await drain(lb1, 'web-0');
  assert.equal(answer.fleet.stored, true);
  assert.deepEqual(answer.fleet.applied.map((a: { id: string }) => a.id).sort(), ['lb1', 'lb2']);
  const identity = `dns:web-0.web.test:${pod0.port}`;
  const keys = await redis!.command('HKEYS', 'stickylb:dns-identity:state');
  assert.ok(keys.includes(JSON.stringify(['m', 'app', identity, 'status.N'])), `the shared entry is keyed by the name: ${keys}`);
  assert.ok(!keys.includes('127.0.0.1'), `not by the address: ${keys}`);
  assert.equal((await member(lb2, 'web-0'))!.flags.N, true);

  // The pod moves: both balancers find it at its new address, drained.
  await backend('web-0', '127.0.0.2', pod0.port);
  await dns.setHosts(['127.0.0.2 web-0.web.test', '127.0.0.1 web-1.web.test']);
  for (const lb of [lb1, lb2]) {
    await until(async () => (await member(lb, 'web-0'))?.hostname === '127.0.0.2', 'web-0 at 127.0.0.2', 15_000);
    assert.equal((await member(lb, 'web-0'))!.flags.N, true);
    for (let i = 0; i < 6; i++) assert.equal(await newSession(lb), 'web-1@127.0.0.1');
  }

  // A balancer that joins now never saw the old address: the fleet's entry drains the name.
  const lb3 = await start(config(dns, srv, fleet('lb3')));
  await until(async () => (await member(lb3, 'web-0'))?.flags.N === true, 'web-0 drained on the late balancer', 10_000);
  assert.equal((await member(lb3, 'web-0'))!.hostname, '127.0.0.2');

  // Undrained on the late balancer: every balancer follows.
  await drain(lb3, 'web-0', false);
  for (const lb of [lb1, lb2, lb3]) await until(async () => (await member(lb, 'web-0'))?.flags.N === false, 'web-0 undrained everywhere', 5_000);
});
