// The fleet settings in both front ends: YAML `fleet`, `resolver` and a balancer's `dns`, and
// Apache syntax's StickylbFleet, StickylbResolver and BalancerMember … discover=, with their
// defaults and the errors a config gets (file:line, what is accepted).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/validate.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/diagnostics.js';

const dir = mkdtempSync(join(tmpdir(), 'stickylb-fleet-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.diagnostics.map((d) => `${d.line ? `${d.line}: ` : ''}${d.message}`);
  }
  assert.fail('the config was accepted');
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('fleet (YAML): defaults, the key prefix per fleet, and a local state file as the cache for Redis outages', () => {
  const m = validateConfig({ fleet: { redis: 'redis://redis:6379', name: 'shop' }, balancers: { app: { members: [{ url: 'http://10.0.0.1:8080' }] } } });
  assert.deepEqual(m.fleet, {
    redis: 'redis://redis:6379',
    name: 'shop',
    prefix: 'stickylb:shop:',
    password: undefined,
    passwordFile: undefined,
    username: undefined,
    caFile: undefined,
    id: undefined,
    address: undefined,
    heartbeatMs: 1000,
    peerTimeoutMs: 5000,
    leaseMs: 15000,
    ackWaitMs: 1000,
    health: 'local',
  });
  assert.deepEqual(m.persist, { file: '.stickylb-state.json' }, 'a fleet keeps a local copy unless persist: false');
  assert.equal(validateConfig({ fleet: { redis: 'redis://r', name: 'x' }, persist: false }).persist, undefined);
  const tls = validateConfig({ fleet: { redis: 'rediss://default:pw@redis.example:6380/2', name: 'eu', prefix: 'lb:eu:', caFile: '/etc/ssl/redis-ca.pem', health: 'shared' } });
  assert.equal(tls.fleet?.prefix, 'lb:eu:');
  assert.equal(tls.fleet?.health, 'shared');
  assert.equal(validateConfig({}).fleet, undefined);
});

test('fleet (YAML): what is refused, with the reason', () => {
  assert.match(problems(() => validateConfig({ fleet: { redis: 'http://redis:6379', name: 'x' } })).join('\n'), /fleet\.redis: "http:\/\/redis:6379" must be redis:\/\/\[user:password@\]host\[:port\]\[\/db\] or rediss:\/\/… \(TLS\)/);
  assert.match(problems(() => validateConfig({ fleet: { redis: 'redis://r', name: 'has space' } })).join('\n'), /fleet\.name: "has space" must be 1-64 letters, digits, _ \. -/);
  assert.deepEqual(problems(() => validateConfig({ fleet: { redis: 'redis://r', name: 'x', password: 'a', passwordFile: 'b' } })), ['fleet: give password or passwordFile, not both']);
  assert.deepEqual(problems(() => validateConfig({ fleet: { redis: 'redis://r', name: 'x', caFile: 'ca.pem' } })), [
    'fleet.caFile: a CA is only used with rediss:// (TLS); the URL says redis://',
  ]);
  assert.deepEqual(problems(() => validateConfig({ fleet: { redis: 'redis://r', name: 'x', heartbeat: 1, lease: 1 } })), [
    'fleet.lease: must be at least twice fleet.heartbeat (2000ms): the lock holder renews it every heartbeat',
  ]);
});

test('dns (YAML): members found by DNS need no member list; A/AAAA names need a port, SRV names give theirs', () => {
  const m = validateConfig({
    resolver: { servers: ['127.0.0.1:5353', '::1'] },
    balancers: { app: { stickysession: 'JSESSIONID|jsessionid', dns: ['_http._tcp.app.shop.svc.cluster.local', { name: 'web.shop.svc.cluster.local', port: 8080, type: 'A' }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
  });
  assert.deepEqual(m.resolver, { servers: ['127.0.0.1:5353', '[::1]:53'], timeoutMs: 2000 });
  assert.deepEqual(m.balancers.app.members, []);
  assert.deepEqual(
    m.balancers.app.dns!.map((s) => [s.name, s.type, s.port, s.route]),
    [
      ['_http._tcp.app.shop.svc.cluster.local', 'SRV', undefined, 'name'],
      ['web.shop.svc.cluster.local', 'A', 8080, 'address'],
    ],
  );
  assert.equal(m.balancers.app.dns![0].template.slowstartMs, 30_000);
  assert.deepEqual(problems(() => validateConfig({ balancers: { app: { dns: 'app.test' } } })), [
    'balancers.app.dns: A+AAAA records carry no port: give port (or use an SRV name such as _http._tcp.app.test)',
  ]);
  assert.deepEqual(problems(() => validateConfig({ balancers: { app: { dns: { name: '_http._tcp.app.test', port: 80 } } } })), [
    "balancers.app.dns.port: SRV records give each member's port; port is for A/AAAA names",
  ]);
  assert.match(problems(() => validateConfig({ balancers: { app: { dns: 'not a name!' } } })).join('\n'), /must be a DNS name/);
  // Models without DNS names or a fleet look as they did.
  const plain = validateConfig({ balancers: { app: { members: [{ url: 'http://a:1' }] } } });
  assert.equal('dns' in plain.balancers.app, false);
  assert.equal('fleet' in plain, false);
  assert.equal('resolver' in plain, false);
});

test('fleet (Apache syntax): StickylbFleet, StickylbResolver and BalancerMember … discover= make the same model as YAML', () => {
  const conf = file(
    'fleet.conf',
    `Listen 127.0.0.1:8080
StickylbFleet rediss://redis.shop.svc:6380 name=shop passwordfile=/run/secrets/redis id=lb-a heartbeat=500ms lease=10 health=shared
StickylbResolver 10.96.0.10 127.0.0.1:5353
<Proxy balancer://app>
  BalancerMember http://_http._tcp.app.shop.svc.cluster.local discover=srv retry=5 hcmethod=GET hcuri=/health
  BalancerMember http://web.shop.svc.cluster.local:8080/shop discover=dns loadfactor=2
  BalancerMember http://10.0.0.9:8080 route=static
  ProxySet stickysession=JSESSIONID|jsessionid
</Proxy>
ProxyPass / balancer://app/
`,
  );
  const { model } = loadConfigFile(conf);
  assert.equal(model.fleet?.redis, 'rediss://redis.shop.svc:6380');
  assert.equal(model.fleet?.name, 'shop');
  assert.equal(model.fleet?.passwordFile, '/run/secrets/redis');
  assert.equal(model.fleet?.id, 'lb-a');
  assert.equal(model.fleet?.heartbeatMs, 500);
  assert.equal(model.fleet?.leaseMs, 10_000);
  assert.equal(model.fleet?.health, 'shared');
  assert.deepEqual(model.resolver?.servers, ['10.96.0.10:53', '127.0.0.1:5353']);
  const b = model.balancers.app;
  assert.deepEqual(
    b.members.map((x) => [x.url, x.route]),
    [['http://10.0.0.9:8080', 'static']],
  );
  const [srv, a] = b.dns!;
  assert.deepEqual([srv.name, srv.type, srv.route, srv.template.retryMs, srv.template.health?.uri], ['_http._tcp.app.shop.svc.cluster.local', 'SRV', 'name', 5000, '/health']);
  assert.deepEqual([a.name, a.type, a.port, a.path, a.route, a.template.loadfactor], ['web.shop.svc.cluster.local', 'A+AAAA', 8080, '/shop', 'address', 2]);
});

test('fleet (Apache syntax): mistakes name the line and what is accepted', () => {
  const conf = file(
    'bad.conf',
    `Listen 8080
StickylbFleet redis://r:6379
StickylbFleet memcache://r name=x
StickylbFleet redis://r name=x colour=blue health=sometimes
<VirtualHost *:8080>
  StickylbResolver 10.0.0.1
</VirtualHost>
<Proxy balancer://app>
  BalancerMember http://_http._tcp.app.test discover=mdns
  BalancerMember http://_http._tcp.app.test discover=srv route=a
</Proxy>
ProxyPass / balancer://app/
`,
  );
  const got = problems(() => loadConfigFile(conf));
  for (const want of [
    /^2: StickylbFleet redis:\/\/r:6379: needs name=NAME .*\(expected StickylbFleet redis:\/\//,
    /^3: StickylbFleet memcache:\/\/r name=x: "memcache:\/\/r" is not a redis:\/\/ or rediss:\/\/ URL/,
    /^4: StickylbFleet: unknown parameter "colour=blue"/,
    /^4: StickylbFleet: health=sometimes must be local or shared/,
    /^6: StickylbResolver 10\.0\.0\.1: belongs to the main server, not a <VirtualHost>/,
    /^9: BalancerMember: discover=mdns is not one of srv, dns, a, aaaa/,
    /^10: BalancerMember … discover=: route= cannot be set here/,
  ]) {
    assert.ok(got.some((l) => want.test(l)), `${want} in:\n${got.join('\n')}`);
  }
});
