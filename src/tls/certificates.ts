// Certificates and private keys in PEM: split a file into its blocks, read the leaf certificate,
// its chain and its key, and say what is wrong with them (a key that does not belong to the
// certificate, a chain in the wrong order, an expired certificate). Pure except for
// readCertificateFiles, which only reads the files it is given.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A certificate with its key and chain, as PEM text (what CertificateStore.put takes). */
export interface CertificateMaterial {
  /** The certificate in PEM; blocks after the first one are taken as its chain. */
  cert: string | Buffer;
  /** The private key in PEM (unencrypted). May be omitted when `cert` holds the key too. */
  key?: string | Buffer;
  /** Intermediate certificates in PEM, the leaf's issuer first. */
  chain?: string | Buffer;
  /** Where the material came from, for messages: a file name, "ACME", … */
  source?: string;
}

/** A certificate that was read and checked. */
export interface LoadedCertificate {
  /** Leaf first, then the chain: what the server sends. */
  certPem: string;
  keyPem: string;
  leaf: X509Certificate;
  chain: X509Certificate[];
  keyType: 'rsa' | 'ec' | 'ed25519' | 'ed448' | string;
  /** DNS names the certificate is valid for (subjectAltName, else the subject's CN). */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  source: string;
  /** Things worth a warning that do not stop the certificate from being served. */
  warnings: string[];
}

/** A certificate or key that cannot be served; `message` says why. */
export class CertificateError extends Error {
  readonly code = 'ERR_CERTIFICATE';
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** PEM blocks of a text, with their labels (`CERTIFICATE`, `PRIVATE KEY`, …), in order. */
export function pemBlocks(text: string): { label: string; pem: string }[] {
  const out: { label: string; pem: string }[] = [];
  for (const m of text.matchAll(BLOCK)) out.push({ label: m[1], pem: `${m[0]}\n` });
  return out;
}

function text(v: string | Buffer): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}

