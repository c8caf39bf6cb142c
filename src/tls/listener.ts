// The TLS side of a listener: an https.Server whose raw connections are first peeked at (a TLS
// handshake starts with 0x16; anything else is plain HTTP sent to the HTTPS port and gets a 400
// that says so, as nginx answers), whose handshakes are cut when they stall, which answers SNI
// from the certificate store and offers h2 and http/1.1 over ALPN. While a CA validates a name
// with TLS-ALPN-01, its connections are answered with the challenge certificate instead
// (alpn-challenge.ts). Decrypted connections are handed on by the caller ('secureConnection');
// this file owns no request handling.
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HttpProtocol } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import { rawErrorResponse } from '../proxy/errors.js';
import type { ChallengeAnswers } from '../acme/challenges.js';
import type { CertificateStore } from './certificate-store.js';
import { alpnChallengeFor, answerAlpnChallenge, firstRecord, readHello } from './alpn-challenge.js';
import { secureContextOptions, type TlsPolicy } from './policy.js';

/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE = 0x16;

export const PLAIN_HTTP_TEXT = 'The plain HTTP request was sent to an HTTPS port: use https:// for this address.';

export interface TlsFrontOptions {
  policy: TlsPolicy;
  protocols: readonly HttpProtocol[];
  store: CertificateStore;
  /** Names of the certificate for clients without SNI (the listener's first TLS site). */
  defaultNames: readonly string[] | undefined;
  /** Time allowed from accepting the connection until the handshake is done. */
  handshakeTimeoutMs: number;
  logger: Logger;
  /** The answers to a CA's challenges, while certificates are managed (TLS-ALPN-01 is answered here). */
  challenges?: () => ChallengeAnswers | undefined;
}

/** ALPN names offered, in the listener's order (HTTP/1.1 always, h2 when asked for). */
function alpnList(protocols: readonly HttpProtocol[]): string[] {
  const out = protocols.filter((p) => p === 'h2' || p === 'http/1.1') as string[];
  if (!out.includes('http/1.1')) out.push('http/1.1');
  return out;
}

/**
 * A listener's TLS front: builds the https.Server (given node:http's options) and takes its raw
 * connection handling, so that the caller's one accept path calls accept() for every connection.
 */
export class TlsFront {
  readonly server: https.Server;
  private readonly tlsAccept: (socket: Socket) => void;
  private options: TlsFrontOptions;
  private alpn: string[];

  constructor(httpOptions: https.ServerOptions, options: TlsFrontOptions) {
    this.options = options;
    this.alpn = alpnList(options.protocols);
    this.server = https.createServer({
      ...httpOptions,
      ...secureContextOptions(options.policy),
      ...this.defaultCertificate(),
      handshakeTimeout: options.handshakeTimeoutMs,
      SNICallback: (servername, cb) => cb(null, this.options.store.contextFor(servername)),
      ALPNCallback: ({ protocols }) => this.alpn.find((p) => protocols.includes(p)),
    });
    // tls.Server wraps raw connections in its 'connection' listener: taken here, called from accept().
    const listeners = this.server.listeners('connection');
    if (listeners.length !== 1) throw new Error(`TLS listener: expected one 'connection' listener on a new https.Server, found ${listeners.length}`);
    this.tlsAccept = listeners[0] as (socket: Socket) => void;
    this.server.removeAllListeners('connection');
    // A failed handshake is the client's problem: no HTTP answer can be sent on it.
    this.server.removeAllListeners('tlsClientError');
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      options.logger.debug?.({ client: socket.remoteAddress, code: err.code }, `TLS handshake failed: ${err.message}`);
      socket.destroy();
    });
  }

  /** A handshake completed (the caller's 'secureConnection' listener says so): its clock stops. */
  secured(s: TLSSocket): void {
    const raw = (s as unknown as { _parent?: Socket })._parent;
    if (raw) clearHandshakeTimer(raw);
  }

  /**
   * A raw connection on this listener: waits for its first byte (within the handshake time), then
   * lets the TLS handshake begin, or answers 400 to plain HTTP and closes.
   */
  accept(raw: Socket): void {
    const timer = setTimeout(() => raw.destroy(), this.options.handshakeTimeoutMs);
    timer.unref?.();
    TIMERS.set(raw, timer);
    raw.once('close', () => clearHandshakeTimer(raw));
    raw.on('error', () => raw.destroy());
    raw.once('data', (first: Buffer) => {
      raw.pause();
      if (first[0] === TLS_HANDSHAKE) {
        const challenges = this.options.challenges?.();
        if (challenges !== undefined && challenges.alpnOpen > 0) {
          this.screen(raw, first, challenges);
          return;
        }
        raw.unshift(first);
        this.tlsAccept.call(this.server, raw);
        return;
      }
      raw.unshift(first);
      this.options.logger.info({ client: raw.remoteAddress }, `refused plain HTTP on a TLS listener (${this.where()})`);
      raw.end(rawErrorResponse(400, PLAIN_HTTP_TEXT));
      raw.destroySoon();
    });
  }

  /**
   * While a TLS-ALPN-01 validation is open: the CA's connections (acme-tls/1 for a name under
   * validation) get the challenge certificate, every other one the ordinary handshake.
   */
  private screen(raw: Socket, first: Buffer, challenges: ChallengeAnswers): void {
    firstRecord(raw, first, (record) => {
      void readHello(record).then((hello) => {
        if (raw.destroyed) return;
        raw.unshift(record);
        const context = hello && alpnChallengeFor(hello, challenges);
        if (context === undefined) {
          this.tlsAccept.call(this.server, raw);
          return;
        }
        answerAlpnChallenge(raw, context, (ok) => {
          clearHandshakeTimer(raw);
          this.options.logger.info({ client: raw.remoteAddress, name: hello!.serverName }, `TLS-ALPN-01: ${ok ? 'answered' : 'could not answer'} the validation of ${hello!.serverName} with its challenge certificate`);
        });
      });
    });
  }

  /** New policy, protocols or default certificate (a reload, or the store changed). */
  refresh(options: TlsFrontOptions): void {
    this.options = options;
    this.alpn = alpnList(options.protocols);
    // Tickets issued before stay valid: the keys are kept across the new context.
    const keys = this.server.getTicketKeys();
    this.server.setSecureContext({ ...secureContextOptions(options.policy), ...this.defaultCertificate() });
    this.server.setTicketKeys(keys);
  }

  private defaultCertificate(): { cert?: string[]; key?: string[] } {
    const names = this.options.defaultNames ?? [];
    for (const n of names) {
      const e = this.options.store.lookup(n);
      if (e) return e.secureOptions;
    }
    return {};
  }

  private where(): string {
    const a = this.server.address();
    return typeof a === 'object' && a ? `port ${a.port}` : 'TLS';
  }
}

const TIMERS = new WeakMap<Socket, NodeJS.Timeout>();

function clearHandshakeTimer(raw: Socket): void {
  const t = TIMERS.get(raw);
  if (t !== undefined) {
    clearTimeout(t);
    TIMERS.delete(raw);
  }
}
