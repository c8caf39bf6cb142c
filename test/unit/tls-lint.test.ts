// What `check` says about TLS: weak versions and ciphers, certificate files that cannot be served
// (errors) or are expired, soon expiring, chained in the wrong order or for other names
// (warnings), plain HTTP on port 443. Certificates are made for the test.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/validate.js';
import { lintTls, covers } from '../../src/tls/lint.js';
import { certDir, makeCa, makeCert, writeCert, type TestKeyPair } from '../helpers/certs.js';

let dir: string;
let ca: TestKeyPair;
let inter: TestKeyPair;
const f: Record<string, { cert: string; key: string }> = {};

before(async () => {
  dir = certDir();
  ca = await makeCa();
  inter = await makeCa('intermediate', ca);
  f.good = writeCert(dir, 'good', await makeCert(inter, ['a.test']), [inter]);
  f.expired = writeCert(dir, 'expired', await makeCert(ca, ['a.test'], { notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') }));
  f.soon = writeCert(dir, 'soon', await makeCert(ca, ['a.test'], { notAfter: new Date(Date.now() + 2 * 86_400_000) }));
  f.other = writeCert(dir, 'other', await makeCert(ca, ['b.test']));
  const wrongOrder = await makeCert(inter, ['a.test']);
  f.wrongOrder = writeCert(dir, 'wrong-order', wrongOrder, [ca, inter]);
  f.mismatch = { cert: f.good.cert, key: f.other.key };
  writeFileSync(join(dir, 'garbage.crt'), 'not a certificate');
  f.garbage = { cert: join(dir, 'garbage.crt'), key: f.good.key };
});

function lint(tls: unknown, listen: unknown[] = [{ port: 443, tls: true }]) {
  const model = validateConfig({
    listen,
    serverName: 'a.test',
    tls,
    balancers: { app: { members: [{ url: 'http://127.0.0.1:9' }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
  });
  return lintTls(model).map((d) => `${d.severity}: ${d.message}`);
}

test('a good certificate with its chain: nothing to say', () => {
  assert.deepEqual(lint(f.good), []);
});

test('certificates that cannot be served are errors; expired, expiring, misordered and misnamed ones warnings', () => {
  assert.match(lint(f.mismatch)[0], /^error: .*good\.crt: the private key does not belong to the certificate/);
  assert.match(lint(f.garbage)[0], /^error: .*garbage\.crt: no PEM certificate found/);
  assert.match(lint({ cert: join(dir, 'missing.crt'), key: f.good.key })[0], /^error: certificate file .*missing\.crt: no such file/);
  assert.match(lint(f.expired)[0], /^warning: security: .*expired\.crt: the certificate expired on 2021-01-01/);
  assert.match(lint(f.soon)[0], /^warning: security: .*soon\.crt: the certificate expires on .* in 2 day/);
  assert.match(lint(f.wrongOrder)[0], /^warning: security: .*wrong-order\.crt: the chain is in the wrong order/);
  assert.deepEqual(lint(f.other), ['warning: the certificate ' + f.other.cert + ' is for b.test, not for a.test: browsers refuse it for a.test']);
});

test('weak versions and ciphers on a listener; plain HTTP on port 443', () => {
  const msgs = lint(f.good, [{ port: 443, tls: { versions: ['TLSv1', 'TLSv1.1', 'TLSv1.2'], ciphers: 'HIGH:RC4-SHA:DES-CBC3-SHA' } }, 8443]);
  assert.match(msgs[0], /^warning: security: TLS on \*:443: TLSv1 and TLSv1\.1 are enabled/);
  assert.match(msgs[1], /^warning: security: TLS on \*:443: the cipher list enables weak ciphers: RC4-SHA \(RC4 is broken\), DES-CBC3-SHA/);
  const plain = lint(undefined, [443]);
  assert.match(plain[0], /^warning: \*:443 speaks plain HTTP on the HTTPS port/);
});

test('wildcard names cover one label', () => {
  assert.equal(covers('*.a.test', 'x.a.test'), true);
  assert.equal(covers('*.a.test', 'a.test'), false);
  assert.equal(covers('*.a.test', 'y.x.a.test'), false);
  assert.equal(covers('A.test', 'a.TEST'), true);
});
