// What listeners of 'request-start' and 'request-done' (access log, metrics) see of a request the
// lean engine forwarded: the fields of IncomingMessage and ServerResponse they read, built
// lazily so a request nobody looks at costs nothing.
import type { Socket } from 'node:net';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { HeadFields } from './head-fields.js';
import { downstreamHeaders } from './lean-headers.js';
import type { RequestHead } from './request-head.js';

/** Headers Node keeps once (the first value wins), as IncomingMessage does. */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Node's header object from flat name/value pairs. */
export function headerObject(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    const v = raw[i + 1];
    const prev = out[k];
    if (prev === undefined) out[k] = k === 'set-cookie' ? [v] : v;
    else if (k === 'set-cookie') (prev as string[]).push(v);
    else if (SINGLE.has(k)) continue;
    else out[k] = `${prev as string}${k === 'cookie' ? '; ' : ', '}${v}`;
  }
  return out;
}

/** The request as IncomingMessage shows it. */
export class LeanRequest {
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor: number;
  readonly httpVersion: string;
  readonly method: string;
  url: string;
  complete = false;
  private cachedRaw?: string[];
  private cachedHeaders?: IncomingHttpHeaders;

  constructor(
    readonly head: RequestHead,
    readonly socket: Socket,
  ) {
    this.method = head.method;
    this.url = head.target;
    this.httpVersionMinor = head.minor;
    this.httpVersion = head.minor === 1 ? '1.1' : '1.0';
  }

  get connection(): Socket {
    return this.socket;
  }

  /** Headers as received, the framing headers put back. */
  get rawHeaders(): string[] {
    if (!this.cachedRaw) {
      const raw = this.head.raw.slice();
      if (this.head.chunked) raw.push('Transfer-Encoding', 'chunked');
      else if (this.head.contentLength >= 0) raw.push('Content-Length', String(this.head.contentLength));
      this.cachedRaw = raw;
    }
    return this.cachedRaw;
  }

  get headers(): IncomingHttpHeaders {
    return (this.cachedHeaders ??= headerObject(this.rawHeaders) as IncomingHttpHeaders);
  }
}

/**
 * The answer as ServerResponse shows it. `write` and `end` are called with every piece of body
 * sent to the client (they send nothing themselves), so instrumentation that wraps them, as the
 * access log does to count body bytes, sees what it would see on a ServerResponse. A piece may
 * be a view of a reused read buffer: it is valid during the call only.
 */
export class LeanResponse {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  shouldKeepAlive = true;
  destroyed = false;
  /** The head as sent. */
  _header: string | null = null;
  /** Header name/value pairs sent (flat), when the forwarder built them. */
  headerPairs: string[] | undefined = undefined;
  /** The member's answer fields, when the forwarder copied its lines (pairs are made on demand). */
  fields: HeadFields | undefined = undefined;
  /** Pairs the forwarder added to the copied lines (a route cookie). */
  extraPairs: string[] | undefined = undefined;
  private cachedHeaders?: OutgoingHttpHeaders;

  get finished(): boolean {
    return this.writableEnded;
  }

  getHeaders(): OutgoingHttpHeaders {
    if (!this.cachedHeaders) {
      let pairs = this.headerPairs;
      if (!pairs) {
        pairs = this.fields ? downstreamHeaders(this.fields.pairs()).slice() : [];
        if (this.extraPairs) pairs.push(...this.extraPairs);
      }
      this.cachedHeaders = headerObject(pairs) as OutgoingHttpHeaders;
    }
    return this.cachedHeaders;
  }

  getHeader(name: string): string | string[] | number | undefined {
    return this.getHeaders()[name.toLowerCase()];
  }

  hasHeader(name: string): boolean {
    return this.getHeader(name) !== undefined;
  }

  getHeaderNames(): string[] {
    return Object.keys(this.getHeaders());
  }

  write(_chunk: Buffer): boolean {
    return true;
  }

  end(_chunk?: Buffer): this {
    this.writableEnded = true;
    return this;
  }
}
