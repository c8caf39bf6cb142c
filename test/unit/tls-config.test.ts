// The TLS, HTTP/2 and redirect settings in both front ends: Apache's SSL* lines, Protocols,
// Redirect and the HSTS Header into the raw config (with file:line for every refusal), YAML's
// listener and site fields into the model with their secure defaults, and the pure pieces
// (SSLProtocol, version ranges, weak settings, redirects, the HTTP/2 field rules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { ConfigFs } from '../../src/config/apache/include.js';
import { ConfigError, formatDiagnostic } from '../../src/config/diagnostics.js';
import { validateConfig } from '../../src/config/validate.js';
import { DEFAULT_POLICY, INTERMEDIATE_CIPHERS, cipherWarnings, parseSslProtocol, versionRange, versionWarnings } from '../../src/tls/policy.js';
import { httpsLocation, redirectFor } from '../../src/proxy/redirect.js';
import { h2Request, h2ResponseHeaders } from '../../src/proxy/h2/fields.js';
import type { SiteModel } from '../../src/config/model.js';

const noFs: ConfigFs = { readFile: () => '', readdir: () => [], isDirectory: () => false, exists: () => false };

function apache(text: string) {
  const r = parseApacheConfig(text, 'a.conf', noFs, {});
  return { raw: r.raw as any, messages: r.diagnostics.filter((d) => !d.code?.startsWith('listen-')).map(formatDiagnostic), sourceMap: r.sourceMap };
}

function model(raw: unknown) {
  try {
    return { model: validateConfig(raw), errors: [] as string[] };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { model: undefined, errors: e.diagnostics.map(formatDiagnostic) };
  }
}

const BALANCER = '<Proxy balancer://app>\nBalancerMember http://127.0.0.1:9001 route=a\n</Proxy>\n';

test('SSLEngine on makes the address TLS whatever its Listen line says; certificates go to the site; Apache syntax offers HTTP/1.1 only, YAML h2 too [tls-h2-default]', () => {
  const c = apache(
    `Listen 127.0.0.1:8080\nListen 127.0.0.1:8443\n${BALANCER}<VirtualHost *:8443>\nServerName a.test\nSSLEngine on\nSSLCertificateFile a.crt\nSSLCertificateKeyFile a.key\nSSLCertificateChainFile chain.pem\nProxyPass / balancer://app/\n</VirtualHost>`,
  );
  assert.deepEqual(c.messages, []);
  assert.deepEqual(c.raw.listen, ['127.0.0.1:8080', { port: 8443, host: '127.0.0.1', tls: true, protocols: ['http/1.1'] }]);
  assert.deepEqual(c.raw.virtualHosts[0].tls, { cert: 'a.crt', key: 'a.key', chain: 'chain.pem' });
  assert.equal(c.sourceMap.get('virtualHosts[0].tls')?.line, 9);
  // Resolved, the Apache config gets stickylb's secure defaults; YAML's TLS listener offers h2.
  const m = model(c.raw).model!;
  assert.deepEqual(m.listeners[1].protocols, ['http/1.1']);
  assert.deepEqual(model({ ...c.raw, defaults: undefined, listen: [{ port: 8443, tls: true }] }).model!.listeners[0].protocols, ['h2', 'http/1.1']);
});

test('Apache syntax without SSLProtocol or SSLCipherSuite gets TLS 1.2 and 1.3 and the intermediate ciphers, as YAML does [tls-defaults]', () => {
  const c = apache(`Listen 443\n${BALANCER}<VirtualHost *:443>\nSSLEngine on\nSSLCertificateFile a.crt\nSSLCertificateKeyFile a.key\n</VirtualHost>`);
  assert.deepEqual(model(c.raw).model!.listeners[0].tls, DEFAULT_POLICY);
  const all = apache(`Listen 443\nSSLProtocol all\n${BALANCER}<VirtualHost *:443>\nSSLEngine on\nSSLCertificateFile a.crt\n</VirtualHost>`);
  const p = model(all.raw).model!.listeners[0].tls!;
  assert.equal(p.minVersion, 'TLSv1');
  assert.equal(p.maxVersion, 'TLSv1.3');
});

test('two SSLCertificateFile lines: an RSA and an ECDSA certificate side by side, keys paired in order', () => {
  const c = apache(`${BALANCER}<VirtualHost *:443>\nSSLEngine on\nSSLCertificateFile rsa.crt\nSSLCertificateKeyFile rsa.key\nSSLCertificateFile ec.crt\nSSLCertificateKeyFile ec.key\n</VirtualHost>`);
  assert.deepEqual(c.raw.virtualHosts[0].tls, { certificates: [{ cert: 'rsa.crt', key: 'rsa.key' }, { cert: 'ec.crt', key: 'ec.key' }] });
});

