// Members found by DNS, against a real DNS server (dnsmasq on 127.0.0.1, a high port, the
// resolver setting pointed at it): StatefulSet-like SRV records whose targets name the routes. A
// name added joins with slow start, a name removed is drained (its sessions keep working) then
// removed, an address that changes moves the member, and with the DNS server gone the members
// stay; sessions on the surviving members keep working throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsmasq, type Dnsmasq, type SrvRecord } from '../helpers/dnsmasq.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { apiGet } from '../helpers/manager.js';

let dns: Dnsmasq;
const backends: Backend[] = [];
let lb: RunningBalancer;
const SRV = '_http._tcp.app.test';

async function backend(route: string, host = '127.0.0.1', port?: number): Promise<Backend> {
  const b = await startBackend({ name: `${route}@${host}`, route, host, port });
  backends.push(b);
  return b;
}

const srv = (...bs: Backend[]): SrvRecord[] => bs.map((b) => ({ name: SRV, target: `${b.route}.app.test`, port: b.port }));

before(async () => {
  const a0 = await backend('app-0');
  const a1 = await backend('app-1');
  dns = await startDnsmasq(['127.0.0.1 app-0.app.test', '127.0.0.1 app-1.app.test'], srv(a0, a1));
  lb = await startBalancer({
    resolver: { servers: [dns.server], timeout: 0.3 },
    balancers: { app: { stickysession: '_s', members: [], dns: { name: SRV, minTtl: 0.2, drainIdle: 1, drainMax: 20, member: { slowstart: 30 } } } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    manager: { path: '/balancer-manager' },
    metrics: { path: '/metrics' },
  });
});

after(async () => {
  await lb?.close();
  for (const b of backends) await b.close();
  await dns?.stop();
});

type Member = { route: string; url: string; hostname: string; flags: { N: boolean }; source?: string };

async function members(): Promise<Member[]> {
  return (await apiGet(lb.url, '/balancers/app')).members;
}

/** A session on the member with `route`: its cookie, checked to stick. */
async function sessionOn(route: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const r = await request(`${lb.url}/`);
    const cookie = String(r.headers['set-cookie'] ?? '').split(';')[0];
    if (cookie.endsWith(`.${route}`)) return cookie;
  }
  throw new Error(`no new session landed on ${route}`);
}

async function memberOf(cookie: string): Promise<string> {
  const r = await request(`${lb.url}/`, { headers: { Cookie: cookie } });
  assert.equal(r.status, 200, r.body);
  return r.headers['x-member'] as string;
}

