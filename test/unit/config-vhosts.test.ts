// Virtual hosts inherit the main server's rules the way Apache 2.4 merges them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import { matchRoute } from '../../src/proxy/routes.js';

const members = (port: number) => ({ members: [{ url: `http://127.0.0.1:${port}` }] });

test('main-server ProxyPass rules come before the virtual host’s own (ProxyPassInherit On)', () => {
  const model = validateConfig({
    balancers: { main: members(1), vhost: members(2) },
    proxyPass: [{ path: '/x', to: 'balancer://main/' }],
    virtualHosts: [{ serverName: 'v.example', proxyPass: [{ path: '/x', to: 'balancer://vhost/' }, { path: '/y', to: 'balancer://vhost/' }] }],
  });
  const site = model.sites[0];
  assert.deepEqual(site.rules.map((r) => (r.kind === 'proxy' ? `${r.path}→${r.balancer}` : r.path)), ['/x→main', '/x→vhost', '/y→vhost']);
  const m = matchRoute(site, '/x/page');
  assert.equal(m.kind === 'proxy' && m.balancer, 'main');
});

test('an error in an inherited rule names the main server’s rule, not the virtual host', () => {
  try {
    validateConfig({
      balancers: { c: members(1) },
      proxyPass: [{ path: '/', to: 'balancer://nope/' }],
      virtualHosts: [{ serverName: 'v.example', proxyPass: [{ path: '/a', to: 'balancer://c/' }] }],
    });
    assert.fail('expected a config error');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.diagnostics.map((d) => d.path), ['proxyPass[0]']);
    assert.match(e.message, /proxyPass\[0\]\.to: no balancer named "nope"/);
  }
});
