// When certificates are renewed and how failed orders back off (pure), and the store on disk:
// atomic files, keys 0600, a key that does not belong to its certificate refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRenewWindow, renewAt, retryDelay, whatIsDue, formatRenewWindow } from '../../src/acme/schedule.js';
import { CertificateStore, caFolder } from '../../src/acme/store.js';
import { temporaryCertificate } from '../../src/acme/temporary.js';

const DAY = 86_400_000;

test('renew window: a share of the lifetime or a time; mod_md reads a bare number as days', () => {
  assert.deepEqual(parseRenewWindow('33%'), { percent: 33 });
  assert.deepEqual(parseRenewWindow('21d'), { ms: 21 * DAY });
  assert.deepEqual(parseRenewWindow('12h'), { ms: 12 * 3_600_000 });
  assert.deepEqual(parseRenewWindow(90), { ms: 90_000 });
  assert.deepEqual(parseRenewWindow(14, 'd'), { ms: 14 * DAY });
  assert.match(parseRenewWindow('100%') as string, /between 0% and 100%/);
  assert.match(parseRenewWindow('soon') as string, /not a renew window/);
  assert.equal(formatRenewWindow({ ms: 21 * DAY }), '21d');
  assert.equal(formatRenewWindow({ percent: 33 }), '33%');
});

test('renewAt: 33% of a 90-day certificate is about 30 days before it ends; a fixed window counts from the end', () => {
  const nb = Date.UTC(2026, 0, 1);
  const na = nb + 90 * DAY;
  assert.equal(renewAt(nb, na, { percent: 33 }), na - 29.7 * DAY);
  assert.equal(renewAt(nb, na, { ms: 21 * DAY }), na - 21 * DAY);
});

test('retry delay doubles with each failure in a row and stops at a day', () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(n, 60_000)), [60_000, 120_000, 240_000, 480_000]);
  assert.equal(retryDelay(30, 60_000), DAY);
  assert.equal(retryDelay(0, 60_000), 0);
});

test('what is due: issue without a certificate, wait for the window, renew inside it, wait out a back-off', () => {
  const nb = Date.UTC(2026, 0, 1);
  const cert = { notBefore: nb, notAfter: nb + 90 * DAY };
  const window = { percent: 33 };
  assert.deepEqual(whatIsDue({ now: nb, window, retryAfterMs: 0 }), { action: 'issue' });
  assert.deepEqual(whatIsDue({ now: nb + DAY, cert, window, retryAfterMs: 0 }), { action: 'wait', untilMs: renewAt(cert.notBefore, cert.notAfter, window) });
  assert.deepEqual(whatIsDue({ now: nb + 70 * DAY, cert, window, retryAfterMs: 0 }), { action: 'renew' });
  assert.deepEqual(whatIsDue({ now: nb + 70 * DAY, cert, window, retryAfterMs: nb + 71 * DAY }), { action: 'wait', untilMs: nb + 71 * DAY });
  assert.deepEqual(whatIsDue({ now: nb, window, retryAfterMs: nb + 60_000 }), { action: 'wait', untilMs: nb + 60_000 });
  // A window longer than the lifetime: a new certificate is not renewed again at once.
  const short = { notBefore: nb, notAfter: nb + 3_600_000 };
  assert.deepEqual(whatIsDue({ now: nb + 1000, cert: short, window: { ms: 2 * 3_600_000 }, retryAfterMs: 0, issued: { at: nb, minAgeMs: 60_000 } }), { action: 'wait', untilMs: nb + 60_000 });
});

test('store: certificates and keys on disk, keys 0600, folders 0700, read back without a CA', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-store-'));
  try {
    const store = new CertificateStore(join(dir, 'md'));
    assert.equal(await store.readCertificate('a.example'), undefined);
    assert.equal(await store.readAccount('https://ca.example/dir'), undefined);
    const t = await temporaryCertificate(['a.example', 'www.a.example']);
    const written = await store.writeCertificate('a.example', { ...t, directory: 'https://ca.example/dir' });
    assert.deepEqual(written.names, ['a.example', 'www.a.example']);
    const base = join(dir, 'md', 'domains', 'a.example');
    assert.equal(statSync(join(base, 'privkey.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(base).mode & 0o777, 0o700);
    const back = await store.readCertificate('a.example');
    assert.equal(back!.certPem, t.certPem);
    assert.equal(back!.directory, 'https://ca.example/dir');
    assert.equal(back!.notAfter, written.notAfter);

    await store.writeAccount('https://ca.example/dir', { keyPem: 'KEY', url: 'https://ca.example/acct/1', contact: 'a@b.example' });
    const acct = join(dir, 'md', 'accounts', caFolder('https://ca.example/dir'));
    assert.equal(statSync(join(acct, 'account.pem')).mode & 0o777, 0o600);
    assert.deepEqual(await store.readAccount('https://ca.example/dir'), { keyPem: 'KEY', url: 'https://ca.example/acct/1' });

    // A key of another certificate is refused with the reason.
    const other = await temporaryCertificate(['a.example']);
    writeFileSync(join(base, 'privkey.pem'), other.keyPem);
    await assert.rejects(store.readCertificate('a.example'), /privkey\.pem does not belong to .*pubcert\.pem/);
    assert.match(readFileSync(join(base, 'md.json'), 'utf8'), /"names": \[\s*"a\.example",\s*"www\.a\.example"\s*\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('caFolder: one folder per CA directory, named after its host', () => {
  assert.match(caFolder('https://acme-v02.api.letsencrypt.org/directory'), /^acme-v02\.api\.letsencrypt\.org-[0-9a-f]{8}$/);
  assert.match(caFolder('https://127.0.0.1:14000/dir'), /^127\.0\.0\.1_14000-[0-9a-f]{8}$/);
  assert.notEqual(caFolder('https://ca.example/a'), caFolder('https://ca.example/b'));
});
