// Golden tests: each Apache fixture with the model it loads to (test/fixtures/apache/*.expected.json),
// and the two seed configs as the list archive mangled them, with every diagnostic spelled out.
// Regenerate the expected models after an intended change: UPDATE_GOLDEN=1 node scripts/run-tests.mjs apache-golden
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { loadConfigFile } from '../../src/config/load.js';
import { analyseConfigFile } from '../../src/config/analyse.js';
import { ConfigError, formatDiagnostic } from '../../src/config/diagnostics.js';
import type { ConfigModel } from '../../src/config/model.js';

const FIX = 'test/fixtures/apache';
/** The end of check's warning about local-only pages with no proxy declared. */
const LOCAL_WARNING = 'and no proxy is declared: if a proxy on this host or in that network forwards to this listener (a TLS terminator, a cloud load balancer, a CDN), every client it forwards gets in with its address; declare it (RemoteIPHeader X-Forwarded-For with RemoteIPInternalProxy ADDRESS, or remoteIp in YAML) or its PROXY protocol (RemoteIPProxyProtocol On, proxyProtocol), or add a login; nothing to do if clients reach this listener directly';

/** The model as plain JSON, without the machine-specific source path. */
function plain(model: ConfigModel): unknown {
  const { source: _source, ...rest } = model;
  if (rest.persist) rest.persist = { file: relative(process.cwd(), rest.persist.file) };
  return JSON.parse(JSON.stringify(rest));
}

for (const name of ['philippe', 'sven', 'features', 'health-example']) {
  test(`apache golden: ${name}.conf loads to ${name}.expected.json`, () => {
    const { model } = loadConfigFile(`${FIX}/${name}.conf`);
    const expectedFile = `${FIX}/${name}.expected.json`;
    if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, `${JSON.stringify(plain(model), null, 2)}\n`);
    assert.deepEqual(plain(model), JSON.parse(readFileSync(expectedFile, 'utf8')));
  });
}

test('apache golden: the repaired seeds route as the thread describes', () => {
  const p = loadConfigFile(`${FIX}/philippe.conf`).model;
  const pb = p.balancers.mycluster;
  assert.deepEqual(pb.sticky, { cookie: '_s', url: '_s' });
  assert.deepEqual(pb.members.map((m) => [m.url, m.route]), [
    ['http://127.0.0.1:8080', 'first'],
    ['http://127.0.0.1:9090', 'second'],
  ]);
  assert.equal(pb.nofailover, false);
  assert.deepEqual(p.sites[0].rules.map((r) => [r.kind, r.path]), [
    ['exclude', '/balancer-manager'],
    ['exclude', '/server-status'],
    ['proxy', '/'],
  ]);
  assert.deepEqual(p.sites[0].handlers.map((h) => [h.path, h.handler, h.allow, h.deny]), [
    ['/balancer-manager', 'balancer-manager', ['127.0.0.1', 'local'], []],
    ['/server-status', 'server-status', ['127.0.0.1', 'local'], []],
  ]);

  const s = loadConfigFile(`${FIX}/sven.conf`).model;
  const sb = s.balancers['seaside-cluster'];
  assert.deepEqual(sb.sticky, { cookie: '_s', url: '_s' });
  assert.equal(sb.nofailover, true);
  assert.deepEqual(sb.members.map((m) => m.route), ['R1', 'R2']);
  assert.equal(s.sites[0].serverName, 'smalltalk.wolf359.be');
  assert.equal(s.sites[0].static?.root, '/home/sven/html');
  assert.deepEqual(s.sites[0].reverse, [{ path: '/', prefixes: ['http://127.0.0.1:8081/', 'http://127.0.0.1:8082/'], upstreamPath: '/', relative: false }]);
  assert.deepEqual(s.sites[0].handlers.map((h) => h.allow), [['all'], ['all']]);
});

function lines(file: string): string[] {
  return analyseConfigFile(file).diagnostics.map(formatDiagnostic);
}

