// What a TLS connection negotiated (version, cipher, SNI name, ALPN), read from its socket for
// request records and logs.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** What a TLS connection negotiated, for records and logs. */
export interface TlsInfo {
  /** `TLSv1.3`, `TLSv1.2` (Apache's SSL_PROTOCOL). */
  protocol: string;
  /** OpenSSL's cipher name (Apache's SSL_CIPHER). */
  cipher: string;
  /** The server name the client asked for (SNI), if any. */
  serverName?: string;
  /** The ALPN protocol agreed on, if any. */
  alpn?: string;
}

/** The negotiated parameters of a TLS socket (undefined for a plain one). */
export function tlsInfo(socket: Socket | undefined): TlsInfo | undefined {
  const s = socket as TLSSocket | undefined;
  if (!s?.encrypted) return undefined;
  const servername = (s as TLSSocket & { servername?: string | false }).servername;
  return {
    protocol: s.getProtocol?.() ?? '-',
    cipher: s.getCipher?.()?.name ?? '-',
    serverName: servername || undefined,
    alpn: s.alpnProtocol || undefined,
  };
}

/** Marks a request record as HTTPS with its connection's parameters, when the socket is TLS. */
export function recordTls(record: { scheme: 'http' | 'https'; tls: { protocol: string; cipher: string; serverName?: string } | undefined }, socket: Socket | undefined): void {
  const t = tlsInfo(socket);
  if (t === undefined) return;
  record.scheme = 'https';
  record.tls = { protocol: t.protocol, cipher: t.cipher, serverName: t.serverName };
}
