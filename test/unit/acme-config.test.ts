// Automatic certificates in the config: mod_md's directives and the YAML `acme` block make the
// same model; names a CA cannot certify, a name in two domains and bad values are refused with the
// line and what is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { ConfigFs } from '../../src/config/apache/include.js';
import { ConfigError, formatDiagnostic } from '../../src/config/diagnostics.js';
import { validateConfig } from '../../src/config/validate.js';
import { lintConfig } from '../../src/config/lint.js';
import { describeConfig, renderSetup } from '../../src/config/describe.js';

const noFs: ConfigFs = { readFile: () => '', readdir: () => [], isDirectory: () => false, exists: () => false };

function apache(text: string) {
  const r = parseApacheConfig(text, '/etc/stickylb/a.conf', noFs, {});
  const messages = r.diagnostics.filter((d) => !d.code?.startsWith('listen-')).map(formatDiagnostic);
  let model;
  let errors: string[] = [];
  try {
    model = validateConfig(r.raw, { source: '/etc/stickylb/a.conf', sourceMap: r.sourceMap });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    errors = e.diagnostics.map(formatDiagnostic);
  }
  return { raw: r.raw as any, messages, model, errors };
}

function yaml(raw: Record<string, unknown>) {
  try {
    return { model: validateConfig(raw, { source: '/srv/lb/stickylb.yaml' }), errors: [] as string[] };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { model: undefined, errors: e.diagnostics.map(formatDiagnostic) };
  }
}

test('mod_md directives become the acme block; the vhost names of a domain join it (MDMembers auto)', () => {
  const c = apache(
    [
      'Listen 80',
      'Listen 443',
      'MDomain example.org',
      'MDCertificateAuthority letsencrypt-test',
      'MDContactEmail admin@example.org',
      'MDCertificateAgreement accepted',
      'MDStoreDir /var/lib/stickylb/md',
      'MDRenewWindow 21',
      'MDPrivateKeys secp256r1',
      'MDRetryDelay 5s',
      '<VirtualHost *:443>',
      '  ServerName example.org',
      '  ServerAlias www.example.org *.example.org',
      '</VirtualHost>',
    ].join('\n'),
  );
  assert.deepEqual(c.errors, []);
  assert.deepEqual(c.raw.acme, {
    domains: [['example.org', 'www.example.org']],
    directory: 'letsencrypt-test',
    contact: 'admin@example.org',
    agreeToTerms: true,
    storeDir: '/var/lib/stickylb/md',
    renewWindow: '21d',
    keyType: 'p256',
    retryDelay: 5,
  });
  const acme = c.model!.acme!;
  assert.equal(acme.directory, 'https://acme-staging-v02.api.letsencrypt.org/directory');
  assert.deepEqual(acme.renewWindow, { ms: 21 * 86_400_000 });
  assert.equal(acme.retryDelayMs, 5000);
  assert.deepEqual(acme.domains, [{ names: ['example.org', 'www.example.org'] }]);
  assert.deepEqual(acme.caCertificates, []);
});

test('mod_md defaults: Let\'s Encrypt, store "md" next to the config, a third of the lifetime, no terms accepted, 5 s after a failure [acme-retry-delay]', () => {
  const acme = apache('MDomain example.org www.example.org').model!.acme!;
  // mod_md's first wait after a failure; YAML waits a minute.
  assert.equal(acme.retryDelayMs, 5000);
  assert.equal(yaml({ acme: { domains: ['example.org'] } }).model!.acme!.retryDelayMs, 60_000);
  assert.equal(yaml({ defaults: 'apache', acme: { domains: ['example.org'] } }).model!.acme!.retryDelayMs, 5000);
  assert.equal(acme.directory, 'https://acme-v02.api.letsencrypt.org/directory');
  assert.equal(acme.storeDir, '/etc/stickylb/md');
  assert.deepEqual(acme.renewWindow, { percent: 33 });
  assert.equal(acme.agreeToTerms, false);
  assert.equal(acme.contact, undefined);
  assert.equal(acme.keyType, 'rsa2048');
});