test('apache golden: Philippe\'s config as archived says exactly what is missing where', () => {
  const f = `${FIX}/philippe-mangled.conf`;
  assert.deepEqual(lines(f), [
    `${f}: info: no Listen directive: stickylb listens on port 8080, its default`,
    `${f}:8: error: ProxyPassReverse /: no URL (expected ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/; the one-argument form works only inside <Location>)`,
    `${f}:9: error: ProxyPassReverse /: no URL (expected ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/; the one-argument form works only inside <Location>)`,
    `${f}:10: warning: balancer mycluster has no members: every request sent to it gets 503`,
    `${f}:11: error: BalancerMember: no member URL (expected BalancerMember [balancer://name] http://host:port [key=value …])`,
    `${f}:12: error: BalancerMember: no member URL (expected BalancerMember [balancer://name] http://host:port [key=value …])`,
    `${f}:14: warning: security: balancer-manager at /balancer-manager is allowed to local clients, ${LOCAL_WARNING}`,
    `${f}:18: error: Allow from: nothing after "from" (expected Allow from all|HOST|IP|IP/CIDR …)`,
    `${f}:21: warning: security: server-status at /server-status is allowed to local clients, ${LOCAL_WARNING}`,
    `${f}:25: error: Allow from: nothing after "from" (expected Allow from all|HOST|IP|IP/CIDR …)`,
  ]);
  assert.throws(() => loadConfigFile(f), (e: unknown) => e instanceof ConfigError && e.diagnostics.length === 6);
});

test('apache golden: Sven\'s config as archived: missing member URLs and the four lost closing tags', () => {
  const f = `${FIX}/sven-mangled.conf`;
  assert.deepEqual(lines(f), [
    `${f}:1: error: <VirtualHost *:80> is not closed: add </VirtualHost> after line 34, at the end of the file`,
    `${f}:1: info: no Listen directive: listening on port 80, taken from <VirtualHost *:80> (Apache keeps Listen in ports.conf)`,
    `${f}:4: error: <Directory /home/sven/html> is not closed: add </Directory> after line 6 (line 8: ProxyRequests cannot be used inside <Directory>)`,
    `${f}:4: info: <Directory /home/sven/html>: per-directory settings are ignored (stickylb serves files under DocumentRoot to every client)`,
    `${f}:12: error: BalancerMember: no member URL (expected BalancerMember [balancer://name] http://host:port [key=value …])`,
    `${f}:12: warning: balancer seaside-cluster has no members: every request sent to it gets 503`,
    `${f}:13: error: BalancerMember: no member URL (expected BalancerMember [balancer://name] http://host:port [key=value …])`,
    `${f}:22: error: <Location /balancer-manager> is not closed: add </Location> after line 25 (line 27: <Location> cannot be used inside <Location>)`,
    `${f}:25: warning: security: balancer-manager at /balancer-manager is open to everyone (Allow from all): anyone who can reach this server can disable members and change the balancers; allow only trusted addresses (Require local, Require ip 10.0.0.0/8) or add a login (AuthType Basic with AuthUserFile)`,
    `${f}:27: error: <Location /server-status> is not closed: add </Location> after line 30 (line 32: ErrorLog cannot be used inside <Location>)`,
    `${f}:30: warning: security: server-status at /server-status is open to everyone (Allow from all): anyone can see the members, their routes and their traffic; allow only trusted addresses (Require local, Require ip 10.0.0.0/8) or add a login (AuthType Basic with AuthUserFile)`,
  ]);
});

test('apache golden: the repaired seeds have no errors; Sven\'s open manager stays a security warning; Philippe\'s local-only pages are warned about with no proxy declared', () => {
  const p = analyseConfigFile(`${FIX}/philippe.conf`);
  assert.deepEqual([p.errors, p.warnings], [0, 2]);
  assert.deepEqual(
    p.diagnostics.filter((d) => d.severity === 'warning').map((d) => [d.line, d.code]),
    [
      [14, 'local-behind-proxy'],
      [21, 'local-behind-proxy'],
    ],
  );
  const s = analyseConfigFile(`${FIX}/sven.conf`);
  assert.deepEqual([s.errors, s.warnings], [0, 2]);
  assert.deepEqual(
    s.diagnostics.filter((d) => d.severity === 'warning').map((d) => [d.line, d.code]),
    [
      [25, 'handler-open'],
      [30, 'handler-open'],
    ],
  );
});
