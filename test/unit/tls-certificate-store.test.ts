import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateStore, CertificateError } from '../../src/tls/certificate-store.js';
import { loadCertificate, chainProblems } from '../../src/tls/certificates.js';
import { X509Certificate } from 'node:crypto';
import { makeCa, makeCert, type TestKeyPair } from '../helpers/certs.js';

describe('certificates', () => {
  let ca: TestKeyPair;
  let inter: TestKeyPair;
  let leaf: TestKeyPair;
  let other: TestKeyPair;
  before(async () => {
    ca = await makeCa();
    inter = await makeCa('stickylb test intermediate', ca);
    leaf = await makeCert(inter, ['a.test', 'www.a.test']);
    other = await makeCert(ca, ['b.test']);
  });

  it('reads a certificate with its chain and key, and its names', () => {
    const c = loadCertificate({ cert: leaf.certPem + inter.certPem, key: leaf.keyPem, source: 'a.crt' });
    assert.deepEqual(c.names, ['a.test', 'www.a.test']);
    assert.equal(c.keyType, 'ec');
    assert.equal(c.chain.length, 1);
    assert.deepEqual(c.warnings, []);
    assert.ok(c.notAfter.getTime() > Date.now());
  });

  it('takes the key from the certificate file when no key is given', () => {
    const c = loadCertificate({ cert: leaf.certPem + leaf.keyPem });
    assert.equal(c.keyType, 'ec');
  });

  it('refuses a key that belongs to another certificate, saying so', () => {
    assert.throws(() => loadCertificate({ cert: leaf.certPem, key: other.keyPem, source: 'a.crt' }), (e: Error) => e instanceof CertificateError && /does not belong to the certificate/.test(e.message) && /a\.crt/.test(e.message));
  });

  it('refuses text without a certificate and a missing key', () => {
    assert.throws(() => loadCertificate({ cert: 'hello', key: leaf.keyPem }), /no PEM certificate/);
    assert.throws(() => loadCertificate({ cert: leaf.certPem }), /no private key/);
    assert.throws(() => loadCertificate({ cert: leaf.certPem, key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), /cannot be read/);
  });

  it('warns about a chain in the wrong order and a chain of another certificate', () => {
    const wrong = loadCertificate({ cert: leaf.certPem, chain: ca.certPem + inter.certPem, key: leaf.keyPem, source: 'a.crt' });
    assert.match(wrong.warnings.join('\n'), /wrong order/);
    const stranger = loadCertificate({ cert: other.certPem, chain: inter.certPem, key: other.keyPem, source: 'b.crt' });
    assert.match(stranger.warnings.join('\n'), /not issued by the next certificate/);
    assert.deepEqual(chainProblems([new X509Certificate(leaf.certPem), new X509Certificate(inter.certPem), new X509Certificate(ca.certPem)], 'x'), []);
  });

  it('warns about expired and soon-expiring certificates', async () => {
    const old = await makeCert(ca, ['old.test'], { notBefore: new Date('2020-01-01'), notAfter: new Date('2020-02-01') });
    assert.match(loadCertificate({ cert: old.certPem, key: old.keyPem }).warnings.join('\n'), /expired on 2020-02-01/);
    const soon = await makeCert(ca, ['soon.test'], { notAfter: new Date(Date.now() + 3 * 86_400_000) });
    assert.match(loadCertificate({ cert: soon.certPem, key: soon.keyPem }).warnings.join('\n'), /expires on .* in 3 day/);
  });
});

describe('CertificateStore', () => {
  let ca: TestKeyPair;
  let a: TestKeyPair;
  let aRsa: TestKeyPair;
  let wild: TestKeyPair;
  before(async () => {
    ca = await makeCa();
    a = await makeCert(ca, ['a.test']);
    aRsa = await makeCert(ca, ['a.test'], { keyType: 'rsa' });
    wild = await makeCert(ca, ['*.w.test']);
  });

  it('answers by exact name, then by the most specific wildcard, then nothing', () => {
    const s = new CertificateStore();
    const ea = s.put(['A.test'], { cert: a.certPem, key: a.keyPem });
    const ew = s.put(['*.w.test'], { cert: wild.certPem, key: wild.keyPem });
    const any = s.put(['*'], { cert: a.certPem, key: a.keyPem });
    assert.equal(s.lookup('a.test'), ea);
    assert.equal(s.lookup('x.w.test'), ew);
    assert.equal(s.lookup('other.test'), any);
    assert.equal(s.lookup(undefined), any);
    assert.ok(s.contextFor('a.test'));
    assert.equal(s.list().length, 3);
  });

  it('keeps RSA and ECDSA certificates of one name together, and refuses two of one type', () => {
    const s = new CertificateStore();
    const e = s.put(['a.test'], [
      { cert: a.certPem, key: a.keyPem },
      { cert: aRsa.certPem, key: aRsa.keyPem },
    ]);
    assert.deepEqual(e.certificates.map((c) => c.keyType).sort(), ['ec', 'rsa']);
    assert.throws(() => s.put(['a.test'], [{ cert: a.certPem, key: a.keyPem }, { cert: a.certPem, key: a.keyPem }]), /second EC certificate/);
  });

  it('replaces atomically: a refused put leaves the old certificate, a good one announces the change', () => {
    const s = new CertificateStore();
    const first = s.put(['a.test'], { cert: a.certPem, key: a.keyPem });
    const changes: (readonly string[])[] = [];
    s.on('change', (n) => changes.push(n));
    assert.throws(() => s.put(['a.test'], { cert: a.certPem, key: aRsa.keyPem }), CertificateError);
    assert.equal(s.lookup('a.test'), first);
    assert.deepEqual(changes, []);
    const second = s.put(['a.test'], { cert: aRsa.certPem, key: aRsa.keyPem });
    assert.equal(s.lookup('a.test'), second);
    assert.deepEqual(changes, [['a.test']]);
    s.remove(['a.test']);
    assert.equal(s.lookup('a.test'), undefined);
  });
});
