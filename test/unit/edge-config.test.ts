// The edge settings from Apache syntax and YAML to the model: mod_remoteip's directives and list
// files, the request limits with Apache's defaults, RemoteIPProxyProtocol per virtual host,
// access sections in Apache's merge order, and the configs refused with their line because a
// rule cannot be enforced or would trust every client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { ConfigFs } from '../../src/config/apache/include.js';
import { ConfigError, formatDiagnostic } from '../../src/config/diagnostics.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';

const noFs: ConfigFs = { readFile: () => '', readdir: () => [], isDirectory: () => false, exists: () => false };

function load(text: string) {
  const r = parseApacheConfig(text, 'a.conf', noFs, {});
  return validateConfig(r.raw, { source: '/etc/stickylb/a.conf', sourceMap: r.sourceMap });
}

function errors(text: string): string[] {
  const r = parseApacheConfig(text, 'a.conf', noFs, {});
  const own = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  try {
    validateConfig(r.raw, { source: 'a.conf', sourceMap: r.sourceMap });
    return own;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return [...own, ...e.diagnostics.map(formatDiagnostic)];
  }
}

test('Apache defaults of the limits, under both front ends', () => {
  for (const m of [load('Listen 80'), validateConfig({})]) {
    assert.deepEqual(
      [m.edge.limitRequestFields, m.edge.limitRequestFieldSize, m.edge.limitRequestLine, m.edge.maxKeepAliveRequests, m.sites[0].limitRequestBody],
      [100, 8190, 8190, 100, 1073741824],
    );
    assert.deepEqual(m.edge.readTimeout, { headerMs: 20000, headerMaxMs: 40000, headerMinRate: 500, bodyMs: 20000, bodyMaxMs: 0, bodyMinRate: 500 });
    assert.equal(m.sites[0].remoteIp, undefined);
    assert.equal(m.sites[0].access, undefined);
  }
});

test('mod_remoteip directives, list files, limits and RemoteIPProxyProtocol in a virtual host', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-remoteip-'));
  writeFileSync(join(dir, 'cdn.txt'), '# the CDN\n198.51.100.0/24 203.0.113.0/24 # two networks\n\n2001:db8::/32\n');
  const r = parseApacheConfig(
    `Listen 80\nListen 8443\nRemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1 10.0.0.0/8\nRemoteIPTrustedProxyList ${dir}/cdn.txt\nLimitRequestBody 5000\nLimitRequestFields 50\nMaxKeepAliveRequests 0\nRequestReadTimeout body=30,MinRate=1000\n<VirtualHost *:8443>\n  RemoteIPProxyProtocol On\n</VirtualHost>`,
    'a.conf',
    noFs,
    {},
  );
  assert.deepEqual(r.diagnostics.filter((d) => d.severity !== 'info'), []);
  const raw = r.raw as RawConfig;
  assert.deepEqual(raw.remoteIp, { header: 'X-Forwarded-For', internalProxies: ['127.0.0.1', '10.0.0.0/8'], trustedProxyList: [`${dir}/cdn.txt`] });
  assert.deepEqual([raw.limitRequestBody, raw.limitRequestFields, raw.maxKeepAliveRequests, raw.requestReadTimeout, raw.proxyProtocol], [5000, 50, 0, 'body=30,MinRate=1000', [8443]]);
  const m = validateConfig(raw);
  assert.deepEqual(m.sites[0].remoteIp, {
    header: 'x-forwarded-for',
    proxies: [
      { net: '127.0.0.1', internal: true },
      { net: '10.0.0.0/8', internal: true },
      { net: '198.51.100.0/24', internal: false },
      { net: '203.0.113.0/24', internal: false },
      { net: '2001:db8::/32', internal: false },
    ],
  });
  assert.deepEqual(m.edge.proxyProtocol, { all: false, listeners: [{ port: 8443 }] });
  assert.equal(m.edge.readTimeout.bodyMs, 30000);
  assert.equal(m.edge.readTimeout.headerMaxMs, 40000, 'the stage left out keeps its default');
});

test('RemoteIPHeader without a declared proxy is refused: every client could claim any address [remote-ip-untrusted]', () => {
  assert.deepEqual(errors('RemoteIPHeader X-Forwarded-For'), [
    'a.conf:1: error: RemoteIPHeader: remoteIp.header: X-Forwarded-For would be taken from every client, which lets anyone claim any address; name the proxies whose header is trusted (RemoteIPTrustedProxy / RemoteIPInternalProxy, trustedProxies / internalProxies)',
  ]);
  assert.match(errors('RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy proxy.example.org').join('\n'), /a\.conf:2: .*host names are not resolved/);
  assert.match(errors('RemoteIPHeader X-Forwarded-For\nRemoteIPTrustedProxyList /nonexistent/list').join('\n'), /a\.conf:2: .*cannot read the proxy list \/nonexistent\/list \(ENOENT\)/);
});

test('access rules that cannot be enforced fail with their line [access-rules-enforced]', () => {
  const text = '<Location /a>\n  Require env LOGGED_IN\n</Location>\n<LocationMatch "\\A/admin">\n  Require local\n</LocationMatch>\n<Location /b>\n  Require valid-user\n</Location>\n<Location /c>\n  AuthType Digest\n</Location>\n<Location /d>\n  Allow from env=let_in\n</Location>';
  const e = errors(text);
  assert.match(e.find((x) => x.includes('env LOGGED_IN'))!, /^a\.conf:2: error: .*the env provider cannot be enforced/);
  assert.match(e.find((x) => x.includes('\\\\A'))!, /^a\.conf:4: error: .*PCRE escapes/);
  assert.match(e.find((x) => x.includes('AuthUserFile'))!, /^a\.conf:7: error: .*no AuthUserFile/);
  assert.match(e.find((x) => x.includes('Digest'))!, /^a\.conf:11: error: AuthType Digest: stickylb checks Basic authentication only/);
  assert.match(e.find((x) => x.includes('env=let_in'))!, /^a\.conf:14: error: .*environment conditions cannot be enforced/);
  assert.equal(e.length, 5);
});

test('access sections: <Proxy> first, then <Location>, the main server before a virtual host; YAML shorthands', () => {
  const m = load('<Location /x>\n  Require all denied\n</Location>\n<Proxy balancer://c>\n  BalancerMember http://h:1\n  Require local\n</Proxy>\nProxyPass / balancer://c/\n<VirtualHost *:80>\n  <Location /y>\n    Require ip 10.1\n  </Location>\n</VirtualHost>');
  assert.deepEqual(
    m.sites[0].access!.map((s) => [s.scope, s.prefix]),
    [
      ['proxy', 'balancer://c'],
      ['location', '/x'],
      ['location', '/y'],
    ],
  );
  const y = validateConfig({ access: [{ path: '/ops', allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16'], htpasswd: '/etc/ops', realm: 'Ops' }] });
  const s = y.sites[0].access![0];
  assert.deepEqual([s.authType, s.authUserFile, s.authName, s.require?.kind === 'container' && s.require.op], ['basic', '/etc/ops', 'Ops', 'and']);
  assert.throws(() => validateConfig({ access: [{ path: '/a', require: 'all granted', allow: ['local'] }] }), /either require or the allow\/deny\/htpasswd shorthands/);
  assert.throws(() => validateConfig({ access: [{ path: '/a', match: '^/a' }] }), /exactly one of path, match, proxy or proxyMatch/);
});