test('ServerAdmin is the contact when there is no MDContactEmail (and no longer listed as ignored)', () => {
  const c = apache('ServerAdmin mailto:web@example.org\nMDomain example.org');
  assert.equal(c.model!.acme!.contact, 'web@example.org');
  assert.deepEqual(c.messages, ['/etc/stickylb/a.conf:1: info: ServerAdmin web@example.org is the contact of the ACME account (no MDContactEmail)']);
  const vhost = apache('MDomain example.org\n<VirtualHost *:443>\nServerName example.org\nServerAdmin ops@example.org\n</VirtualHost>');
  assert.equal(vhost.model!.acme!.contact, 'ops@example.org');
  const both = apache('ServerAdmin web@example.org\nMDContactEmail certs@example.org\nMDomain example.org');
  assert.equal(both.model!.acme!.contact, 'certs@example.org');
});

test('<MDomainSet> with MDMember; manual membership keeps the vhost names out', () => {
  const c = apache(
    ['<MDomainSet example.org>', '  MDMember www.example.org', '</MDomainSet>', 'MDomain other.org manual', '<VirtualHost *:443>', 'ServerName other.org', 'ServerAlias www.other.org', '</VirtualHost>'].join('\n'),
  );
  assert.deepEqual(c.errors, []);
  assert.deepEqual(c.model!.acme!.domains, [{ names: ['example.org', 'www.example.org'] }, { names: ['other.org'] }]);
});

test('mod_md: what stickylb cannot do is an error with the line and the accepted form', () => {
  const c = apache(
    [
      'MDomain *.example.org',
      'MDomain 192.0.2.1',
      'MDCAChallenges dns-01',
      'MDPrivateKeys RSA 2048 secp256r1',
      'MDCertificateAuthority https://a.example/dir https://b.example/dir',
      'MDCertificateAgreement maybe',
      'MDRenewWindow soon',
      '<VirtualHost *:443>',
      'MDomain in.vhost.org',
      '</VirtualHost>',
    ].join('\n'),
  );
  const errors = c.messages.filter((m) => m.includes('error'));
  assert.deepEqual(errors, [
    '/etc/stickylb/a.conf:1: error: MDomain *.example.org: *.example.org: a wildcard certificate needs the dns-01 challenge, which stickylb cannot answer (expected MDomain NAME [NAME …] [auto|manual])',
    '/etc/stickylb/a.conf:2: error: MDomain 192.0.2.1: 192.0.2.1: certificates are managed for DNS names, not addresses (expected MDomain NAME [NAME …] [auto|manual])',
    '/etc/stickylb/a.conf:3: error: MDCAChallenges dns-01: stickylb answers the http-01 and tls-alpn-01 challenges (not dns-01) (expected MDCAChallenges tls-alpn-01|http-01 [tls-alpn-01|http-01])',
    '/etc/stickylb/a.conf:4: error: MDPrivateKeys RSA 2048 secp256r1: one key type: RSA 2048, 3072 or 4096, secp256r1 or secp384r1 (several key types per domain are not supported) (expected MDPrivateKeys RSA [2048|3072|4096] | secp256r1 | secp384r1)',
    '/etc/stickylb/a.conf:5: error: MDCertificateAuthority https://a.example/dir https://b.example/dir: stickylb uses one CA; give one URL or name (mod_md tries several in turn) (expected MDCertificateAuthority URL|letsencrypt|letsencrypt-test|buypass|buypass-test)',
    '/etc/stickylb/a.conf:6: error: MDCertificateAgreement maybe: "maybe" is not "accepted" (expected MDCertificateAgreement accepted)',
    '/etc/stickylb/a.conf:7: error: MDRenewWindow soon: "soon" is not a share of the lifetime (33%) or a time (21d, 12h) (expected MDRenewWindow 33%|21d|12h)',
    '/etc/stickylb/a.conf:9: error: MDomain cannot be used inside <VirtualHost> (allowed in the main server)',
  ]);
});

