import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Socket } from 'node:net';
import { authenticatedUser, plainAddress } from '../../src/log/access-record.js';
import { RequestRecord } from '../../src/proxy/core/record.js';
import { nodeRecord, settleNodeRecord } from '../../src/proxy/node-record.js';
import { validateConfig } from '../../src/config/validate.js';

function fakeRequest(method: string, url: string, headers: Record<string, string> = {}): http.IncomingMessage {
  const req = new http.IncomingMessage(new Socket());
  req.method = method;
  req.url = url;
  req.headers = headers;
  return req;
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

test('body bytes of node:http answers: strings in their encoding, buffers, write and end; none for HEAD, 204 and 304', () => {
  const req = fakeRequest('GET', '/');
  const res = new http.ServerResponse(req);
  const r = nodeRecord(req, res);
  res.write('héllo');
  res.write(Buffer.from([1, 2, 3]));
  res.write('6869', 'hex');
  res.end('!');
  settleNodeRecord(r, req, res);
  assert.equal(r.bodyBytesOut, 6 + 3 + 2 + 1);

  const head = fakeRequest('HEAD', '/');
  const hres = new http.ServerResponse(head);
  const hr = nodeRecord(head, hres);
  hres.end('ignored by Node for HEAD');
  settleNodeRecord(hr, head, hres);
  assert.equal(hr.bodyBytesOut, 0);

  for (const status of [204, 304]) {
    const q = fakeRequest('GET', '/');
    const s = new http.ServerResponse(q);
    const sr = nodeRecord(q, s);
    s.statusCode = status;
    s.end();
    settleNodeRecord(sr, q, s);
    assert.equal(sr.bodyBytesOut, 0);
  }
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
  const rec = (kind: 'handler' | 'static', target: string, status: number, headers: Record<string, string> = {}, user?: string) => {
    const r = new RequestRecord('h1-node');
    r.kind = kind;
    r.site = site;
    r.target = target;
    r.status = status;
    r.requestPairs = Object.entries(headers).flat();
    r.user = user;
    return r;
  };
  const auth = { authorization: basic('sven', 's3cret:with:colons') };

  assert.equal(authenticatedUser(rec('handler', '/balancer-manager?b=c', 200, auth)), 'sven');
  // Refused: the name was not accepted.
  assert.equal(authenticatedUser(rec('handler', '/balancer-manager', 401, auth)), undefined);
  assert.equal(authenticatedUser(rec('handler', '/balancer-manager', 403, auth)), undefined);
  // No password check on this handler, or not a handler at all: the header is only a claim.
  assert.equal(authenticatedUser(rec('handler', '/server-status', 200, auth)), undefined);
  assert.equal(authenticatedUser(rec('static', '/index.html', 200, auth)), undefined);
  // Other schemes and no header.
  assert.equal(authenticatedUser(rec('handler', '/balancer-manager', 200, { authorization: 'Bearer x' })), undefined);
  assert.equal(authenticatedUser(rec('handler', '/balancer-manager', 200)), undefined);
  // Set explicitly by whoever authenticated the request.
  assert.equal(authenticatedUser(rec('static', '/x', 200, {}, 'philippe')), 'philippe');
});