test('members follow DNS: added, removed (drained, then gone), moved to a new address, and the last good list when DNS is gone [dns-members]', async () => {
  // The first lookup ran before the listener opened: both names are members, with their routes
  // from their names and their source.
  let ms = await members();
  assert.deepEqual(ms.map((m) => m.route).sort(), ['app-0', 'app-1']);
  for (const m of ms) assert.equal(m.source, `dns ${m.route}.app.test (${SRV})`);
  const s0 = await sessionOn('app-0');
  const s1 = await sessionOn('app-1');
  assert.equal(await memberOf(s0), 'app-0@127.0.0.1');

  // A name added: it joins, with slow start.
  const a2 = await backend('app-2');
  await dns.setHosts(['127.0.0.1 app-0.app.test', '127.0.0.1 app-1.app.test', '127.0.0.1 app-2.app.test']);
  await dns.restart(srv(backends[0], backends[1], a2));
  await until(async () => (await members()).some((m) => m.route === 'app-2'), 'app-2 joined', 15_000);
  const joined = lb.app.runtime.balancer('app')!.member('app-2')!;
  assert.ok(joined.isRamping(Date.now()), 'a new name joins with slow start');
  assert.equal(await memberOf(s0), 'app-0@127.0.0.1', 'sessions on the others keep working');

  // A name removed: drained (its sessions keep working, no new session goes there) …
  await dns.restart(srv(backends[0], a2));
  await until(async () => (await members()).find((m) => m.route === 'app-1')?.flags.N === true, 'app-1 drained', 15_000);
  assert.equal(await memberOf(s1), 'app-1@127.0.0.1', 'a drained member keeps its sessions');
  for (let i = 0; i < 10; i++) assert.notEqual((await request(`${lb.url}/`)).headers['x-member'], 'app-1@127.0.0.1', 'no new session to a drained member');
  // … then removed once idle.
  await until(async () => !(await members()).some((m) => m.route === 'app-1'), 'app-1 removed', 15_000);
  assert.equal(await memberOf(s0), 'app-0@127.0.0.1');

  // An address that changes (the pod came back elsewhere): the route moves to the new address.
  const moved = await backend('app-0', '127.0.0.2', backends[0].port);
  await dns.setHosts(['127.0.0.2 app-0.app.test', '127.0.0.1 app-2.app.test']);
  await until(async () => (await members()).find((m) => m.route === 'app-0')?.hostname === '127.0.0.2', 'app-0 at its new address', 15_000);
  ms = await members();
  assert.deepEqual(ms.map((m) => `${m.route} ${m.hostname}`).sort(), ['app-0 127.0.0.2', 'app-2 127.0.0.1']);
  assert.equal(await memberOf(s0), `app-0@127.0.0.2`, 'its sessions follow the route');
  assert.equal(moved.seen.length > 0, true);

  // The DNS server gone: lookups fail, the members stay, requests keep working.
  const s2 = await sessionOn('app-2');
  await dns.kill();
  await until(async () => (await apiGet(lb.url, '/discovery'))[0].error !== undefined, 'a failed lookup', 15_000);
  const view = (await apiGet(lb.url, '/discovery'))[0];
  assert.match(view.error, /127\.0\.0\.1:\d+: /);
  assert.deepEqual(view.found.map((f: { route: string }) => f.route).sort(), ['app-0', 'app-2']);
  assert.deepEqual((await members()).map((m) => m.route).sort(), ['app-0', 'app-2']);
  assert.equal(await memberOf(s2), 'app-2@127.0.0.1');
  assert.equal(await memberOf(s0), 'app-0@127.0.0.2');
  const metrics = (await request(`${lb.url}/metrics`)).body;
  assert.match(metrics, new RegExp(`^stickylb_dns_members\\{balancer="app",name="${SRV.replace(/\./g, '\\.')}"\\} 2$`, 'm'));
  assert.match(metrics, /^stickylb_dns_lookup_failures_total\{balancer="app",name="_http\._tcp\.app\.test"\} [1-9]/m);
  // The manager page has the card.
  const page = (await request(`${lb.url}/balancer-manager`)).body;
  assert.match(page, /Members found by DNS/);
  assert.match(page, /the last good list stays/);
});

test('members from the A records of a name: one per address, routed by address; an address that leaves is drained, then removed [dns-members]', async () => {
  const web3 = await backend('127-0-0-3', '127.0.0.3');
  const web4 = await backend('127-0-0-4', '127.0.0.4', web3.port);
  const dnsA = await startDnsmasq(['127.0.0.3 web.test', '127.0.0.4 web.test'], []);
  try {
    const web = await startBalancer({
      resolver: { servers: [dnsA.server], timeout: 0.3 },
      balancers: { web: { stickysession: '_s', members: [], dns: { name: 'web.test', port: web3.port, minTtl: 0.2, drainIdle: 1 } } },
      proxyPass: [{ path: '/', to: 'balancer://web/' }],
      manager: { path: '/balancer-manager' },
    });
    try {
      const list = async () => (await apiGet(web.url, '/balancers/web')).members as Member[];
      assert.deepEqual((await list()).map((m) => `${m.route} ${m.url}`).sort(), [`127-0-0-3 ${web3.url}`, `127-0-0-4 ${web4.url}`]);
      let cookie = '';
      for (let i = 0; i < 20 && !cookie.endsWith('.127-0-0-4'); i++) cookie = String((await request(`${web.url}/`)).headers['set-cookie'] ?? '').split(';')[0];
      assert.ok(cookie.endsWith('.127-0-0-4'), 'a session on 127.0.0.4');
      await dnsA.setHosts(['127.0.0.3 web.test']);
      await until(async () => (await list()).find((m) => m.route === '127-0-0-4')?.flags.N === true, '127.0.0.4 drained', 10_000);
      assert.equal((await request(`${web.url}/`, { headers: { Cookie: cookie } })).headers['x-member'], '127-0-0-4@127.0.0.4', 'its session still works');
      await until(async () => (await list()).length === 1, '127.0.0.4 removed once idle', 10_000);
    } finally {
      await web.close();
    }
  } finally {
    await dnsA.stop();
  }
});
