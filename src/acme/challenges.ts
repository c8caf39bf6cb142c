// The answers to the CA's challenges while an order is open. HTTP-01: the key authorization for a
// token, served at /.well-known/acme-challenge/<token> on every listener (matchRoute asks
// `answer` before any ProxyPass rule). TLS-ALPN-01 (RFC 8737): a self-signed certificate for a
// name under validation, presented on every TLS listener to a ClientHello that asks for the
// `acme-tls/1` protocol with that name (tls/alpn-challenge.ts). Each change is an event, for
// processes that serve the same listeners (workers) to mirror.
import { EventEmitter } from 'node:events';
import tls from 'node:tls';
import { normaliseServerName } from '../tls/certificate-store.js';

/** The challenge certificate of a name under TLS-ALPN-01 validation. */
export interface AlpnMaterial {
  certPem: string;
  keyPem: string;
}

/** What the listeners ask about the CA's requests. */
export interface ChallengeAnswers {
  /** The body to answer for this HTTP-01 token, or undefined to route the request as any other. */
  answer(token: string): string | undefined;
  /** TLS-ALPN-01 validations open right now (a TLS listener looks at ClientHellos only then). */
  readonly alpnOpen: number;
  /** The context of the challenge certificate of `name`, while it is under TLS-ALPN-01 validation. */
  alpnContext(name: string): tls.SecureContext | undefined;
}

export interface ChallengesEvents {
  /** An HTTP-01 token was added (with its key authorization) or removed (undefined). */
  change: [token: string, keyAuthorization: string | undefined];
  /** A TLS-ALPN-01 challenge certificate was added for a name, or removed (undefined). */
  alpn: [name: string, material: AlpnMaterial | undefined];
}

export class Challenges extends EventEmitter<ChallengesEvents> implements ChallengeAnswers {
  private readonly http = new Map<string, string>();
  private readonly alpn = new Map<string, { material: AlpnMaterial; context: tls.SecureContext }>();

  answer(token: string): string | undefined {
    return this.http.get(token);
  }

  add(token: string, keyAuthorization: string): void {
    this.http.set(token, keyAuthorization);
    this.emit('change', token, keyAuthorization);
  }

  remove(token: string): void {
    if (this.http.delete(token)) this.emit('change', token, undefined);
  }

  get alpnOpen(): number {
    return this.alpn.size;
  }

  alpnContext(name: string): tls.SecureContext | undefined {
    return this.alpn.get(normaliseServerName(name))?.context;
  }

  /** Presents `material` to the CA's TLS-ALPN-01 requests for `name` (throws on a bad key or certificate). */
  addAlpn(name: string, material: AlpnMaterial): void {
    const key = normaliseServerName(name);
    // Only what the CA's validation needs: the challenge certificate, and acme-tls/1 (set when the
    // connection is answered); TLS 1.2 at least, as RFC 8737 asks.
    const context = tls.createSecureContext({ cert: material.certPem, key: material.keyPem, minVersion: 'TLSv1.2' });
    this.alpn.set(key, { material, context });
    this.emit('alpn', key, material);
  }

  removeAlpn(name: string): void {
    const key = normaliseServerName(name);
    if (this.alpn.delete(key)) this.emit('alpn', key, undefined);
  }

  /** Challenges open right now, of both kinds. */
  get open(): number {
    return this.http.size + this.alpn.size;
  }

  /** The open TLS-ALPN-01 challenges, to start a process that mirrors them. */
  alpnList(): [string, AlpnMaterial][] {
    return [...this.alpn].map(([name, e]) => [name, e.material]);
  }
}
