import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeStaticPath } from '../../src/static/safe-path.js';
import { acceptableEncodings, parseAcceptEncoding } from '../../src/static/encoding.js';

test('plain paths decode into segments', () => {
  assert.deepEqual(safeStaticPath('/files/RedditFileLibrary/main.css'), {
    ok: true,
    segments: ['files', 'RedditFileLibrary', 'main.css'],
    trailingSlash: false,
  });
  assert.deepEqual(safeStaticPath('/'), { ok: true, segments: [], trailingSlash: true });
  assert.deepEqual(safeStaticPath('/docs/'), { ok: true, segments: ['docs'], trailingSlash: true });
  assert.deepEqual(safeStaticPath('/hello%20world.txt'), { ok: true, segments: ['hello world.txt'], trailingSlash: false });
  assert.deepEqual(safeStaticPath('/caf%C3%A9.txt'), { ok: true, segments: ['café.txt'], trailingSlash: false });
  // A double-encoded dot-dot is a file literally named "%2e%2e", which is harmless.
  assert.deepEqual(safeStaticPath('/%252e%252e/x'), { ok: true, segments: ['%2e%2e', 'x'], trailingSlash: false });
});

const escapes: [string, string][] = [
  ['/../etc/passwd', 'dot segment'],
  ['/a/../../etc/passwd', 'dot segment'],
  ['/a/./b', 'dot segment'],
  ['/%2e%2e/etc/passwd', 'dot segment'],
  ['/%2E%2E/etc/passwd', 'dot segment'],
  ['/.%2e/etc/passwd', 'dot segment'],
  ['/..%2fetc%2fpasswd', 'encoded slash'],
  ['/..%2Fetc', 'encoded slash'],
  ['/..%5cetc', 'encoded slash'],
  ['/..%5Cetc', 'encoded slash'],
  ['/x%00.html', 'encoded slash, backslash or NUL'],
  ['/..\\etc\\passwd', 'backslash'],
  ['/a\\..\\..\\b', 'backslash'],
  ['/x\0.html', 'NUL'],
  ['//etc/passwd', 'empty path segment'],
  ['etc/passwd', 'does not start with /'],
];

for (const [path, why] of escapes) {
  test(`refuses ${JSON.stringify(path)} (${why}) with 404, flagged as an escape`, () => {
    const r = safeStaticPath(path);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.status, 404);
    assert.equal(r.escape, true);
    assert.match(r.reason, new RegExp(why.split(' ')[0], 'i'));
  });
}

test('broken percent-encoding is a plain 404, not an escape', () => {
  const r = safeStaticPath('/%E0%A4%A.txt');
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual([r.status, r.escape], [404, false]);
});

test('dotfiles: ignored (404), denied (403) or allowed', () => {
  const ignored = safeStaticPath('/.env');
  assert.ok(!ignored.ok && ignored.status === 404 && !ignored.escape);
  const nested = safeStaticPath('/.git/config');
  assert.ok(!nested.ok && nested.status === 404);
  const encoded = safeStaticPath('/%2eenv');
  assert.ok(!encoded.ok && encoded.status === 404);
  const denied = safeStaticPath('/.htpasswd', 'deny');
  assert.ok(!denied.ok && denied.status === 403);
  assert.deepEqual(safeStaticPath('/.env', 'allow'), { ok: true, segments: ['.env'], trailingSlash: false });
  // RFC 8615 well-known URIs (ACME challenges) are served even when dotfiles are ignored.
  assert.deepEqual(safeStaticPath('/.well-known/acme-challenge/x'), {
    ok: true,
    segments: ['.well-known', 'acme-challenge', 'x'],
    trailingSlash: false,
  });
  // Dot-dot stays refused when dotfiles are allowed.
  assert.equal(safeStaticPath('/../x', 'allow').ok, false);
});

test('Accept-Encoding: q-values, wildcard, x-gzip, ties go to br', () => {
  assert.deepEqual([...parseAcceptEncoding('gzip, deflate;q=0.5, br;q=0.9')], [
    ['gzip', 1],
    ['deflate', 0.5],
    ['br', 0.9],
  ]);
  assert.deepEqual(acceptableEncodings(undefined), []);
  assert.deepEqual(acceptableEncodings(''), []);
  assert.deepEqual(acceptableEncodings('gzip'), ['gzip']);
  assert.deepEqual(acceptableEncodings('x-gzip'), ['gzip']);
  assert.deepEqual(acceptableEncodings('gzip, br'), ['br', 'gzip']);
  assert.deepEqual(acceptableEncodings('br;q=0.5, gzip'), ['gzip', 'br']);
  assert.deepEqual(acceptableEncodings('gzip;q=0, br'), ['br']);
  assert.deepEqual(acceptableEncodings('*'), ['br', 'gzip']);
  assert.deepEqual(acceptableEncodings('*, br;q=0'), ['gzip']);
  assert.deepEqual(acceptableEncodings('identity'), []);
  assert.deepEqual(acceptableEncodings('GZIP;Q=0.8'), ['gzip']);
});
