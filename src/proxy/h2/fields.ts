// HTTP/2 header fields to and from the HTTP/1.1 fields members speak (RFC 9113 §8.2, §8.3):
// pseudo-header fields out, `:authority` as Host, the split Cookie fields joined with "; ",
// connection-specific fields refused on the way in and dropped on the way out. Pure.
import { isHopByHop } from '../headers.js';

/** A request as an HTTP/1.1 transport sees it. */
export interface H2Request {
  method: string;
  /** The :path (origin form, or `*` for OPTIONS). */
  target: string;
  /** :authority, else Host. */
  host: string | undefined;
  scheme: string | undefined;
  /** Header fields as HTTP/1.1 name/value pairs: pseudo fields out, one Cookie, Host added. */
  pairs: string[];
  /** The Cookie fields joined with "; " (RFC 9113 §8.2.3), as the sticky lookup reads them. */
  cookie: string | undefined;
  /** Content-Length, or -1. */
  contentLength: number;
  /** Size of the field section as RFC 9113 counts it (name + value + 32 per field). */
  size: number;
}

/** A request that must be refused, with the status and the reason. */
export interface H2Refusal {
  status: number;
  text: string;
}

/** A method is a token (RFC 9110 §9.1). */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field name in HTTP/2 is a lower-case token (RFC 9113 §8.2.1). */
const BAD_NAME = /[^!#$%&'*+\-.^_`|~0-9a-z]/;
/** A field value has no control characters but HTAB (RFC 9110 §5.5), and nothing above latin1. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** A request target has no white space, no controls, nothing above latin1. */
const BAD_TARGET = /[^\x21-\x7e\x80-\xff]/;

/** Fields RFC 9113 §8.2.2 forbids in HTTP/2 (nghttp2 refuses most of them already). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * The request of a stream from its raw header list (`[name, value, …]` as node:http2 gives it).
 * Refuses what a proxy must not pass on: connection-specific fields, a TE other than trailers,
 * a missing :method or :path, a Content-Length that is not one number, and names, values,
 * methods or targets that an HTTP/1.1 request head cannot carry as they are (the member's
 * request head is written from them).
 */
export function h2Request(raw: readonly string[]): H2Request | H2Refusal {
  let method: string | undefined;
  let target: string | undefined;
  let authority: string | undefined;
  let scheme: string | undefined;
  let host: string | undefined;
  const cookies: string[] = [];
  const pairs: string[] = [];
  let contentLength = -1;
  let size = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    size += name.length + value.length + 32;
    if (BAD_VALUE.test(value)) return { status: 400, text: 'a header field value with characters HTTP does not allow' };
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':method') method = value;
      else if (name === ':path') target = value;
      else if (name === ':authority') authority = value;
      else if (name === ':scheme') scheme = value;
      else if (name !== ':protocol') return { status: 400, text: `unknown pseudo-header field ${name}` };
      continue;
    }
    if (BAD_NAME.test(name)) return { status: 400, text: 'a header field name with characters HTTP does not allow' };
    if (CONNECTION_SPECIFIC.has(name)) return { status: 400, text: `${name} is a connection-specific field, not allowed in HTTP/2` };
    if (name === 'te') {
      if (value.trim().toLowerCase() !== 'trailers') return { status: 400, text: 'TE other than "trailers" is not allowed in HTTP/2' };
      pairs.push('te', value);
      continue;
    }
    if (name === 'cookie') {
      cookies.push(value);
      continue;
    }
    if (name === 'host') {
      host = value;
      continue;
    }
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (contentLength >= 0 && Number(value) !== contentLength)) return { status: 400, text: 'invalid Content-Length' };
      contentLength = Number(value);
    }
    pairs.push(name, value);
  }
  if (!method) return { status: 400, text: 'no :method' };
  if (!METHOD.test(method)) return { status: 400, text: 'invalid :method' };
  if (method === 'CONNECT') return { status: 405, text: 'CONNECT is not supported: this server is not a forward proxy.' };
  if (!target) return { status: 400, text: 'no :path' };
  if (BAD_TARGET.test(target)) return { status: 400, text: 'invalid :path' };
  // RFC 9113 §8.3.1: :authority wins; a Host that says otherwise is malformed.
  if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) return { status: 400, text: ':authority and Host disagree' };
  const h = authority ?? host;
  if (h !== undefined) pairs.push('host', h);
  const cookie = cookies.length ? cookies.join('; ') : undefined;
  if (cookie !== undefined) pairs.push('cookie', cookie);
  return { method, target, host: h, scheme, pairs, cookie, contentLength, size };
}

/**
 * A member's answer fields (raw HTTP/1.1 pairs) as an HTTP/2 header object: names in lower case,
 * hop-by-hop and connection-specific fields dropped, repeated fields kept as lists.
 */
export function h2ResponseHeaders(raw: readonly string[], status: number): Record<string, string | string[] | number> {
  const out: Record<string, string | string[] | number> = { ':status': status };
  let drop: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection') {
      for (const t of raw[i + 1].split(',')) (drop ??= new Set()).add(t.trim().toLowerCase());
    }
  }
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (isHopByHop(name) || CONNECTION_SPECIFIC.has(name) || drop?.has(name) || name.charCodeAt(0) === 0x3a) continue;
    const prev = out[name];
    if (prev === undefined) out[name] = raw[i + 1];
    else if (Array.isArray(prev)) prev.push(raw[i + 1]);
    else out[name] = [prev as string, raw[i + 1]];
  }
  return out;
}

/** Trailer pairs as an HTTP/2 trailer object (forbidden and pseudo fields dropped). */
export function h2Trailers(pairs: readonly [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [n, v] of pairs) {
    const name = n.toLowerCase();
    if (name.charCodeAt(0) === 0x3a || CONNECTION_SPECIFIC.has(name)) continue;
    const prev = out[name];
    if (prev === undefined) out[name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[name] = [prev, v];
  }
  return out;
}
