// Certificates made at run time for tests (never checked in): a CA, intermediates and leaf
// certificates for given names, with ECDSA P-256 or RSA keys and any validity period.
import { webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto as unknown as Crypto;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

export interface TestKeyPair {
  certPem: string;
  keyPem: string;
  /** The signing key and name, for certificates this one issues. */
  keys: CryptoKeyPair;
  alg: typeof EC | typeof RSA;
  name: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

let serial = 1;
function nextSerial(): string {
  serial++;
  return `${(Date.now() % 1_000_000).toString(16)}${serial.toString(16).padStart(4, '0')}`.replace(/^[89a-f]/, '1');
}

export interface CertOptions {
  keyType?: 'ec' | 'rsa';
  notBefore?: Date;
  notAfter?: Date;
  /** Subject CN (the first name by default). */
  cn?: string;
}

async function issue(issuer: TestKeyPair | undefined, subject: string, ca: boolean, names: string[], o: CertOptions): Promise<TestKeyPair> {
  const alg = o.keyType === 'rsa' ? RSA : EC;
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(ca, undefined, true)];
  if (ca) extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
  else {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true));
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));
    if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: 'dns' as const, value: n }))));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto));
  const notBefore = o.notBefore ?? new Date(Date.now() - 3_600_000);
  const notAfter = o.notAfter ?? new Date(Date.now() + 30 * 86_400_000);
  const cert = issuer
    ? await x509.X509CertificateGenerator.create(
        {
          serialNumber: nextSerial(),
          subject: `CN=${subject}`,
          issuer: `CN=${issuer.name}`,
          notBefore,
          notAfter,
          publicKey: keys.publicKey,
          signingKey: issuer.keys.privateKey,
          signingAlgorithm: issuer.alg,
          extensions,
        },
        crypto,
      )
    : await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: nextSerial(), name: `CN=${subject}`, notBefore, notAfter, keys, signingAlgorithm: alg, extensions }, crypto);
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: pem('PRIVATE KEY', pkcs8), keys, alg, name: subject };
}

/** A self-signed CA, or an intermediate CA when `parent` is given. */
export function makeCa(name = 'stickylb test CA', parent?: TestKeyPair, o: CertOptions = {}): Promise<TestKeyPair> {
  return issue(parent, name, true, [], o);
}

/** A server certificate for `names`, issued by `ca` (self-signed without one). */
export function makeCert(ca: TestKeyPair | undefined, names: string[], o: CertOptions = {}): Promise<TestKeyPair> {
  return issue(ca, o.cn ?? names[0] ?? 'localhost', false, names, o);
}

/** A fresh temporary directory for certificate files. */
export function certDir(): string {
  return mkdtempSync(join(tmpdir(), 'stickylb-certs-'));
}

/** Writes `<base>.crt` and `<base>.key` into `dir` (the certificate followed by `chain`). */
export function writeCert(dir: string, base: string, c: TestKeyPair, chain: TestKeyPair[] = []): { cert: string; key: string } {
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  writeFileSync(cert, c.certPem + chain.map((x) => x.certPem).join(''));
  writeFileSync(key, c.keyPem, { mode: 0o600 });
  return { cert, key };
}