/** DNS names of a certificate: its subjectAltName DNS entries, else its subject CN. */
export function certificateNames(c: X509Certificate): string[] {
  const san = c.subjectAltName;
  if (san) {
    const names = san
      .split(/,\s*/)
      .filter((p) => p.startsWith('DNS:'))
      .map((p) => p.slice(4).toLowerCase());
    if (names.length) return names;
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(c.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

function keyTypeOf(k: KeyObject): string {
  return k.asymmetricKeyType ?? 'unknown';
}

function dateText(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface LoadOptions {
  /** The time to judge validity by (ms since epoch); now by default. */
  now?: number;
  /** A certificate expiring within this many ms gets a warning (default 14 days). */
  expiryWarningMs?: number;
}

/**
 * Reads and checks a certificate, its chain and its key. Throws CertificateError when it cannot
 * be served (no certificate, no key, an encrypted key, a key of another certificate); returns the
 * certificate with warnings for what can be served but is wrong (expired or soon expiring, a
 * chain in the wrong order or not belonging to the certificate).
 */
export function loadCertificate(m: CertificateMaterial, opts: LoadOptions = {}): LoadedCertificate {
  const source = m.source ?? 'certificate';
  const certBlocks = pemBlocks(text(m.cert));
  const certs = certBlocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE');
  if (!certs.length) throw new CertificateError(`${source}: no PEM certificate found (expected -----BEGIN CERTIFICATE-----)`);
  let keyBlocks = m.key !== undefined ? pemBlocks(text(m.key)) : certBlocks;
  keyBlocks = keyBlocks.filter((b) => b.label.endsWith('PRIVATE KEY'));
  if (!keyBlocks.length) {
    throw new CertificateError(
      m.key !== undefined ? `${source}: no PEM private key found in the key (expected -----BEGIN PRIVATE KEY-----)` : `${source}: no private key: give the key file (SSLCertificateKeyFile, tls.key)`,
    );
  }
  if (keyBlocks[0].label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(keyBlocks[0].pem)) {
    throw new CertificateError(`${source}: the private key is encrypted with a passphrase; stickylb reads unencrypted keys only (decrypt it with: openssl pkey -in KEY -out KEY.plain)`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyBlocks[0].pem);
  } catch (e) {
    throw new CertificateError(`${source}: the private key cannot be read (${(e as Error).message})`);
  }
  const parsed: X509Certificate[] = [];
  for (const b of certs) {
    try {
      parsed.push(new X509Certificate(b.pem));
    } catch (e) {
      throw new CertificateError(`${source}: a certificate cannot be read (${(e as Error).message})`);
    }
  }
  const chainBlocks = m.chain !== undefined ? pemBlocks(text(m.chain)).filter((b) => b.label === 'CERTIFICATE') : [];
  for (const b of chainBlocks) {
    try {
      parsed.push(new X509Certificate(b.pem));
    } catch (e) {
      throw new CertificateError(`${source}: a chain certificate cannot be read (${(e as Error).message})`);
    }
  }
  const [leaf, ...chain] = parsed;
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificateError(`${source}: the private key does not belong to the certificate (${leaf.subject.replace(/\n/g, ', ')}); check that the key file and the certificate file were made together`);
  }
  const warnings: string[] = [];
  const now = opts.now ?? Date.now();
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  const soon = opts.expiryWarningMs ?? 14 * 86_400_000;
  if (notAfter.getTime() <= now) warnings.push(`${source}: the certificate expired on ${dateText(notAfter)}; clients refuse it`);
  else if (notAfter.getTime() - now < soon) warnings.push(`${source}: the certificate expires on ${dateText(notAfter)}, in ${Math.ceil((notAfter.getTime() - now) / 86_400_000)} day(s)`);
  if (notBefore.getTime() > now) warnings.push(`${source}: the certificate is not valid before ${dateText(notBefore)}`);
  warnings.push(...chainProblems(parsed, source));
  return {
    certPem: parsed.map((c) => c.toString()).join(''),
    keyPem: keyBlocks[0].pem,
    leaf,
    chain,
    keyType: keyTypeOf(key),
    names: certificateNames(leaf),
    notBefore,
    notAfter,
    source,
    warnings,
  };
}

/**
 * What is wrong with the order of a chain (leaf first, each certificate issued by the next):
 * clients that do not reorder refuse a chain sent in the wrong order.
 */
export function chainProblems(certs: X509Certificate[], source: string): string[] {
  if (certs.length < 2) return [];
  for (let i = 0; i + 1 < certs.length; i++) {
    if (certs[i].checkIssued(certs[i + 1])) continue;
    // Is the issuer there, somewhere else? Then it is the order; else a stranger.
    const elsewhere = certs.findIndex((c, j) => j !== i && j !== i + 1 && certs[i].checkIssued(c));
    const who = i === 0 ? 'the certificate' : `chain certificate ${i}`;
    if (elsewhere >= 0) return [`${source}: the chain is in the wrong order: the issuer of ${who} comes at position ${elsewhere}, not right after it (put the leaf first, then each issuer)`];
    return [`${source}: ${who} (${certs[i].subject.replace(/\n/g, ', ')}) is not issued by the next certificate of the chain (${certs[i + 1].subject.replace(/\n/g, ', ')}); is the chain file for another certificate?`];
  }
  return [];
}

/** Certificate, key and chain files as a certificate's material (the files are read now). */
export function readCertificateFiles(files: { cert: string; key?: string; chain?: string }): CertificateMaterial {
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
      throw new CertificateError(`${what} ${file}: ${why}`);
    }
  };
  return {
    cert: read('certificate file', files.cert),
    key: files.key !== undefined ? read('key file', files.key) : undefined,
    chain: files.chain !== undefined ? read('chain file', files.chain) : undefined,
    source: files.cert,
  };
}
