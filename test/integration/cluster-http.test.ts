// The node:http adapter in a real server: which responses set the `_s` cookie, and the
// live-sessions endpoint.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LIVE_SESSIONS_PATH, createSessions, liveSessionsHandler, type Sessions } from '../../src/cluster/index.js';
import { request } from '../helpers/http.js';

let server: http.Server;
let base: string;
let sessions: Sessions<{ n: number }>;

before(async () => {
  sessions = createSessions({ route: 'node-a', create: () => ({ n: 0 }) });
  const live = liveSessionsHandler({ route: sessions.cluster, count: () => sessions.size });
  server = http.createServer((req, res) => {
    if (live(req, res)) return;
    if (req.url?.startsWith('/logout')) {
      const s = sessions.find(req);
      if (s) sessions.destroy(s.id, res);
      res.end('bye');
      return;
    }
    // A cookie set by the app itself must survive the session cookie.
    res.setHeader('Set-Cookie', 'theme=dark; Path=/');
    const { session, isNew, source } = sessions.resume(req, res);
    session.data.n++;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ id: session.id, n: session.data.n, isNew, source, next: sessions.url('/next', session) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  sessions.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function sessionCookie(headers: http.IncomingHttpHeaders): string | undefined {
  return (headers['set-cookie'] ?? []).find((c) => c.startsWith('_s='));
}

test('a new session sets the _s cookie next to the app cookies', async () => {
  const r = await request(`${base}/`);
  const body = r.json();
  assert.equal(body.isNew, true);
  assert.match(body.id, /^[A-Za-z0-9_-]{22}\.node-a$/);
  assert.deepEqual(r.headers['set-cookie'], ['theme=dark; Path=/', `_s=${body.id}; Path=/; HttpOnly; SameSite=Lax`]);
  assert.equal(body.next, `/next?_s=${body.id}`);
});

test('a session named in the URL only is resumed without a cookie', async () => {
  const first = (await request(`${base}/`)).json();
  const r = await request(`${base}${first.next}`);
  assert.deepEqual(r.json().n, 2);
  assert.equal(r.json().source, 'url');
  assert.equal(sessionCookie(r.headers), undefined);
});

test('a session named by cookie is resumed, and the cookie is not set again', async () => {
  const first = (await request(`${base}/`)).json();
  const r = await request(`${base}/`, { headers: { cookie: `theme=dark; _s=${first.id}` } });
  assert.equal(r.json().n, 2);
  assert.equal(r.json().source, 'cookie');
  assert.equal(sessionCookie(r.headers), undefined);
});

test('when the URL names another session than the cookie, the URL wins and the cookie follows', async () => {
  const a = (await request(`${base}/`)).json();
  const b = (await request(`${base}/`)).json();
  const r = await request(`${base}/?_s=${b.id}`, { headers: { cookie: `_s=${a.id}` } });
  assert.equal(r.json().id, b.id);
  assert.equal(sessionCookie(r.headers), `_s=${b.id}; Path=/; HttpOnly; SameSite=Lax`);
});

test('destroying a session clears its cookie', async () => {
  const a = (await request(`${base}/`)).json();
  const r = await request(`${base}/logout`, { headers: { cookie: `_s=${a.id}` } });
  assert.match(sessionCookie(r.headers) ?? '', /^_s=; Path=\/; Max-Age=0;/);
  assert.equal((await request(`${base}/?_s=${a.id}`)).json().isNew, true);
});

test('the live-sessions endpoint reports the route and the number of live sessions', async () => {
  const before = (await request(`${base}${LIVE_SESSIONS_PATH}`)).json();
  assert.equal(before.route, 'node-a');
  await request(`${base}/`);
  await request(`${base}/`);
  const r = await request(`${base}${LIVE_SESSIONS_PATH}?x=1`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.deepEqual(r.json(), { route: 'node-a', sessions: before.sessions + 2 });
  assert.equal(r.json().sessions, sessions.size);
  const head = await request(`${base}${LIVE_SESSIONS_PATH}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await request(`${base}${LIVE_SESSIONS_PATH}`, { method: 'DELETE' })).status, 405);
});
