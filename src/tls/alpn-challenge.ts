// TLS-ALPN-01 (RFC 8737) on a TLS listener: while a name is under validation, a connection whose
// ClientHello asks for the `acme-tls/1` protocol with that name (SNI) is the CA's, and gets the
// challenge certificate in a handshake of its own, which negotiates acme-tls/1; then it is closed,
// as the RFC says (the CA sends nothing more). Every other connection goes on to the listener's
// ordinary handshake untouched. Only while a validation is open, the first TLS record is read
// whole and its ClientHello parsed with read-tls-client-hello; the bytes go back to the socket.
import tls from 'node:tls';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { ChallengeAnswers } from '../acme/challenges.js';

/** The ALPN protocol of TLS-ALPN-01 (RFC 8737 §6.2). */
export const ACME_TLS_ALPN = 'acme-tls/1';

/** What a ClientHello asked for: the server name (SNI) and the ALPN protocols, in its order. */
export interface HelloFacts {
  serverName: string | undefined;
  protocols: string[];
}

/** The challenge context for a ClientHello, when it is the CA's TLS-ALPN-01 request for a name under validation. */
export function alpnChallengeFor(hello: HelloFacts, challenges: Pick<ChallengeAnswers, 'alpnContext'>): tls.SecureContext | undefined {
  if (hello.serverName === undefined || !hello.protocols.includes(ACME_TLS_ALPN)) return undefined;
  return challenges.alpnContext(hello.serverName);
}

/** Largest TLS record (RFC 8446 §5.1: 2^14 bytes and its 5-byte header). */
const MAX_RECORD = 16_384 + 5;

/**
 * Takes the first TLS record of `raw` (a ClientHello fits in one), starting with `first`, the
 * bytes already read; calls `done` with all the bytes read (the caller gives them back to the
 * socket), or with what came before the socket ended or the record grew past its limit.
 */
export function firstRecord(raw: Socket, first: Buffer, done: (bytes: Buffer) => void): void {
  const complete = (b: Buffer) => b.length >= MAX_RECORD || (b.length >= 5 && b.length >= 5 + b.readUInt16BE(3));
  if (complete(first)) {
    done(first);
    return;
  }
  let bytes = first;
  const finish = () => {
    raw.off('data', onData);
    raw.off('end', finish);
    raw.pause();
    done(bytes);
  };
  const onData = (chunk: Buffer) => {
    bytes = Buffer.concat([bytes, chunk]);
    if (complete(bytes)) finish();
  };
  raw.on('data', onData);
  raw.once('end', finish);
  raw.resume();
}

/** The server name and ALPN protocols of a ClientHello record; undefined when it is none. */
export async function readHello(record: Buffer): Promise<HelloFacts | undefined> {
  // Loaded with the first ClientHello read while a validation is open: a balancer without
  // TLS-ALPN-01 validations never carries the library.
  const { getExtensionData, readTlsClientHello } = await import('read-tls-client-hello');
  try {
    // The library reads a stream: these bytes alone, the socket is left as it is.
    const hello = await readTlsClientHello(Readable.from(record, { objectMode: false }));
    return { serverName: getExtensionData(hello, 'sni')?.serverName, protocols: getExtensionData(hello, 'alpn')?.protocols ?? [] };
  } catch {
    // Not a ClientHello we can read: the ordinary handshake says what is wrong with it.
    return undefined;
  }
}

/**
 * Answers the CA on `raw` (its ClientHello still unread): the handshake with the challenge
 * certificate and acme-tls/1, then the connection is closed. `done` is called when it is over.
 */
export function answerAlpnChallenge(raw: Socket, context: tls.SecureContext, done: (ok: boolean) => void): void {
  const s = new tls.TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: [ACME_TLS_ALPN] });
  let over = false;
  const end = (ok: boolean) => {
    if (over) return;
    over = true;
    done(ok);
  };
  s.once('secure', () => {
    end(s.alpnProtocol === ACME_TLS_ALPN);
    s.end();
  });
  s.on('error', () => {
    end(false);
    s.destroy();
  });
  s.once('close', () => end(false));
}
