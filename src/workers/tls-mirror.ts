// TLS material that only the owner obtains, mirrored into every worker: certificates the owner's
// store gets at run time (ACME's, and a temporary one until the first arrives) and the answers to
// a CA's HTTP-01 and TLS-ALPN-01 challenges, which may reach any worker. Certificate files named
// in the config are read by each worker itself, as a single process reads them.
import type { CertificateStore, StoredCertificate } from '../tls/certificate-store.js';
import { Challenges, type AlpnMaterial } from '../acme/challenges.js';
import type { CertificateWire } from './protocol.js';

export function certificateWire(e: StoredCertificate): CertificateWire {
  return { names: [...e.names], material: e.certificates.map((c) => ({ cert: c.certPem, key: c.keyPem, source: c.source })) };
}

/** Every certificate of a store, to start a worker with. */
export function allCertificates(store: CertificateStore): CertificateWire[] {
  return store.list().map(certificateWire);
}

/**
 * Calls `send` with each certificate change of the owner's store (the names, and what they serve
 * now, or nothing once removed). Returns the function that stops it.
 */
export function watchCertificates(store: CertificateStore, send: (names: string[], material?: CertificateWire['material']) => void): () => void {
  const onChange = (names: readonly string[]) => {
    const done = new Set<StoredCertificate>();
    const gone: string[] = [];
    for (const n of names) {
      const e = store.lookup(n);
      if (e && e.names.includes(n)) {
        if (!done.has(e)) send([...e.names], certificateWire(e).material);
        done.add(e);
      } else gone.push(n);
    }
    if (gone.length) send(gone, undefined);
  };
  store.on('change', onChange);
  return () => store.off('change', onChange);
}

/** The open challenges of the owner (both kinds), kept from its Challenges' events. */
export class ChallengeWatch {
  readonly open = new Map<string, string>();
  readonly alpnOpen = new Map<string, AlpnMaterial>();
  private source?: Challenges;
  private readonly onChange = (token: string, ka: string | undefined) => {
    if (ka === undefined) this.open.delete(token);
    else this.open.set(token, ka);
    this.send(token, ka);
  };
  private readonly onAlpn = (name: string, material: AlpnMaterial | undefined) => {
    if (material === undefined) this.alpnOpen.delete(name);
    else this.alpnOpen.set(name, material);
    this.sendAlpn(name, material);
  };

  constructor(
    private readonly send: (token: string, keyAuthorization: string | undefined) => void,
    private readonly sendAlpn: (name: string, material: AlpnMaterial | undefined) => void,
  ) {}

  /** Follows the server's challenges (set while certificates are managed; may change on reload). */
  follow(challenges: unknown): void {
    const next = challenges instanceof Challenges ? challenges : undefined;
    if (next === this.source) return;
    this.close();
    this.source = next;
    next?.on('change', this.onChange);
    next?.on('alpn', this.onAlpn);
  }

  close(): void {
    this.source?.off('change', this.onChange);
    this.source?.off('alpn', this.onAlpn);
  }
}
