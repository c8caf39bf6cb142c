// Members found by DNS without DNS: routes from names and addresses, member models, the steps
// from what a balancer has to what DNS says, when a drained member goes, and when to look again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { addressRoute, drainOver, memberModelOf, nameRoute, nextLookupMs, plan, type Found, type Present } from '../../src/discovery/targets.js';
import type { DnsSourceModel } from '../../src/config/fleet-model.js';
import { memberIdentity } from '../../src/balancer/member-identity.js';

function source(dns: unknown, extra: Record<string, unknown> = {}): DnsSourceModel {
  const model = validateConfig({ balancers: { app: { stickysession: '_s', dns, ...extra } }, proxyPass: [{ path: '/', to: 'balancer://app/' }] });
  return model.balancers.app.dns![0];
}

test('dns: routes come from the first label of a stable name, or from the address', () => {
  assert.equal(nameRoute('app-0.app.shop.svc.cluster.local'), 'app-0');
  assert.equal(nameRoute('app-1.app.shop.svc.cluster.local.'), 'app-1');
  assert.equal(addressRoute('10.0.0.5'), '10-0-0-5');
  assert.equal(addressRoute('fd00::5'), 'fd00--5');
});

test('dns: a source\'s defaults: SRV for _service._proto names with routes from names, A+AAAA with a port and routes from addresses', () => {
  const srv = source('_http._tcp.app.shop.svc.cluster.local');
  assert.equal(srv.type, 'SRV');
  assert.equal(srv.route, 'name');
  assert.equal(srv.template.slowstartMs, 30_000, 'new names join with slow start');
  assert.equal(srv.drainIdleMs, 10_000);
  assert.equal(srv.drainMaxMs, 300_000);
  const a = source({ name: 'app.shop.svc.cluster.local', port: 8080, member: { retry: 5, slowstart: '10s' } });
  assert.equal(a.type, 'A+AAAA');
  assert.equal(a.route, 'address');
  assert.equal(a.template.retryMs, 5000);
  assert.equal(a.template.slowstartMs, 10_000);
  assert.equal(source('_http._tcp.x.test', { slowstart: 0 }).template.slowstartMs, 0, 'the balancer\'s slowstart applies');
});

test('dns: a found member is a member with the source\'s settings, its address and port, its route and where it came from', () => {
  const src = source({ name: '_http._tcp.app.test', path: '/shop/', member: { loadfactor: 3 } });
  const m = memberModelOf(src, { name: 'app-0.app.test', address: '10.0.0.5', port: 8080, route: 'app-0' });
  assert.equal(m.url, 'http://10.0.0.5:8080/shop');
  assert.equal(m.id, 'http://10.0.0.5:8080/shop');
  assert.equal(m.hostname, '10.0.0.5');
  assert.equal(m.basePath, '/shop');
  assert.equal(m.route, 'app-0');
  assert.equal(m.loadfactor, 3);
  // Routed by its name, the name (and port) is the member: its settings follow it to another address.
  assert.deepEqual(m.source, { kind: 'dns', query: '_http._tcp.app.test', name: 'app-0.app.test', identity: 'dns:app-0.app.test:8080' });
  assert.equal(memberModelOf(src, { name: 'App-0.app.test.', address: '10.0.0.6', port: 8080, route: 'App-0' }).source?.identity, 'dns:app-0.app.test:8080');
  // Routed by its address, the address is all that names it.
  const byAddress = memberModelOf(source({ name: 'app.test', port: 8080 }), { name: 'app.test', address: '10.0.0.5', port: 8080, route: '10-0-0-5' });
  assert.equal(byAddress.source?.identity, undefined);
  assert.equal(memberIdentity(byAddress), 'http://10.0.0.5:8080');
  const v6 = memberModelOf(source({ name: 'app.test', port: 80, scheme: 'https' }), { name: 'app.test', address: 'fd00::5', port: 80, route: 'fd00--5' });
  assert.equal(v6.url, 'https://[fd00::5]:80');
  assert.equal(v6.protocol, 'https:');
});

