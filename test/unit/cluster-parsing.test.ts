import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterError, cookieValue, readSessionId, serializeCookie, urlParam, withParams } from '../../src/cluster/index.js';

test('cookieValue: exact, case-sensitive names; the first non-empty match wins', () => {
  assert.equal(cookieValue('_s=abc.first', '_s'), 'abc.first');
  assert.equal(cookieValue('a=1; _s=abc.first; b=2', '_s'), 'abc.first');
  assert.equal(cookieValue('x_s=no; _s=yes.first', '_s'), 'yes.first');
  assert.equal(cookieValue('_S=no', '_s'), undefined);
  assert.equal(cookieValue('_s=one.first; _s=two.second', '_s'), 'one.first');
  assert.equal(cookieValue('_s=; _s=two.second', '_s'), 'two.second');
  assert.equal(cookieValue('_s="quoted.first"', '_s'), 'quoted.first');
  assert.equal(cookieValue('  _s = spaced.first  ', '_s'), 'spaced.first');
  assert.equal(cookieValue('a=1, _s=legacy.first', '_s'), 'legacy.first');
  assert.equal(cookieValue('connect.sid=abc; io=x.first', 'io'), 'x.first');
  assert.equal(cookieValue(undefined, '_s'), undefined);
  assert.equal(cookieValue('novalue; other=1', '_s'), undefined);
});

test('urlParam: query and ;path parameters, whole names only, leftmost wins, raw values', () => {
  assert.equal(urlParam('/app?_s=abc.first', '_s'), 'abc.first');
  assert.equal(urlParam('/app?_k=1&_s=abc.first&x=2', '_s'), 'abc.first');
  assert.equal(urlParam('/app;_s=abc.first?_k=1', '_s'), 'abc.first');
  // As the balancer reads it: `/` does not end the value, and nothing is decoded.
  assert.equal(urlParam('/app;_s=abc.first/more', '_s'), 'abc.first/more');
  assert.equal(urlParam('/app?x_s=no.first', '_s'), undefined);
  assert.equal(urlParam('/app?x_s=no.first&_s=yes.first', '_s'), 'yes.first');
  assert.equal(urlParam('/app?_s=&_s=second.x', '_s'), 'second.x');
  assert.equal(urlParam('/app;_s=path.a?_s=query.b', '_s'), 'path.a');
  assert.equal(urlParam('/app?_s=abc.first#frag', '_s'), 'abc.first');
  assert.equal(urlParam('/app?_sx=abc.first', '_s'), undefined);
  assert.equal(urlParam('/_s=abc.first', '_s'), undefined);
  assert.equal(urlParam('/app?_s=abc%2Efirst', '_s'), 'abc%2Efirst');
  assert.equal(urlParam('/app?_s=%E0%A4%A', '_s'), '%E0%A4%A');
  assert.equal(urlParam('/socket.io/?EIO=4&transport=polling&sid=abc.first', 'sid'), 'abc.first');
});

test('readSessionId: the URL overrides the cookie', () => {
  assert.deepEqual(readSessionId({ url: '/?_s=url.first', headers: { cookie: '_s=cookie.second' } }), { id: 'url.first', source: 'url' });
  assert.deepEqual(readSessionId({ url: '/', headers: { cookie: '_s=cookie.second' } }), { id: 'cookie.second', source: 'cookie' });
  assert.equal(readSessionId({ url: '/', headers: {} }), undefined);
  assert.equal(readSessionId({ url: '/', headers: { cookie: '_s=cookie.second' } }, '_s', false), undefined);
  assert.deepEqual(readSessionId({ url: '/?sid=a.b', headers: {} }, 'sid'), { id: 'a.b', source: 'url' });
});

test('serializeCookie: safe defaults, and refuses what would need encoding', () => {
  assert.equal(serializeCookie('_s', 'abc.first'), '_s=abc.first; Path=/; HttpOnly; SameSite=Lax');
  assert.equal(
    serializeCookie('_s', 'abc.first', { path: '/app', domain: 'example.org', secure: true, sameSite: 'Strict', httpOnly: false, maxAge: 600 }),
    '_s=abc.first; Path=/app; Domain=example.org; Max-Age=600; Secure; SameSite=Strict',
  );
  assert.equal(serializeCookie('_s', '', { maxAge: 0 }), '_s=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax');
  for (const bad of ['a;b', 'a b', 'a,b', 'a"b', 'é']) {
    assert.throws(() => serializeCookie('_s', bad), (e: ClusterError) => e.code === 'ERR_STICKYLB_OPTION');
  }
  assert.throws(() => serializeCookie('bad name', 'x'), (e: ClusterError) => e.code === 'ERR_STICKYLB_OPTION');
});

test('withParams appends to an existing query and keeps the fragment', () => {
  assert.equal(withParams('./counter', { _s: 'a.first', _k: 'k1' }), './counter?_s=a.first&_k=k1');
  assert.equal(withParams('/x?y=1#top', { _s: 'a.first', skip: undefined }), '/x?y=1&_s=a.first#top');
  assert.equal(withParams('/x', {}), '/x');
});
