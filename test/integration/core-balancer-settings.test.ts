// Balancer and site settings over real sockets: failonstatus, failontimeout, maxattempts, the
// balancer timeout, routecookie, balancerheaders, ProxyPreserveHost, ProxyPassReverse, and the
// runtime counters the manager shows.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackend, deadPort, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import type { RawConfig } from '../../src/config/schema.js';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function backend(name: string, route = name, handler?: Parameters<typeof startBackend>[0]['handler']): Promise<Backend> {
  const b = await startBackend({ name, route, handler });
  cleanup.push(() => b.close());
  return b;
}

async function balancer(raw: RawConfig): Promise<RunningBalancer> {
  const lb = await startBalancer(raw);
  cleanup.push(() => lb.close());
  return lb;
}

/** Answers with the status named in the path (`/status/503`), saying who answered. */
const statusHandler = (name: string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
  const m = /^\/status\/(\d{3})/.exec(req.url ?? '');
  res.writeHead(m ? Number(m[1]) : 200, { 'X-Member': name, 'Content-Type': 'text/plain' });
  res.end(name);
};

test('failonstatus: the answer reaches the client, then the member is in error', async () => {
  const a = await backend('a', 'a', statusHandler('a'));
  const b = await backend('b', 'b', statusHandler('b'));
  const lb = await balancer({
    balancers: { c: { failonstatus: [503, 500], members: [{ url: a.url, route: 'a' }, { url: b.url, route: 'b' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const state = lb.app.runtime.balancer('c')!;
  const r = await request(`${lb.url}/status/503`);
  assert.equal(r.status, 503);
  assert.equal(r.headers['x-member'], 'a');
  assert.equal(r.body, 'a');
  const ma = state.member('a')!;
  assert.equal(ma.flags.E, true);
  assert.equal(ma.errorCause, 'status 503');
  for (let i = 0; i < 4; i++) assert.equal((await request(`${lb.url}/`)).headers['x-member'], 'b');
  // Other statuses do not count.
  const r2 = await request(`${lb.url}/status/502`);
  assert.equal(r2.status, 502);
  assert.equal(state.member('b')!.flags.E, false);
});

test('failontimeout: a member that does not answer in time is put in error', async () => {
  const slow = await backend('slow', 'slow', () => {
    // Never answers.
  });
  const fast = await backend('fast', 'fast', statusHandler('fast'));
  const lb = await balancer({
    balancers: { c: { failontimeout: true, members: [{ url: slow.url, route: 'slow', timeout: '150ms' }, { url: fast.url, route: 'fast' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const r = await request(`${lb.url}/x`);
  assert.equal(r.status, 504);
  const m = lb.app.runtime.balancer('c')!.member('slow')!;
  assert.equal(m.flags.E, true);
  assert.equal(m.errorCause, 'timeout');
  for (let i = 0; i < 3; i++) assert.equal((await request(`${lb.url}/`)).headers['x-member'], 'fast');
  await until(() => m.busy === 0, 'busy back to 0');
});

test('maxattempts bounds failover; the default (members - 1) reaches the live member', async () => {
  const live = await backend('live', 'live', statusHandler('live'));
  const deads = [await deadPort(), await deadPort(), await deadPort()].map((p, i) => ({ url: `http://127.0.0.1:${p}`, route: `dead${i}` }));
  const members = [...deads, { url: live.url, route: 'live' }];
  const bounded = await balancer({ balancers: { c: { maxattempts: 1, members } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const r = await request(`${bounded.url}/`);
  assert.equal(r.status, 503);
  const s = bounded.app.runtime.balancer('c')!;
  assert.deepEqual(s.members.map((m) => m.errors), [1, 1, 0, 0]);
  assert.equal(live.seen.length, 0);

  const open = await balancer({ balancers: { c: { members } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const r2 = await request(`${open.url}/`);
  assert.equal(r2.status, 200);
  assert.equal(r2.headers['x-member'], 'live');
  assert.deepEqual(open.app.runtime.balancer('c')!.members.map((m) => m.errors), [1, 1, 1, 0]);

  const none = await balancer({ balancers: { c: { maxattempts: 0, members } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  assert.equal((await request(`${none.url}/`)).status, 503);
  assert.deepEqual(none.app.runtime.balancer('c')!.members.map((m) => m.errors), [1, 0, 0, 0]);
});

test('balancer timeout: a request waits for a member to become usable', async () => {
  const a = await backend('a', 'a', statusHandler('a'));
  const lb = await balancer({
    balancers: { c: { timeout: 5, members: [{ url: a.url, route: 'a', status: '+D' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const state = lb.app.runtime.balancer('c')!;
  const pending = request(`${lb.url}/wait`);
  await until(() => lb.app.server.stats().inFlight === 1, 'the request to wait');
  state.setFlag(state.member('a')!, 'D', false, 'test');
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-member'], 'a');
  assert.equal(state.refused, 0, 'a request that waited and was served was not refused');
});

test('balancer timeout: 503 once the timeout passes with no usable member, counted once', async () => {
  const lb = await balancer({
    balancers: { c: { timeout: '300ms', members: [{ url: `http://127.0.0.1:${await deadPort()}`, route: 'a', status: '+D' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const t0 = Date.now();
  const r = await request(`${lb.url}/wait`);
  assert.equal(r.status, 503);
  assert.ok(Date.now() - t0 >= 290, `answered after ${Date.now() - t0} ms`);
  assert.equal(lb.app.runtime.balancer('c')!.refused, 1);
});

test('routecookie: ROUTEID=.<route> is set when the route changed, not on sticky hits', async () => {
  const first = await backend('first', 'first', statusHandler('first'));
  const second = await backend('second', 'second', statusHandler('second'));
  const lb = await balancer({
    balancers: {
      c: {
        stickysession: 'ROUTEID',
        routecookie: 'ROUTEID',
        members: [
          { url: first.url, route: 'first' },
          { url: second.url, route: 'second' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const r = await request(`${lb.url}/`);
  assert.equal(r.headers['x-member'], 'first');
  assert.deepEqual(r.headers['set-cookie'], ['ROUTEID=.first; Path=/; HttpOnly']);
  for (let i = 0; i < 4; i++) {
    const s = await request(`${lb.url}/`, { headers: { Cookie: 'ROUTEID=.first' } });
    assert.equal(s.headers['x-member'], 'first');
    assert.equal(s.headers['set-cookie'], undefined);
  }
  const state = lb.app.runtime.balancer('c')!;
  state.setFlag(state.member('first')!, 'D', true, 'test');
  const moved = await request(`${lb.url}/`, { headers: { Cookie: 'ROUTEID=.first' } });
  assert.equal(moved.headers['x-member'], 'second');
  assert.deepEqual(moved.headers['set-cookie'], ['ROUTEID=.second; Path=/; HttpOnly']);
});

test('routecookie without stickysession is never set (no route is ever looked for)', async () => {
  const a = await backend('a', 'a', statusHandler('a'));
  const lb = await balancer({
    balancers: { c: { routecookie: 'ROUTEID', members: [{ url: a.url, route: 'a' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  for (let i = 0; i < 2; i++) assert.equal((await request(`${lb.url}/`)).headers['set-cookie'], undefined);
});

test('balancerheaders: the backend sees the balancing outcome as X-Stickylb-* headers', async () => {
  const first = await backend('first');
  const second = await backend('second');
  const lb = await balancer({
    balancers: {
      mycluster: {
        stickysession: '_s|_s',
        balancerheaders: true,
        members: [
          { url: first.url, route: 'first' },
          { url: second.url, route: 'second' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://mycluster/' }],
  });
  const sticky = (await request(`${lb.url}/?_s=abc.second`, { headers: { 'X-Stickylb-Route': 'forged' } })).json().headers;
  assert.equal(sticky['x-stickylb-balancer'], 'mycluster');
  assert.equal(sticky['x-stickylb-member'], second.url);
  assert.equal(sticky['x-stickylb-route'], 'second');
  assert.equal(sticky['x-stickylb-session-sticky'], '_s');
  assert.equal(sticky['x-stickylb-session-route'], 'second');
  assert.equal(sticky['x-stickylb-route-changed'], undefined);
  const fresh = (await request(`${lb.url}/`)).json().headers;
  assert.equal(fresh['x-stickylb-session-route'], undefined);
  assert.equal(fresh['x-stickylb-route-changed'], '1');
  // Without the setting nothing is added.
  const plain = await balancer({ balancers: { c: { members: [{ url: first.url, route: 'first' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const h = (await request(`${plain.url}/`, { headers: { 'X-Stickylb-Route': 'forged' } })).json().headers;
  assert.deepEqual(Object.keys(h).filter((k) => k.startsWith('x-stickylb')), []);
});

test('ProxyPreserveHost sends the client Host; X-Forwarded-* are ours, a client\'s own X-Forwarded-For is not passed on [forwarded-trust]', async () => {
  const a = await backend('a');
  const keep = await balancer({ preserveHost: true, serverName: 'lb.example.org', balancers: { c: { members: [{ url: a.url, route: 'a' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const h = (await request(`${keep.url}/`, { headers: { Host: 'www.example.org', 'X-Forwarded-For': '203.0.113.9' } })).json().headers;
  assert.equal(h.host, 'www.example.org');
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-forwarded-host'], 'www.example.org');
  assert.equal(h['x-forwarded-server'], 'lb.example.org');
  const plain = await balancer({ balancers: { c: { members: [{ url: a.url, route: 'a' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const h2 = (await request(`${plain.url}/`, { headers: { Host: 'www.example.org' } })).json().headers;
  assert.equal(h2.host, `127.0.0.1:${a.port}`);
  assert.equal(h2['x-forwarded-host'], 'www.example.org');
});

test('ProxyPassReverse and cookie path rewriting on real answers', async () => {
  const a = await backend('a', 'a', (req, res) => {
    res.writeHead(302, { Location: `http://127.0.0.1:${a.port}/app/landing?x=1`, 'Set-Cookie': '_s=abc.a; Path=/app' });
    res.end();
  });
  const lb = await balancer({
    balancers: { c: { members: [{ url: a.url, route: 'a' }] } },
    proxyPass: [{ path: '/shop', to: 'balancer://c/app' }],
    proxyPassReverse: [{ path: '/shop', to: 'balancer://c/app' }],
    cookiePath: [{ from: '/app', to: '/shop' }],
  });
  const r = await request(`${lb.url}/shop/cart`, { headers: { Host: 'www.example.org:8080' } });
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, 'http://www.example.org:8080/shop/landing?x=1');
  assert.deepEqual(r.headers['set-cookie'], ['_s=abc.a; Path=/shop']);
  assert.equal(a.seen[a.seen.length - 1].url, '/app/cart');
});

test('runtime counters: elected, busy back to 0, bytes to and from, errors, responses', async () => {
  const a = await backend('a', 'a', (_req, res, body) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(Buffer.concat([body, body]));
  });
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const lb = await balancer({
    balancers: { c: { members: [{ url: dead, route: 'dead' }, { url: a.url, route: 'a' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const state = lb.app.runtime.balancer('c')!;
  const agent = new http.Agent({ keepAlive: true });
  try {
    const results = await Promise.all(Array.from({ length: 10 }, () => request(`${lb.url}/count`, { method: 'POST', body: 'x'.repeat(100), agent })));
    assert.ok(results.every((r) => r.status === 200 && r.body.length === 200));
  } finally {
    agent.destroy();
  }
  const ma = state.member('a')!;
  const md = state.member('dead')!;
  await until(() => ma.busy === 0 && md.busy === 0, 'busy back to 0');
  assert.equal(ma.bytesTo, 1000);
  assert.equal(ma.bytesFrom, 2000);
  assert.equal(ma.responses['2xx'], 10);
  assert.equal(ma.errors, 0);
  assert.ok(md.errors >= 1);
  assert.equal(md.flags.E, true);
  // Each request elects one member per attempt: 10 on a, plus the dead member's tries.
  assert.equal(ma.elected, 10);
  assert.equal(md.elected, md.errors);
  assert.equal(md.bytesTo, 0);
});