test('mod_md: a name in two managed domains is refused; settings without MDomain are warned about', () => {
  const c = apache('MDomain example.org www.example.org\nMDomain www.example.org');
  assert.ok(c.messages.includes('/etc/stickylb/a.conf:2: error: MDomain: www.example.org is already managed by the MDomain at /etc/stickylb/a.conf:1; a name can be in one managed domain only'), c.messages.join('\n'));
  const unused = apache('MDContactEmail a@example.org');
  assert.deepEqual(unused.messages, ['/etc/stickylb/a.conf:1: warning: MDContactEmail: no MDomain, so no certificate is managed (contact is unused)']);
  assert.equal(unused.model!.acme, undefined);
});

test('YAML acme block: CA names, paths from the config folder, renew window in words', () => {
  const { model, errors } = yaml({
    acme: {
      domains: ['example.org', ['shop.example.org', 'www.shop.example.org']],
      directory: 'https://127.0.0.1:14000/dir',
      contact: 'mailto:ops@example.org',
      agreeToTerms: true,
      storeDir: 'certs',
      renewWindow: '12h',
      retryDelay: '2m',
      caCertificates: 'pebble-ca.pem',
    },
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(model!.acme, {
    directory: 'https://127.0.0.1:14000/dir',
    contact: 'ops@example.org',
    agreeToTerms: true,
    storeDir: '/srv/lb/certs',
    renewWindow: { ms: 12 * 3_600_000 },
    retryDelayMs: 120_000,
    keyType: 'rsa2048',
    caCertificates: ['/srv/lb/pebble-ca.pem'],
    challenges: ['http-01'],
    domains: [{ names: ['example.org'] }, { names: ['shop.example.org', 'www.shop.example.org'] }],
  });
  assert.deepEqual(yaml({ acme: { domains: ['a.example'], renewWindow: '25%' } }).model!.acme!.renewWindow, { percent: 25 });
  assert.equal(yaml({}).model!.acme, undefined);
});

test('YAML acme block: wildcards, addresses, duplicates and bad values are refused', () => {
  const { errors } = yaml({ acme: { domains: ['*.example.org', ['a.example', '10.0.0.1'], 'a.example'], directory: 'nowhere', renewWindow: 'later' } });
  assert.deepEqual(errors.sort(), [
    '/srv/lb/stickylb.yaml: error: acme.directory: "nowhere" must be an http(s):// directory URL or one of letsencrypt, letsencrypt-test, letsencrypt-staging, buypass, buypass-test',
    '/srv/lb/stickylb.yaml: error: acme.domains[0]: "*.example.org" a wildcard certificate needs the dns-01 challenge, which stickylb cannot answer',
    '/srv/lb/stickylb.yaml: error: acme.domains[1][1]: "10.0.0.1" certificates are managed for DNS names, not addresses',
    '/srv/lb/stickylb.yaml: error: acme.renewWindow: "later" must be a share of the lifetime ("33%") or a time ("21d", "12h")',
  ].sort());
  const dup = yaml({ acme: { domains: ['a.example', ['b.example', 'A.example']] } });
  assert.deepEqual(dup.errors, ['/srv/lb/stickylb.yaml: error: acme.domains[1]: a.example is already in acme.domains[0]; a name can be in one managed domain only']);
});

test('check warns when the CA will most likely refuse: terms not accepted, nothing on port 80, no contact', () => {
  const text = 'Listen 8080\nMDomain example.org';
  const r = parseApacheConfig(text, '/etc/stickylb/a.conf', noFs, {});
  const model = validateConfig(r.raw, { source: '/etc/stickylb/a.conf', sourceMap: r.sourceMap });
  const lines = lintConfig(model, { raw: r.raw, sourceMap: r.sourceMap, file: '/etc/stickylb/a.conf' }).map(formatDiagnostic);
  assert.deepEqual(lines, [
    "/etc/stickylb/a.conf:2: warning: automatic certificates: the CA's terms of service are not accepted; Let's Encrypt and most CAs issue nothing without it (MDCertificateAgreement accepted; acme.agreeToTerms: true)",
    '/etc/stickylb/a.conf:2: info: automatic certificates: no contact address, so the CA cannot warn you about expiring certificates or changes of its terms (MDContactEmail or ServerAdmin; acme.contact)',
    '/etc/stickylb/a.conf:2: warning: automatic certificates: the CA fetches its HTTP-01 challenge from port 80 (a plain-HTTP listener) of each name, and stickylb listens on 8080: forward port 80 to a plain-HTTP listener of stickylb, or listen on 80',
  ]);
  const good = parseApacheConfig('Listen 80\nMDomain example.org\nMDContactEmail a@example.org\nMDCertificateAgreement accepted', '/etc/stickylb/a.conf', noFs, {});
  assert.deepEqual(lintConfig(validateConfig(good.raw), { raw: good.raw, sourceMap: good.sourceMap }), []);
});

test('challenge types: acme.challenges in YAML; MDCAChallenges and Protocols … acme-tls/1 as mod_md chooses them', () => {
  const tlsListen = [{ port: 443, tls: true }, 80];
  // YAML: http-01 unless asked; the order is the preference.
  assert.deepEqual(yaml({ acme: { domains: ['example.org'] } }).model!.acme!.challenges, ['http-01']);
  assert.deepEqual(yaml({ listen: tlsListen, serverName: 'example.org', acme: { domains: ['example.org'], challenges: ['tls-alpn-01', 'http-01'] } }).model!.acme!.challenges, ['tls-alpn-01', 'http-01']);
  assert.deepEqual(yaml({ listen: [80], acme: { domains: ['example.org'], challenges: ['tls-alpn-01'] } }).errors, [
    '/srv/lb/stickylb.yaml: error: acme.challenges: tls-alpn-01 is answered on TLS listeners (the CA connects to port 443), and no listener has tls; add one, or answer http-01',
  ]);
  assert.deepEqual(yaml({ acme: { domains: ['example.org'], challenges: ['dns-01'] } }).errors, ['/srv/lb/stickylb.yaml: error: acme.challenges[0]: "dns-01" is not accepted (accepted: http-01, tls-alpn-01)']);

  const vhost = (protocols: string, extra: string[] = []) =>
    apache(['Listen 80', 'Listen 443', 'MDomain example.org', 'MDCertificateAgreement accepted', ...extra, '<VirtualHost *:443>', '  ServerName example.org', '  SSLEngine on', `  ${protocols}`, '</VirtualHost>'].join('\n'));
  // mod_md's default tries tls-alpn-01 first once Protocols offers acme-tls/1; acme-tls/1 is no HTTP protocol of the listener.
  const auto = vhost('Protocols h2 http/1.1 acme-tls/1');
  assert.deepEqual(auto.errors, []);
  assert.deepEqual(auto.model!.acme!.challenges, ['tls-alpn-01', 'http-01']);
  assert.deepEqual(auto.model!.listeners.find((l) => l.port === 443)!.protocols, ['h2', 'http/1.1']);
  assert.ok(auto.messages.includes('/etc/stickylb/a.conf:8: info: Protocols … acme-tls/1: the CA may validate the managed names with tls-alpn-01 on the TLS listeners (port 443 for the CA), else http-01, as mod_md does'), auto.messages.join('\n'));
  // Without acme-tls/1, as mod_md: http-01 only.
  assert.deepEqual(vhost('Protocols h2 http/1.1').model!.acme!.challenges, ['http-01']);
  // MDCAChallenges chooses, in its order; what stickylb does not answer is said.
  assert.deepEqual(vhost('Protocols h2 http/1.1 acme-tls/1', ['MDCAChallenges tls-alpn-01']).model!.acme!.challenges, ['tls-alpn-01']);
  const mixed = vhost('Protocols h2 http/1.1 acme-tls/1', ['MDCAChallenges dns-01 http-01 tls-alpn-01']);
  assert.deepEqual(mixed.model!.acme!.challenges, ['http-01', 'tls-alpn-01']);
  assert.ok(mixed.messages.includes('/etc/stickylb/a.conf:5: warning: MDCAChallenges: stickylb answers http-01 and tls-alpn-01 (dns-01 is not used)'), mixed.messages.join('\n'));
  const noProtocol = vhost('Protocols h2 http/1.1', ['MDCAChallenges tls-alpn-01 http-01']);
  assert.deepEqual(noProtocol.model!.acme!.challenges, ['http-01']);
  assert.ok(noProtocol.messages.includes('/etc/stickylb/a.conf:5: warning: MDCAChallenges: tls-alpn-01 needs acme-tls/1 in a Protocols line, as in mod_md; only http-01 is answered'), noProtocol.messages.join('\n'));
  const only = vhost('Protocols h2 http/1.1', ['MDCAChallenges tls-alpn-01']);
  assert.ok(only.messages.includes('/etc/stickylb/a.conf:5: error: MDCAChallenges tls-alpn-01: tls-alpn-01 needs acme-tls/1 in a Protocols line (Protocols h2 http/1.1 acme-tls/1), as in mod_md; add it, or answer http-01'), only.messages.join('\n'));

  // check: a TLS listener on 443 is what tls-alpn-01 needs; describe says how.
  const alpnOnly = yaml({ listen: [{ port: 443, tls: true }], serverName: 'example.org', acme: { domains: ['example.org'], challenges: ['tls-alpn-01'], agreeToTerms: true, contact: 'a@example.org' } }).model!;
  assert.deepEqual(lintConfig(alpnOnly, {}).map(formatDiagnostic), []);
  assert.match(renderSetup(describeConfig(alpnOnly)), /\(ACME, TLS-ALPN-01 on port 443\)/);
  const elsewhere = yaml({ listen: [{ port: 8443, tls: true }], serverName: 'example.org', acme: { domains: ['example.org'], challenges: ['tls-alpn-01'], agreeToTerms: true, contact: 'a@example.org' } }).model!;
  assert.deepEqual(lintConfig(elsewhere, {}).map((d) => d.message), [
    'automatic certificates: the CA connects for its TLS-ALPN-01 challenge to port 443 (a TLS listener) of each name, and stickylb listens on 8443: forward port 443 to a TLS listener of stickylb, or listen on 443 with tls',
  ]);
});

test('check describes the managed domains: names, CA, renewal, store', () => {
  const { model } = apache('Listen 80\nMDomain example.org www.example.org\nMDomain shop.example.org\nMDRenewWindow 21d\nMDCertificateAgreement accepted');
  const text = renderSetup(describeConfig(model!));
  assert.match(text, /^Certificates: example\.org, www\.example\.org from https:\/\/acme-v02\.api\.letsencrypt\.org\/directory \(ACME, HTTP-01 on port 80\), renewed 21d before expiry, kept in \/etc\/stickylb\/md$/m);
  assert.match(text, /^Certificates: shop\.example\.org from /m);
  assert.doesNotMatch(renderSetup(describeConfig(apache('Listen 80').model!)), /Certificates:/);
});

test('MDRequireHttps: the hosts of managed names redirect plain HTTP (302, or 301 with HSTS for permanent)', () => {
  const conf = (mode: string) =>
    apache(
      [
        'Listen 80',
        'MDomain example.org',
        `MDRequireHttps ${mode}`,
        '<VirtualHost *:80>',
        'ServerName example.org',
        '</VirtualHost>',
        '<VirtualHost *:80>',
        'ServerName other.org',
        '</VirtualHost>',
      ].join('\n'),
    );
  const temporary = conf('temporary');
  assert.deepEqual(temporary.errors, []);
  assert.deepEqual(temporary.model!.sites.map((s) => [s.serverName, s.redirectToHttps?.status, s.hsts]), [
    ['example.org', 302, undefined],
    ['other.org', undefined, undefined],
  ]);
  const permanent = conf('permanent').model!;
  assert.equal(permanent.sites[0].redirectToHttps?.status, 301);
  assert.equal(permanent.sites[0].hsts, 'max-age=15768000');
  assert.equal(conf('off').model!.sites[0].redirectToHttps, undefined);
  assert.match(conf('always').messages.join('\n'), /MDRequireHttps always: "always" is not off, temporary or permanent/);
});
