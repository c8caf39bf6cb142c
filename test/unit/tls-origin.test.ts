// The manager's same-origin check follows the scheme: over HTTPS only an https:// Origin (or
// Referer) of this host is this server; a plain-HTTP page of the same host is another origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSameOrigin } from '../../src/manager/access/origin.js';

test('over HTTPS: https:// Origin and Referer of the host pass, http:// ones are refused', () => {
  assert.deepEqual(checkSameOrigin({ host: 'a.test', origin: 'https://a.test' }, 'https'), { ok: true });
  assert.deepEqual(checkSameOrigin({ host: 'a.test:443', origin: 'https://a.test' }, 'https'), { ok: true });
  assert.deepEqual(checkSameOrigin({ host: 'a.test:8443', referer: 'https://a.test:8443/balancer-manager' }, 'https'), { ok: true });
  const r = checkSameOrigin({ host: 'a.test', origin: 'http://a.test' }, 'https');
  assert.equal(r.ok, false);
  assert.match((r as { reason: string }).reason, /Origin http:\/\/a\.test is not this server \(https:\/\/a\.test\)/);
});

test('over plain HTTP: an https:// page is another origin; without a scheme the host alone decides (as before)', () => {
  assert.equal(checkSameOrigin({ host: 'a.test', origin: 'https://a.test' }, 'http').ok, false);
  assert.equal(checkSameOrigin({ host: 'a.test:80', origin: 'http://a.test' }, 'http').ok, true);
  assert.equal(checkSameOrigin({ host: 'a.test', origin: 'https://a.test' }).ok, true);
});
