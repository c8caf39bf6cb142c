import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterError, createSessions } from '../../src/cluster/index.js';

function req(url: string, cookie?: string) {
  return { url, headers: cookie ? { cookie } : {} };
}

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('a request without a session gets a new one; naming it resumes it', () => {
  const sessions = createSessions({ route: 'first', create: () => ({ n: 0 }), sweepIntervalMs: 0 });
  const a = sessions.resume(req('/'));
  assert.equal(a.isNew, true);
  assert.equal(a.source, undefined);
  assert.match(a.session.id, /\.first$/);
  a.session.data.n = 5;
  const byUrl = sessions.resume(req(`/x?_s=${a.session.id}`));
  assert.equal(byUrl.isNew, false);
  assert.equal(byUrl.source, 'url');
  assert.equal(byUrl.session.data.n, 5);
  const byCookie = sessions.resume(req('/x', `_s=${a.session.id}`));
  assert.equal(byCookie.source, 'cookie');
  assert.equal(byCookie.session, a.session);
  const byPath = sessions.resume(req(`/x;_s=${a.session.id}`));
  assert.equal(byPath.session, a.session);
  assert.equal(sessions.size, 1);
});

test('the URL overrides the cookie', () => {
  const sessions = createSessions({ route: 'first', create: () => ({ who: '' }), sweepIntervalMs: 0 });
  const a = sessions.create();
  const b = sessions.create();
  a.data.who = 'a';
  b.data.who = 'b';
  assert.equal(sessions.resume(req(`/?_s=${b.id}`, `_s=${a.id}`)).session.data.who, 'b');
  assert.equal(sessions.find(req(`/?_s=${a.id}`, `_s=${b.id}`))?.data.who, 'a');
});

test('an unknown id gets a new session and is reported', () => {
  const sessions = createSessions({ route: 'first', create: () => ({}), sweepIntervalMs: 0 });
  const r = sessions.resume(req('/?_s=gone.first'));
  assert.equal(r.isNew, true);
  assert.equal(r.unknownId, 'gone.first');
  assert.equal(r.source, 'url');
  assert.notEqual(r.session.id, 'gone.first');
  assert.equal(sessions.find(req('/?_s=gone.first')), undefined);
});

test('with cookies off, cookies are neither read nor needed', () => {
  const sessions = createSessions({ route: 'first', create: () => ({}), cookie: false, sweepIntervalMs: 0 });
  const a = sessions.create();
  assert.equal(sessions.find(req('/', `_s=${a.id}`)), undefined);
  assert.equal(sessions.find(req(`/?_s=${a.id}`)), a);
});

test('sessions expire after ttl without requests; each request extends them', () => {
  const c = clock();
  const sessions = createSessions({ route: 'first', create: () => ({}), ttlMs: 1000, now: c.now, sweepIntervalMs: 0 });
  const a = sessions.create();
  const b = sessions.create();
  c.advance(600);
  assert.ok(sessions.get(a.id));
  c.advance(600);
  assert.ok(sessions.get(a.id), 'a was used 600 ms ago');
  assert.equal(sessions.get(b.id), undefined, 'b idle for 1200 ms');
  assert.equal(sessions.size, 1);
  c.advance(1000);
  assert.equal(sessions.size, 0);
});

test('sweep removes only expired sessions, oldest first', () => {
  const c = clock();
  const sessions = createSessions({ route: 'first', create: () => ({}), ttlMs: 1000, now: c.now, sweepIntervalMs: 0 });
  const ids = [];
  for (let i = 0; i < 5; i++) {
    ids.push(sessions.create().id);
    c.advance(300);
  }
  // Ages now: 1500, 1200, 900, 600, 300; creating the last one already swept the first.
  assert.equal(sessions.sweep(), 1);
  assert.equal(sessions.get(ids[0]), undefined);
  assert.equal(sessions.get(ids[1]), undefined);
  assert.ok(sessions.get(ids[2]));
});

test('beyond maxSessions the least recently used session is dropped', () => {
  const sessions = createSessions({ route: 'first', create: () => ({}), maxSessions: 3, sweepIntervalMs: 0 });
  const [a, b, c] = [sessions.create(), sessions.create(), sessions.create()];
  sessions.get(a.id);
  sessions.create();
  assert.equal(sessions.size, 3);
  assert.ok(sessions.get(a.id));
  assert.equal(sessions.get(b.id), undefined);
  assert.ok(sessions.get(c.id));
});

test('url() carries the session key; destroy ends a session', () => {
  const sessions = createSessions({ route: 'first', create: () => ({}), sweepIntervalMs: 0 });
  const a = sessions.create();
  assert.equal(sessions.url('./counter', a, { _k: 'k1' }), `./counter?_s=${a.id}&_k=k1`);
  assert.equal(sessions.url('/x', a.id), `/x?_s=${a.id}`);
  assert.ok(sessions.destroy(a.id));
  assert.equal(sessions.get(a.id), undefined);
  assert.ok(!sessions.destroy(a.id));
});

test('bad options are refused at creation', () => {
  assert.throws(() => createSessions({ route: 'a.b', create: () => ({}) }), (e: ClusterError) => e.code === 'ERR_STICKYLB_ROUTE_SEPARATOR');
  assert.throws(() => createSessions({ route: 'a', name: 'bad name', create: () => ({}) }), (e: ClusterError) => e.code === 'ERR_STICKYLB_OPTION');
  assert.throws(() => createSessions({ route: 'a', ttlMs: 0, create: () => ({}) }), (e: ClusterError) => e.code === 'ERR_STICKYLB_OPTION');
});