test('dns: the steps from what a balancer has to what DNS says', () => {
  const src = source('_http._tcp.app.test');
  const found = (name: string, address: string): Found => ({ name, address, port: 8080, route: nameRoute(name) });
  const present = (route: string, address: string, draining = false): Present => ({ id: `http://${address}:8080`, route, draining });
  const cases: [string, Present[], Found[], unknown[]][] = [
    ['first lookup: every name joins', [], [found('app-0.app.test', '10.0.0.1'), found('app-1.app.test', '10.0.0.2')], [['add', 'app-0'], ['add', 'app-1']]],
    ['nothing changed', [present('app-0', '10.0.0.1')], [found('app-0.app.test', '10.0.0.1')], []],
    ['a name added', [present('app-0', '10.0.0.1')], [found('app-0.app.test', '10.0.0.1'), found('app-2.app.test', '10.0.0.3')], [['add', 'app-2']]],
    ['a name removed: drained', [present('app-0', '10.0.0.1'), present('app-1', '10.0.0.2')], [found('app-0.app.test', '10.0.0.1')], [['drain', 'http://10.0.0.2:8080']]],
    ['still gone: nothing more', [present('app-1', '10.0.0.2', true)], [], []],
    ['back while draining', [present('app-1', '10.0.0.2', true)], [found('app-1.app.test', '10.0.0.2')], [['undrain', 'http://10.0.0.2:8080']]],
    [
      'its address changed: the old address goes at once, the new one takes the route',
      [present('app-0', '10.0.0.1')],
      [found('app-0.app.test', '10.0.0.9')],
      [['remove', 'http://10.0.0.1:8080'], ['add', 'app-0']],
    ],
    ['same address, another name', [present('app-0', '10.0.0.1')], [found('web-0.app.test', '10.0.0.1')], [['route', 'http://10.0.0.1:8080', 'web-0']]],
  ];
  for (const [what, has, dns, want] of cases) {
    const got = plan(src, has, dns).map((s) =>
      s.kind === 'add' ? [s.kind, s.found.route] : s.kind === 'route' ? [s.kind, s.id, s.route] : [s.kind, s.id],
    );
    assert.deepEqual(got, want, what);
  }
  // With routes from addresses, an address that left is drained (it did not move: it is gone).
  const a = source({ name: 'app.test', port: 8080 });
  const steps = plan(a, [{ id: 'http://10.0.0.1:8080', route: '10-0-0-1', draining: false }], [{ name: 'app.test', address: '10.0.0.2', port: 8080, route: '10-0-0-2' }]);
  assert.deepEqual(steps.map((s) => s.kind), ['drain', 'add']);
  // At most `max` members from one name.
  const capped = source({ name: '_http._tcp.app.test', max: 1 });
  assert.equal(plan(capped, [], [found('a.app.test', '10.0.0.1'), found('b.app.test', '10.0.0.2')]).length, 1);
});

test('dns: a drained member goes once it no longer answers, once idle, or after the longest drain', () => {
  const src = { drainIdleMs: 10_000, drainMaxMs: 60_000 };
  const m = (busy: number, lastStickyAt: number, E = false) => ({ busy, lastStickyAt, flags: { E } });
  assert.equal(drainOver(m(0, 0), 1000, 5000, src), undefined);
  assert.equal(drainOver(m(0, 0), 1000, 11_000, src), 'no request of its sessions for 10s');
  assert.equal(drainOver(m(0, 8000), 1000, 11_000, src), undefined, 'a session request 3 s ago');
  assert.equal(drainOver(m(2, 0), 1000, 30_000, src), undefined, 'requests in flight');
  assert.equal(drainOver(m(2, 0), 1000, 61_000, src), 'drained for 60s, the longest allowed');
  assert.equal(drainOver(m(2, 0, true), 1000, 2000, src), 'it no longer answers');
});

test('dns: the next lookup comes as the least TTL says, within minTtl and maxTtl', () => {
  const src = { minTtlMs: 1000, maxTtlMs: 300_000 };
  assert.equal(nextLookupMs([30, 5, 60], src), 5000);
  assert.equal(nextLookupMs([0], src), 1000);
  assert.equal(nextLookupMs([86_400], src), 300_000);
  assert.equal(nextLookupMs([], src), 300_000);
});
