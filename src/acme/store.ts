// The certificate store on disk (MDStoreDir), laid out like mod_md's:
//   accounts/<CA>/account.pem   the ACME account key (0600), kept and reused
//   accounts/<CA>/account.json  its URL at the CA and contact
//   domains/<name>/privkey.pem  the certificate's private key (0600)
//   domains/<name>/pubcert.pem  the certificate and its chain
//   domains/<name>/md.json      names, CA, validity
// Files are written to a temporary name and renamed, so a crash never leaves half a key; folders
// are 0700. Reading needs no CA: a restart serves what is stored.
import { createHash, X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, chmod, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoredAccount {
  keyPem: string;
  /** The account's URL at the CA (known after the first registration). */
  url?: string;
}

export interface StoredCertificate {
  keyPem: string;
  /** Leaf first, then the chain. */
  certPem: string;
  /** DNS names the certificate covers (subjectAltName). */
  names: string[];
  notBefore: number;
  notAfter: number;
  /** The CA directory it came from (undefined for certificates stored by older versions). */
  directory?: string;
}

/** Facts of a PEM certificate chain's leaf. */
export function certificateFacts(certPem: string): { names: string[]; notBefore: number; notAfter: number; issuer: string } {
  const leaf = new X509Certificate(certPem);
  const names = (leaf.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  return { names, notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo), issuer: leaf.issuer.replace(/\n/g, ', ') };
}

/** A folder name for a CA directory URL: its host and port, plus a short hash of the whole URL. */
export function caFolder(directory: string): string {
  const u = new URL(directory);
  const hash = createHash('sha256').update(directory).digest('hex').slice(0, 8);
  return `${u.hostname}${u.port ? `_${u.port}` : ''}-${hash}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, data, { mode });
    // The mode of writeFile is masked by the umask; the key must be 0600 whatever it is.
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export class CertificateStore {
  constructor(readonly dir: string) {}

  private async folder(...parts: string[]): Promise<string> {
    const p = join(this.dir, ...parts);
    await mkdir(p, { recursive: true, mode: 0o700 });
    return p;
  }

  async readAccount(directory: string): Promise<StoredAccount | undefined> {
    const base = join(this.dir, 'accounts', caFolder(directory));
    const keyPem = await readText(join(base, 'account.pem'));
    if (!keyPem) return undefined;
    const meta = await readText(join(base, 'account.json'));
    let url: string | undefined;
    if (meta) {
      try {
        url = (JSON.parse(meta) as { url?: string }).url;
      } catch {
        url = undefined;
      }
    }
    return { keyPem, url };
  }

  async writeAccount(directory: string, account: StoredAccount & { contact?: string }): Promise<void> {
    const base = await this.folder('accounts', caFolder(directory));
    await writeAtomic(join(base, 'account.pem'), account.keyPem, 0o600);
    const meta = { directory, url: account.url, contact: account.contact };
    await writeAtomic(join(base, 'account.json'), `${JSON.stringify(meta, null, 2)}\n`, 0o644);
  }

  /** The stored certificate of a domain, or undefined when there is none (or it cannot be read). */
  async readCertificate(name: string): Promise<StoredCertificate | undefined> {
    const base = join(this.dir, 'domains', name);
    const [keyPem, certPem, meta] = await Promise.all([readText(join(base, 'privkey.pem')), readText(join(base, 'pubcert.pem')), readText(join(base, 'md.json'))]);
    if (!keyPem || !certPem) return undefined;
    const facts = certificateFacts(certPem);
    // A key that does not belong to the certificate is no certificate at all.
    const leaf = new X509Certificate(certPem);
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error(`${join(base, 'privkey.pem')} does not belong to ${join(base, 'pubcert.pem')}`);
    let directory: string | undefined;
    if (meta) {
      try {
        directory = (JSON.parse(meta) as { directory?: string }).directory;
      } catch {
        directory = undefined;
      }
    }
    return { keyPem, certPem, names: facts.names, notBefore: facts.notBefore, notAfter: facts.notAfter, directory };
  }

  async writeCertificate(name: string, cert: { keyPem: string; certPem: string; directory: string }): Promise<StoredCertificate> {
    const facts = certificateFacts(cert.certPem);
    const base = await this.folder('domains', name);
    // Key first: a certificate next to a key it does not belong to is refused when read.
    await writeAtomic(join(base, 'privkey.pem'), cert.keyPem, 0o600);
    await writeAtomic(join(base, 'pubcert.pem'), cert.certPem, 0o644);
    const meta = {
      names: facts.names,
      directory: cert.directory,
      notBefore: new Date(facts.notBefore).toISOString(),
      notAfter: new Date(facts.notAfter).toISOString(),
      issuer: facts.issuer,
    };
    await writeAtomic(join(base, 'md.json'), `${JSON.stringify(meta, null, 2)}\n`, 0o644);
    return { keyPem: cert.keyPem, certPem: cert.certPem, ...facts, directory: cert.directory };
  }
}
