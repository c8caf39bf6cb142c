// The node:http transport's part of the request record: what the record takes from an
// IncomingMessage and a ServerResponse, and the body bytes the answer carries, counted where the
// bytes are written. Also the rule that tells a WebSocket tunnel from an Upgrade that is only
// hop-by-hop, and the rewrite that sends the latter on as a plain request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RequestRecord } from './core/record.js';
import { recordTls } from '../tls/info.js';
import { proxiedAddressOf } from './proxy-protocol.js';

/** `::ffff:127.0.0.1` → `127.0.0.1`: dual-stack sockets report IPv4 clients that way. */
export function plainAddress(a: string | undefined): string | undefined {
  return a?.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** Size of the request head as it was received (request line, headers, blank line). */
function requestHeadBytes(req: IncomingMessage): number {
  let n = Buffer.byteLength(`${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`, 'latin1') + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) n += raw[i].length + raw[i + 1].length + 4;
  return n;
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}

/** Flat pairs of a header object (what a ServerResponse was given). */
function objectPairs(h: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(h)) {
    const v = h[k];
    if (Array.isArray(v)) for (const x of v) out.push(k, String(x));
    else if (v !== undefined) out.push(k, String(v));
  }
  return out;
}

interface Counted {
  socketOut0: number;
}

const COUNTED = new WeakMap<RequestRecord, Counted>();

/**
 * A record for a request node:http parsed. With `res`, the answer's body bytes are counted as
 * they are written (node keeps no count of its own).
 */
export function nodeRecord(req: IncomingMessage, res: ServerResponse | undefined): RequestRecord {
  const r = new RequestRecord('h1-node');
  const sock = req.socket;
  r.method = req.method ?? '-';
  r.target = req.url ?? '-';
  r.httpVersion = req.httpVersion;
  // node:http2's compatibility request (HTTP/2 streams that are not plain proxied requests).
  if (req.httpVersionMajor === 2) {
    r.transport = 'h2';
    r.httpVersion = '2';
  }
  recordTls(r, sock);
  const proxied = sock === undefined ? undefined : proxiedAddressOf(sock);
  r.clientAddress = r.peerAddress = proxied?.address ?? plainAddress(sock?.remoteAddress);
  r.clientPort = proxied?.port ?? sock?.remotePort;
  r.localAddress = plainAddress(sock?.localAddress);
  r.localPort = sock?.localPort;
  r.requestPairs = req.rawHeaders;
  r.headBytesIn = requestHeadBytes(req);
  if (res !== undefined) {
    COUNTED.set(r, { socketOut0: sock?.bytesWritten ?? 0 });
    const write = res.write;
    const end = res.end;
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      r.bodyBytesOut += byteLength(chunk, rest[0]);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ServerResponse['write'];
    res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      r.bodyBytesOut += byteLength(chunk, rest[0]);
      return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
    } as ServerResponse['end'];
  }
  return r;
}

/** Fills in what is known once node:http finished (or gave up on) the answer. */
export function settleNodeRecord(r: RequestRecord, req: IncomingMessage, res: ServerResponse): void {
  // A client that went away before any answer got none: no status (res.statusCode says 200 then).
  if (r.status === undefined && res.headersSent) r.status = res.statusCode;
  if (r.responsePairs === undefined) r.responsePairs = { pairs: () => objectPairs(res.getHeaders()) };
  const s = r.status;
  // HEAD, 1xx, 204 and 304 answers have no body, whatever a handler wrote.
  if (req.method === 'HEAD' || s === 204 || s === 304 || (s !== undefined && s >= 100 && s < 200)) r.bodyBytesOut = 0;
  if (r.bodyBytesIn === 0) {
    const cl = Number(req.headers['content-length']);
    if (Number.isFinite(cl) && cl > 0) r.bodyBytesIn = cl;
  }
  const c = COUNTED.get(r);
  const out = (req.socket?.bytesWritten ?? 0) - (c?.socketOut0 ?? 0);
  r.headBytesOut = Math.max(0, out - r.bodyBytesOut);
  if (!res.writableFinished) r.aborted = true;
  r.keepAlive = !r.aborted && (r.transport === 'h2' || res.shouldKeepAlive) && !req.socket?.destroyed;
}

/** A bodyless request that asks to switch to WebSocket: the only Upgrade that is tunnelled. */
export function isTunnel(req: IncomingMessage): boolean {
  const up = req.headers.upgrade;
  if (up === undefined || !/(^|,)\s*websocket\s*(,|$)/i.test(up)) return false;
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const cl = req.headers['content-length'];
  return cl === undefined || Number(cl) === 0;
}

/**
 * Puts the request head back on the socket without its Upgrade (and what Connection lists for
 * it), followed by the bytes node:http read past the head, so the server parses it again as a
 * plain request.
 */
export function upgradeAsPlainRequest(req: IncomingMessage, socket: Socket, rest: Buffer): void {
  const raw = req.rawHeaders;
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'upgrade' || name === 'http2-settings') continue;
    if (name === 'connection') {
      const keep = raw[i + 1]
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t && !/^(upgrade|http2-settings)$/i.test(t));
      if (keep.length) head += `${raw[i]}: ${keep.join(', ')}\r\n`;
      continue;
    }
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  head += '\r\n';
  socket.unshift(rest.length ? Buffer.concat([Buffer.from(head, 'latin1'), rest]) : Buffer.from(head, 'latin1'));
}