test('main-server SSL settings reach the addresses of the virtual hosts that turn SSLEngine on; Protocols h2 offers HTTP/2', () => {
  const c = apache(
    `Listen 80\nListen 443\nSSLProtocol -all +TLSv1.3\nSSLCipherSuite ECDHE-ECDSA-AES128-GCM-SHA256\nSSLHonorCipherOrder on\nSSLSessionTickets off\nProtocols h2 http/1.1\nSSLCertificateFile main.crt\nSSLCertificateKeyFile main.key\n${BALANCER}<VirtualHost *:80>\nRedirect permanent / https://a.test/\n</VirtualHost>\n<VirtualHost *:443>\nServerName a.test\nSSLEngine on\n</VirtualHost>`,
  );
  assert.deepEqual(c.messages, []);
  assert.deepEqual(c.raw.listen, [
    80,
    { port: 443, tls: { versions: ['TLSv1.3'], ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', honorCipherOrder: true, sessionTickets: false }, protocols: ['h2', 'http/1.1'] },
  ]);
  assert.deepEqual(c.raw.tls, { cert: 'main.crt', key: 'main.key' });
  assert.deepEqual(c.raw.virtualHosts[0].redirects, [{ path: '/', status: 301, to: 'https://a.test/' }]);
  // The whole config resolves: the 443 host inherits the main server's certificate.
  const m = model(c.raw).model!;
  assert.equal(m.listeners[1].tls!.minVersion, 'TLSv1.3');
  assert.equal(m.listeners[1].tls!.honorCipherOrder, true);
  assert.deepEqual(m.sites[1].tls, { certificates: [{ cert: 'main.crt', key: 'main.key', chain: undefined }] });
  assert.equal(m.listeners[0].tls, undefined);
});

test('Listen 443 https with no certificate for its hosts is refused, with the line of the host', () => {
  const c = apache(`Listen 443 https\n${BALANCER}<VirtualHost *:443>\nServerName a.test\nProxyPass / balancer://app/\n</VirtualHost>`);
  const r = parseApacheConfig(`Listen 443 https\n${BALANCER}<VirtualHost *:443>\nServerName a.test\nProxyPass / balancer://app/\n</VirtualHost>`, 'a.conf', noFs, {});
  assert.deepEqual(c.raw.listen, [{ port: 443, tls: true, protocols: ['http/1.1'] }]);
  try {
    validateConfig(r.raw, { source: 'a.conf', sourceMap: r.sourceMap });
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(formatDiagnostic(e.diagnostics[0]), /^a\.conf:5: error: listen\[0\] \(port 443\) is a TLS listener, but the site a\.test it serves has no certificate/);
  }
});

test('TLS settings stickylb cannot honour are errors with their line, never a quiet downgrade [tls-unsupported-refused]', () => {
  const c = apache(
    `SSLProtocol +SSLv3\nSSLVerifyClient require\nSSLUseStapling on\nSSLOpenSSLConfCmd Curves X25519\nSSLEngine optional\nSSLCompression on\nSSLInsecureRenegotiation on\nSSLStrictSNIVHostCheck on\nSSLMadeUp x\nListen 443 ftp`,
  );
  const lines = c.messages.map((m) => Number(/^a\.conf:(\d+): error:/.exec(m)?.[1]));
  assert.deepEqual(lines, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.match(c.messages[0], /SSLv3 cannot be served/);
  assert.match(c.messages[1], /client certificates are not supported/);
  assert.match(c.messages[8], /SSLMadeUp is not supported: stickylb cannot honour this TLS setting/);
  // SSLProxy* is about member connections, not this listener: a warning as before.
  assert.match(apache('SSLProxyEngine on').messages[0], /warning: SSLProxyEngine is not supported/);
});

test('virtual hosts of one TLS address must agree on SSLProtocol (it is chosen before SNI) [tls-policy-per-address]', () => {
  const c = apache(`Listen 443\n<VirtualHost *:443>\nSSLEngine on\nSSLProtocol TLSv1.2\n</VirtualHost>\n<VirtualHost *:443>\nSSLEngine on\nSSLProtocol TLSv1.3\n</VirtualHost>`);
  assert.equal(c.messages.length, 1);
  assert.match(c.messages[0], /^a\.conf:8: error: SSLProtocol differs between the virtual hosts of 443 \(line 4 and line 8\)/);
});

test('Redirect forms, in a host and in a <Location>; RedirectMatch stays unsupported', () => {
  const c = apache(
    '<VirtualHost *:80>\nRedirect /a https://x.test/b\nRedirect permanent /p https://x.test/\nRedirectPermanent /q /r\nRedirect gone /old\nRedirect 303 /s https://x.test/s\n<Location /l>\nRedirect temp https://x.test/l\n</Location>\nRedirect gone /g https://x\nRedirectMatch ^/m https://x\n</VirtualHost>',
  );
  assert.deepEqual(c.raw.virtualHosts[0].redirects, [
    { path: '/a', status: 302, to: 'https://x.test/b' },
    { path: '/p', status: 301, to: 'https://x.test/' },
    { path: '/q', status: 301, to: '/r' },
    { path: '/old', status: 410 },
    { path: '/s', status: 303, to: 'https://x.test/s' },
    { path: '/l', status: 302, to: 'https://x.test/l' },
  ]);
  assert.match(c.messages[0], /^a\.conf:10: error: Redirect gone \/g https:\/\/x: status 410 is not a redirect and takes no URL/);
  assert.match(c.messages[1], /^a\.conf:11: warning: RedirectMatch is not supported/);
});

test('Header always set Strict-Transport-Security becomes the site\'s HSTS', () => {
  const c = apache('<VirtualHost *:443>\nHeader always set Strict-Transport-Security "max-age=63072000; includeSubDomains"\n</VirtualHost>');
  assert.equal(c.raw.virtualHosts[0].hsts, 'max-age=63072000; includeSubDomains');
});

test('YAML: tls: true gets the secure defaults; versions, ciphers and protocols are checked with their path', () => {
  const base = { balancers: { app: { members: [{ url: 'http://127.0.0.1:9' }] } }, proxyPass: [{ path: '/', to: 'balancer://app/' }], tls: { cert: 'a.crt', key: 'a.key' } };
  const ok = model({ ...base, listen: [{ port: 443, tls: true }, 80, { port: 8080, protocols: ['h2c', 'http/1.1'] }] }).model!;
  assert.deepEqual(ok.listeners[0].tls, DEFAULT_POLICY);
  assert.deepEqual(ok.listeners[0].protocols, ['h2', 'http/1.1']);
  assert.equal(ok.listeners[1].protocols, undefined);
  assert.deepEqual(ok.listeners[2].protocols, ['h2c', 'http/1.1']);
  const bad = model({ ...base, listen: [{ port: 443, tls: { versions: ['TLSv1', 'TLSv1.3'] } }, { port: 444, tls: { ciphers: 'NOPE' } }, { port: 445, tls: true, protocols: ['h2c'] }] });
  assert.deepEqual(
    bad.errors.map((e) => e.replace(/ \(.*$/, '')),
    [
      'error: listen[0].tls.versions: the versions TLSv1, TLSv1.3 leave out TLSv1.1; stickylb serves one contiguous range of versions',
      'error: listen[1].tls: OpenSSL finds no cipher in "NOPE"',
      'error: listen[2].protocols: h2c is HTTP/2 without TLS; on a TLS listener write h2',
    ],
  );
  const hsts = model({ ...base, listen: [{ port: 443, tls: true }], hsts: { maxAge: '1h', includeSubDomains: true, preload: true }, redirectToHttps: true }).model!;
  assert.equal(hsts.sites[0].hsts, 'max-age=3600; includeSubDomains; preload');
  assert.deepEqual(hsts.sites[0].redirectToHttps, { status: 301 });
});

test('SSLProtocol: sets, additions, removals; all is TLS 1.0 to 1.3; a range without holes', () => {
  assert.deepEqual(parseSslProtocol(['all', '-SSLv3', '-TLSv1', '-TLSv1.1']), { versions: ['TLSv1.2', 'TLSv1.3'], notes: [] });
  assert.deepEqual(parseSslProtocol(['-all', '+TLSv1.2']), { versions: ['TLSv1.2'], notes: [] });
  assert.deepEqual((parseSslProtocol(['TLSv1.2', 'TLSv1.3']) as { versions: string[] }).versions, ['TLSv1.3']);
  assert.match(String((parseSslProtocol(['TLSv1.2', 'TLSv1.3']) as { notes: string[] }).notes), /replaces the protocols before it/);
  assert.match((parseSslProtocol(['+SSLv2']) as { error: string }).error, /cannot be served/);
  assert.match((parseSslProtocol(['TLSv9']) as { error: string }).error, /is not a protocol/);
  assert.deepEqual(versionRange(['TLSv1.3', 'TLSv1.2']), { min: 'TLSv1.2', max: 'TLSv1.3' });
  assert.ok('error' in versionRange(['TLSv1', 'TLSv1.2']));
  assert.deepEqual(versionWarnings(DEFAULT_POLICY), []);
  assert.equal(versionWarnings({ minVersion: 'TLSv1', maxVersion: 'TLSv1.3' }).length, 1);
  assert.deepEqual(cipherWarnings({ ciphers: INTERMEDIATE_CIPHERS }), []);
  assert.deepEqual(cipherWarnings({ ciphers: 'HIGH:!aNULL:!RC4' }), []);
  assert.match(cipherWarnings({ ciphers: 'ALL:RC4-SHA' })[0], /ALL .*RC4-SHA/);
});

test('redirects as mod_alias answers them; the way to HTTPS keeps the host and the target', () => {
  const site = { redirects: [{ path: '/old', to: 'https://x.test/new', status: 301 }, { path: '/', to: 'https://x.test/', status: 302 }, { path: '/gone', status: 410 }] } as unknown as SiteModel;
  assert.deepEqual(redirectFor(site, '/old/a/b', 'q=1'), { status: 301, location: 'https://x.test/new/a/b?q=1' });
  assert.deepEqual(redirectFor(site, '/older', undefined), { status: 302, location: 'https://x.test/older' });
  assert.deepEqual(redirectFor(site, '/', undefined), { status: 302, location: 'https://x.test/' });
  assert.deepEqual(redirectFor({ redirects: [{ path: '/gone', status: 410 }] } as unknown as SiteModel, '/gone/x', undefined), { status: 410 });
  const s = { redirectToHttps: { status: 301 }, serverName: 'a.test' } as unknown as SiteModel;
  assert.equal(httpsLocation(s, 'a.test:8080', '/x?y'), 'https://a.test/x?y');
  assert.equal(httpsLocation({ ...s, redirectToHttps: { status: 301, port: 8443 } } as SiteModel, '[::1]:80', '/'), 'https://[::1]:8443/');
  assert.equal(httpsLocation(s, undefined, '/'), 'https://a.test/');
  assert.equal(httpsLocation(s, 'evil.test/x', '/'), undefined);
});

test('HTTP/2 fields: pseudo fields out, :authority as Host, Cookie fields joined, connection-specific fields and characters a request head cannot carry refused', () => {
  const r = h2Request([':method', 'POST', ':path', '/a?b', ':scheme', 'https', ':authority', 'a.test', 'cookie', 'x=1', 'te', 'trailers', 'cookie', '_s=2.two', 'content-length', '5']);
  assert.ok(!('status' in r));
  assert.equal(r.cookie, 'x=1; _s=2.two');
  assert.deepEqual(r.pairs, ['te', 'trailers', 'content-length', '5', 'host', 'a.test', 'cookie', 'x=1; _s=2.two']);
  assert.equal(r.contentLength, 5);
  for (const bad of [['connection', 'close'], ['te', 'gzip'], ['transfer-encoding', 'chunked'], ['host', 'b.test'], [':foo', 'x']]) {
    const x = h2Request([':method', 'GET', ':path', '/', ':authority', 'a.test', ...bad]);
    assert.equal('status' in x && x.status, 400, bad.join(': '));
  }
  assert.equal((h2Request([':method', 'CONNECT', ':authority', 'a.test:443']) as { status: number }).status, 405);
  // What an HTTP/1.1 request head could not carry as it is never reaches a member.
  for (const [name, value] of [
    ['x-a', 'one\r\nX-Injected: 1'],
    ['x-a', 'nul\0'],
    ['x-a', 'wide \u0100'],
    ['x A', 'space in the name'],
    [':authority', 'a.test\r\nX-Injected: 1'],
  ]) {
    const x = h2Request([':method', 'GET', ':path', '/', ...(name === ':authority' ? [] : [':authority', 'a.test']), name, value]);
    assert.equal('status' in x && x.status, 400, JSON.stringify([name, value]));
  }
  for (const [method, path] of [
    ['GET', '/a b'],
    ['GET', '/a\r\nX-Injected: 1'],
    ['G T', '/'],
    ['GET\r\n', '/'],
  ]) {
    const x = h2Request([':method', method, ':path', path, ':authority', 'a.test']);
    assert.equal('status' in x && x.status, 400, JSON.stringify([method, path]));
  }
  assert.ok(!('status' in h2Request([':method', 'PATCH', ':path', '/caf\u00e9?q=%20&x', ':authority', 'a.test', 'x-a', 'tab\tand latin1 \u00e9'])));
  assert.deepEqual(h2ResponseHeaders(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Connection', 'x-hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked'], 200), {
    ':status': 200,
    'content-type': 'text/plain',
    'set-cookie': ['a=1', 'b=2'],
  });
});
