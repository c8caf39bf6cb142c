// The seed's scenario end to end: two Seaside-like nodes issuing `_s` ids ending `.first` and
// `.second`, a balancer with `stickysession: "_s|_s"` and `nofailover: true`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';

let first: Backend;
let second: Backend;
let lb: RunningBalancer;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

before(async () => {
  first = await startBackend({ name: 'node1', route: 'first' });
  second = await startBackend({ name: 'node2', route: 'second' });
  lb = await startBalancer({
    preserveHost: true,
    balancers: {
      mycluster: {
        stickysession: '_s|_s',
        nofailover: true,
        members: [
          { url: first.url, route: 'first' },
          { url: second.url, route: 'second' },
        ],
      },
    },
    proxyPass: [
      { path: '/server-status', to: '!' },
      { path: '/', to: 'balancer://mycluster/' },
    ],
    proxyPassReverse: [{ path: '/', to: 'balancer://mycluster/' }],
  });
});

after(async () => {
  agent.destroy();
  await lb.close();
  await first.close();
  await second.close();
});

/** Starts new sessions until each node has issued one; returns the session id per route. */
async function newSessions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let i = 0; i < 6 && Object.keys(out).length < 2; i++) {
    const r = await request(`${lb.url}/`, { agent });
    assert.equal(r.status, 200);
    const session = r.json().session as string;
    assert.match(session, /^[0-9a-f]{16}\.(first|second)$/);
    assert.deepEqual(r.headers['set-cookie'], [`_s=${session}; Path=/`]);
    out[session.split('.')[1]] = session;
  }
  assert.deepEqual(Object.keys(out).sort(), ['first', 'second']);
  return out;
}

test('seed: sessions by cookie and by URL parameter alone stay on their node over 100 requests each', async () => {
  const s = await newSessions();
  for (const route of ['first', 'second']) {
    const node = route === 'first' ? 'node1' : 'node2';
    const byCookie = new Set<string>();
    const byUrl = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const c = await request(`${lb.url}/app/page?_k=${i}`, { agent, headers: { Cookie: `_s=${s[route]}` } });
      assert.equal(c.status, 200);
      byCookie.add(c.json().member);
      const u = await request(`${lb.url}/app/page?_s=${s[route]}&_k=${i}`, { agent });
      assert.equal(u.status, 200);
      byUrl.add(u.json().member);
      // The node never has to issue a new session: it saw its own.
      assert.equal(u.json().session, undefined);
    }
    assert.deepEqual([...byCookie], [node]);
    assert.deepEqual([...byUrl], [node]);
  }
  // A ;_s= path parameter is found too.
  const p = await request(`${lb.url}/app;_s=${s.second}?_k=1`, { agent });
  assert.equal(p.json().member, 'node2');
});

test('seed: a stopped node\'s sessions get 503, the other node\'s see no error, new sessions go to the live node', async () => {
  const s = await newSessions();
  await first.kill();

  // The first request for the dead node's session finds it dead: 503 (nofailover), never node2.
  const dead = await request(`${lb.url}/app?_k=1`, { agent, headers: { Cookie: `_s=${s.first}` } });
  assert.equal(dead.status, 503);
  assert.match(dead.headers['content-type'] ?? '', /^text\/html/);
  assert.doesNotMatch(dead.body, /at .*\(.*:\d+:\d+\)/);
  assert.equal(second.seen.filter((r) => r.headers.cookie === `_s=${s.first}`).length, 0);

  const b = lb.app.runtime.balancer('mycluster')!;
  const node1 = b.member('first')!;
  assert.equal(node1.flags.E, true);

  for (let i = 0; i < 20; i++) {
    const byCookie = await request(`${lb.url}/app?_k=${i}`, { agent, headers: { Cookie: `_s=${s.first}` } });
    assert.equal(byCookie.status, 503);
    const byUrl = await request(`${lb.url}/app?_s=${s.first}&_k=${i}`, { agent });
    assert.equal(byUrl.status, 503);
    const other = await request(`${lb.url}/app?_k=${i}`, { agent, headers: { Cookie: `_s=${s.second}` } });
    assert.equal(other.status, 200);
    assert.equal(other.json().member, 'node2');
    const fresh = await request(`${lb.url}/?_k=${i}`, { agent });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.json().member, 'node2');
    assert.match(fresh.json().session, /\.second$/);
  }
  assert.equal(node1.errors, 1, 'the dead node is tried once, then skipped while in error');
});

test('keep-alive: every request on a reused client connection is routed on its own', async () => {
  // The first node may be dead from the previous test: bring up a fresh pair.
  const a = await startBackend({ name: 'a', route: 'first' });
  const c = await startBackend({ name: 'c', route: 'second' });
  const one = await startBalancer({
    balancers: { mycluster: { stickysession: '_s|_s', nofailover: true, members: [{ url: a.url, route: 'first' }, { url: c.url, route: 'second' }] } },
    proxyPass: [{ path: '/', to: 'balancer://mycluster/' }],
  });
  const single = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const seen: string[] = [];
    let reused = 0;
    for (let i = 0; i < 40; i++) {
      const cookie = i % 2 === 0 ? '_s=aaaa.first' : '_s=bbbb.second';
      const r = await new Promise<{ member: string; reused: boolean }>((resolve, reject) => {
        const req = http.get(`${one.url}/x?_k=${i}`, { agent: single, headers: { Cookie: cookie } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ member: JSON.parse(body).member, reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
      seen.push(r.member);
      if (r.reused) reused++;
    }
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'a' : 'c')));
    assert.equal(reused, 39, 'one client connection carried every request');
    await until(() => one.app.server.stats().connections === 1, 'one client connection');
  } finally {
    single.destroy();
    await one.close();
    await a.close();
    await c.close();
  }
});
