// check's warning for a built-in page allowed to local clients or a private network while no
// proxy is declared: said for local and private rules, not once proxies or the PROXY protocol
// are declared, not for pages behind a login or open only to public addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { lintConfig } from '../../src/config/lint.js';
import type { RawConfig } from '../../src/config/schema.js';

const codes = (raw: RawConfig) => lintConfig(validateConfig(raw), { raw }).filter((d) => d.code === 'local-behind-proxy').map((d) => d.message);

test('check: a manager allowed to local or private clients with no declared proxy is warned about', () => {
  assert.equal(codes({ manager: {} }).length, 1, 'the default (local) counts');
  assert.match(codes({ manager: {} })[0], /balancer-manager at \/balancer-manager is allowed to local clients/);
  assert.match(codes({ metrics: { allow: ['10.0.0.0/8'] } })[0], /allowed to the private network 10\.0\.0\.0\/8/);
  assert.match(codes({ serverStatus: { access: { require: 'ip 192.168' } } })[0], /the private network 192\.168/);
  assert.equal(codes({ manager: { allow: ['203.0.113.0/24'] } }).length, 0, 'public addresses only');
  assert.equal(codes({ manager: { allow: ['local'], htpasswd: '/etc/x' } }).length, 0, 'behind a login');
  assert.equal(codes({ manager: {}, remoteIp: { header: 'X-Forwarded-For', internalProxies: ['127.0.0.1'] } }).length, 0, 'a declared proxy');
  assert.equal(codes({ manager: {}, proxyProtocol: true }).length, 0, 'the PROXY protocol on every listener');
});
