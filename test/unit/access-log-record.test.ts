import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Socket } from 'node:net';
import { authenticatedUser, bodyBytes, countBodyBytes, plainAddress } from '../../src/log/access-record.js';
import { newRequestInfo } from '../../src/proxy/request-info.js';
import { validateConfig } from '../../src/config/validate.js';

function fakeRequest(method: string, url: string, headers: Record<string, string> = {}): http.IncomingMessage {
  const req = new http.IncomingMessage(new Socket());
  req.method = method;
  req.url = url;
  req.headers = headers;
  return req;
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

test('body bytes: strings in their encoding, buffers, write and end; none for HEAD, 204 and 304', () => {
  const req = fakeRequest('GET', '/');
  const res = new http.ServerResponse(req);
  countBodyBytes(res);
  countBodyBytes(res);
  res.write('héllo');
  res.write(Buffer.from([1, 2, 3]));
  res.write('6869', 'hex');
  res.end('!');
  assert.equal(bodyBytes(req, res), 6 + 3 + 2 + 1);

  const head = fakeRequest('HEAD', '/');
  const hres = new http.ServerResponse(head);
  countBodyBytes(hres);
  hres.end('ignored by Node for HEAD');
  assert.equal(bodyBytes(head, hres), 0);

  for (const status of [204, 304]) {
    const r = fakeRequest('GET', '/');
    const s = new http.ServerResponse(r);
    countBodyBytes(s);
    s.statusCode = status;
    s.end();
    assert.equal(bodyBytes(r, s), 0);
  }
  // Not counted: 0.
  const plain = fakeRequest('GET', '/');
  assert.equal(bodyBytes(plain, new http.ServerResponse(plain)), 0);
});

test('IPv4-mapped addresses are shown as IPv4', () => {
  assert.equal(plainAddress('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(plainAddress('2001:db8::1'), '2001:db8::1');
  assert.equal(plainAddress('192.0.2.7'), '192.0.2.7');
  assert.equal(plainAddress(undefined), undefined);
});

test('%u: only a user a password-checking handler let through', () => {
  const model = validateConfig({
    handlers: [
      { path: '/balancer-manager', handler: 'balancer-manager', htpasswd: '/etc/stickylb/htpasswd' },
      { path: '/server-status', handler: 'server-status' },
    ],
    static: { root: '/srv/www' },
  });
  const site = model.sites[0];
  const info = (kind: 'handler' | 'static') => ({ ...newRequestInfo(), kind, site });
  const auth = { authorization: basic('sven', 's3cret:with:colons') };

  assert.equal(authenticatedUser(fakeRequest('GET', '/balancer-manager?b=c', auth), info('handler'), 200), 'sven');
  // Refused: the name was not accepted.
  assert.equal(authenticatedUser(fakeRequest('GET', '/balancer-manager', auth), info('handler'), 401), undefined);
  assert.equal(authenticatedUser(fakeRequest('GET', '/balancer-manager', auth), info('handler'), 403), undefined);
  // No password check on this handler, or not a handler at all: the header is only a claim.
  assert.equal(authenticatedUser(fakeRequest('GET', '/server-status', auth), info('handler'), 200), undefined);
  assert.equal(authenticatedUser(fakeRequest('GET', '/index.html', auth), info('static'), 200), undefined);
  // Other schemes and no header.
  assert.equal(authenticatedUser(fakeRequest('GET', '/balancer-manager', { authorization: 'Bearer x' }), info('handler'), 200), undefined);
  assert.equal(authenticatedUser(fakeRequest('GET', '/balancer-manager'), info('handler'), 200), undefined);
  // Set explicitly by whoever authenticated the request.
  assert.equal(authenticatedUser(fakeRequest('GET', '/x'), { ...info('static'), user: 'philippe' }, 200), 'philippe');
});
