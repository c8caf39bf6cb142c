// Managed certificates go into the TLS listeners' certificate store, and only ACME's own entries
// leave it when a domain is no longer managed (a reload may have given the names files meanwhile);
// the HTTP-01 answers; whom the ACME client trusts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateStore } from '../../src/tls/certificate-store.js';
import { storeTarget } from '../../src/acme/plugin.js';
import { temporaryCertificate } from '../../src/acme/temporary.js';
import { Challenges } from '../../src/acme/challenges.js';
import { trustedCertificates } from '../../src/acme/trust.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

test('install puts an ACME certificate in; remove takes out only ACME\'s entries', async () => {
  const store = new CertificateStore();
  const target = storeTarget(store);
  const acme = await temporaryCertificate(['a.example', 'www.a.example']);
  target.install(['a.example', 'www.a.example'], acme, { temporary: true });
  assert.equal(store.lookup('www.a.example')?.certificates[0].source, 'ACME (temporary)');
  target.install(['a.example', 'www.a.example'], acme, { temporary: false });
  assert.equal(store.lookup('a.example')?.certificates[0].source, 'ACME');

  // The config now gives www.a.example a certificate file; dropping the managed domain keeps it.
  const file = await temporaryCertificate(['www.a.example']);
  store.put(['www.a.example'], { cert: file.certPem, key: file.keyPem, source: '/etc/ssl/www.pem' });
  target.remove!(['a.example', 'www.a.example']);
  assert.equal(store.lookup('a.example'), undefined);
  assert.equal(store.lookup('www.a.example')?.certificates[0].source, '/etc/ssl/www.pem');
});

test('challenges: answered while open, each change an event (for processes that mirror them)', () => {
  const c = new Challenges();
  const seen: [string, string | undefined][] = [];
  c.on('change', (token, value) => seen.push([token, value]));
  c.add('tok', 'tok.thumb');
  assert.equal(c.answer('tok'), 'tok.thumb');
  assert.equal(c.answer('other'), undefined);
  assert.equal(c.open, 1);
  c.remove('tok');
  c.remove('tok');
  assert.equal(c.answer('tok'), undefined);
  assert.deepEqual(seen, [['tok', 'tok.thumb'], ['tok', undefined]]);
});

test('trust for a CA: Node\'s store, then NODE_EXTRA_CA_CERTS, then the CA\'s own certificates (never instead)', async () => {
  const extra = await temporaryCertificate(['extra.example']);
  const own = await temporaryCertificate(['own.example']);
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-trust-'));
  const saved = process.env.NODE_EXTRA_CA_CERTS;
  try {
    const file = join(dir, 'extra.pem');
    writeFileSync(file, extra.certPem);
    process.env.NODE_EXTRA_CA_CERTS = file;
    const list = trustedCertificates([own.certPem]);
    assert.deepEqual(list.slice(0, tls.rootCertificates.length), [...tls.rootCertificates]);
    assert.deepEqual(list.slice(tls.rootCertificates.length), [extra.certPem, own.certPem]);
    delete process.env.NODE_EXTRA_CA_CERTS;
    assert.equal(trustedCertificates([own.certPem]).length, tls.rootCertificates.length + 1);
  } finally {
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
