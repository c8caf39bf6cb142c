// The certificates stickylb serves, by server name: one store for the whole process. Files named
// in the config and certificates issued by ACME go in through put(); every TLS listener answers
// SNI from it and takes its default certificate (for clients without SNI) from it. A put()
// replaces what the names had atomically, so a certificate is swapped without dropping a
// connection: handshakes that began keep the old context, new ones get the new one.
//
// API (for every producer of certificates, the ACME client included):
//
//   const store = new CertificateStore();
//   store.put(['example.org', 'www.example.org'], { cert, key, chain, source: 'ACME' });
//   store.put(['example.org'], [rsaMaterial, ecdsaMaterial]);   // both key types at once
//   store.lookup('www.example.org')   // → StoredCertificate (names, certificates, notAfter, …)
//   store.on('change', (names) => …)  // after every put() and remove()
//
// put() checks everything before it changes anything: it throws a CertificateError whose message
// says why (no key, key of another certificate, unreadable PEM), and the names keep what they had.
import { EventEmitter } from 'node:events';
import tls from 'node:tls';
import { CertificateError, loadCertificate, type CertificateMaterial, type LoadedCertificate, type LoadOptions } from './certificates.js';

export { CertificateError, type CertificateMaterial, type LoadedCertificate };

/** The certificate(s) of a set of names, as served. */
export interface StoredCertificate {
  /** The names it was put for (lower case; `*.example.org` and `*` patterns allowed). */
  readonly names: readonly string[];
  /** One per key type (RSA and ECDSA together are offered side by side). */
  readonly certificates: readonly LoadedCertificate[];
  /** The earliest expiry of its certificates. */
  readonly notAfter: Date;
  /** When it was put (ms since epoch). */
  readonly since: number;
  /** Cert and key PEMs in the form tls.createSecureContext takes. */
  readonly secureOptions: { cert: string[]; key: string[] };
  readonly context: tls.SecureContext;
}

function isPattern(name: string): boolean {
  return name.includes('*') || name.includes('?');
}

function patternRegExp(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** `Example.ORG.` → `example.org`. */
export function normaliseServerName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

export interface CertificateStoreEvents {
  change: [names: readonly string[]];
}

export class CertificateStore extends EventEmitter<CertificateStoreEvents> {
  private readonly exact = new Map<string, StoredCertificate>();
  /** Wildcard names, with their matchers, most specific (longest) first. */
  private patterns: { name: string; re: RegExp; entry: StoredCertificate }[] = [];

  constructor(private readonly loadOptions: LoadOptions = {}) {
    super();
  }

  /**
   * Serves `material` for `names` from now on (replacing what they had). Names are host names,
   * `*.example.org` wildcards, or `*` for any name no other entry has. Several materials are one
   * certificate per key type (RSA and ECDSA). Throws CertificateError when one of them cannot be
   * served; nothing changes then. Returns what was stored (with the warnings of each certificate).
   */
  put(names: readonly string[], material: CertificateMaterial | readonly CertificateMaterial[]): StoredCertificate {
    const list = (Array.isArray(material) ? material : [material]) as readonly CertificateMaterial[];
    const keys = [...new Set(names.map(normaliseServerName))].filter(Boolean);
    if (!keys.length) throw new CertificateError('a certificate needs at least one server name');
    if (!list.length) throw new CertificateError(`no certificate given for ${keys.join(', ')}`);
    const certificates = list.map((m) => loadCertificate(m, this.loadOptions));
    const types = new Set<string>();
    for (const c of certificates) {
      if (types.has(c.keyType)) throw new CertificateError(`${c.source}: a second ${c.keyType.toUpperCase()} certificate for ${keys.join(', ')}; give at most one per key type (one RSA, one ECDSA)`);
      types.add(c.keyType);
    }
    const secureOptions = { cert: certificates.map((c) => c.certPem), key: certificates.map((c) => c.keyPem) };
    let context: tls.SecureContext;
    try {
      context = tls.createSecureContext(secureOptions);
    } catch (e) {
      throw new CertificateError(`${certificates.map((c) => c.source).join(', ')}: OpenSSL refuses the certificate (${(e as Error).message})`);
    }
    const entry: StoredCertificate = {
      names: keys,
      certificates,
      notAfter: new Date(Math.min(...certificates.map((c) => c.notAfter.getTime()))),
      since: Date.now(),
      secureOptions,
      context,
    };
    for (const k of keys) this.set(k, entry);
    this.sortPatterns();
    this.emit('change', keys);
    return entry;
  }

  /** Stops serving a certificate for these names. */
  remove(names: readonly string[]): void {
    const keys = names.map(normaliseServerName);
    for (const k of keys) {
      this.exact.delete(k);
      this.patterns = this.patterns.filter((p) => p.name !== k);
    }
    this.emit('change', keys);
  }

  /** The certificate for a server name: exact name first, then the most specific wildcard. */
  lookup(serverName: string | undefined): StoredCertificate | undefined {
    if (serverName === undefined || serverName === '') return this.exact.get('*');
    const name = normaliseServerName(serverName);
    const hit = this.exact.get(name);
    if (hit) return hit;
    for (const p of this.patterns) if (p.re.test(name)) return p.entry;
    return undefined;
  }

  /** The context for a server name, for an SNI callback; undefined leaves the listener's default. */
  contextFor(serverName: string | undefined): tls.SecureContext | undefined {
    return this.lookup(serverName)?.context;
  }

  /** Every stored certificate once (for status pages, metrics and expiry checks). */
  list(): StoredCertificate[] {
    const seen = new Set<StoredCertificate>();
    for (const e of this.exact.values()) seen.add(e);
    for (const p of this.patterns) seen.add(p.entry);
    return [...seen];
  }

  private set(name: string, entry: StoredCertificate): void {
    if (!isPattern(name) || name === '*') {
      this.exact.set(name, entry);
      if (name !== '*') return;
    }
    this.patterns = this.patterns.filter((p) => p.name !== name);
    this.patterns.push({ name, re: patternRegExp(name), entry });
  }

  private sortPatterns(): void {
    // `*` alone is the last resort; otherwise the longer pattern is the more specific one.
    this.patterns.sort((a, b) => (a.name === '*' ? 1 : b.name === '*' ? -1 : b.name.length - a.name.length));
  }
}
