// The request head parser: request line and header fields of one HTTP/1.x request, checked
// strictly because every leniency is a way to make us and a member disagree on where a request
// ends. Pure: a string in (the head as latin1, through its blank line), a result out.
import { TARGET_CHAR, TCHAR, isHostText } from './chars.js';
import { lineEnd, listElements } from './fields.js';
import { CONNECTION, CONTENT_LENGTH, COOKIE, EXPECT, HOST, HeadFields, TRANSFER_ENCODING, UPGRADE, connectionValue, scanFields } from './head-fields.js';
import { ParseError } from './parse-error.js';

export interface RequestHead {
  method: string;
  /** The request target as received. */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** The header fields (Content-Length and Transfer-Encoding among them, see `raw`). */
  fields: HeadFields;
  /**
   * Header name/value pairs as received (flat), without Content-Length and Transfer-Encoding:
   * the framing travels in `contentLength` / `chunked` and is written anew when forwarded.
   */
  readonly raw: string[];
  host: string | undefined;
  /** Cookie headers joined with '; ', as Node joins them. */
  cookie: string | undefined;
  /** Body length, or -1 when the request has no Content-Length. */
  contentLength: number;
  chunked: boolean;
  /** The client lets the connection stay open after the answer. */
  keepAlive: boolean;
  /** An Upgrade header is present (WebSocket and the like). */
  upgrade: boolean;
  /** An Expect header is present. */
  expect: boolean;
  /** Length of the head in bytes, blank line included. */
  length: number;
  /** The request came over TLS (set by the connection, not read from the head). */
  secure?: boolean;
}

class Head implements RequestHead {
  host: string | undefined = undefined;
  cookie: string | undefined = undefined;
  contentLength = -1;
  chunked = false;
  keepAlive = true;
  upgrade = false;
  expect = false;
  length = 0;
  constructor(
    readonly method: string,
    readonly target: string,
    readonly minor: number,
    readonly fields: HeadFields,
  ) {}

  get raw(): string[] {
    return this.fields.pairs();
  }
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Digits only, at most 15 of them (no sign, no spaces, no list): the value, or -1. */
export function parseContentLength(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** True when the Transfer-Encoding values given add up to exactly `chunked`. */
export function isOnlyChunked(values: string[]): boolean {
  let seen = 0;
  for (const v of values) {
    for (const el of listElements(v)) {
      if (el.length !== 7 || el.toLowerCase() !== 'chunked') return false;
      seen++;
    }
  }
  return seen === 1;
}

/**
 * Parses a request head. `s` holds the head from the request line through the blank line
 * (leading empty lines already skipped); `b[base..]` holds the same bytes when the caller has
 * them (the parser reads bytes faster than characters).
 */
export function parseRequestHead(s: string, b: Uint8Array = Buffer.from(s, 'latin1'), base = 0): RequestHead | ParseError {
  // Request line: method SP target SP version.
  const lineEndAt = lineEnd(s, 0);
  if (lineEndAt === -2) return new ParseError('bare-lf');
  if (lineEndAt < 0) return new ParseError('bad-request-line');
  let i = 0;
  while (i < lineEndAt && TCHAR[b[base + i]] === 1) i++;
  if (i === 0 || i === lineEndAt) return new ParseError(i === 0 ? 'bad-method' : 'bad-request-line');
  if (s.charCodeAt(i) !== 0x20) return new ParseError(s.charCodeAt(i) === 0x0d ? 'bare-cr' : 'bad-method');
  const method = s.slice(0, i);
  const targetStart = ++i;
  while (i < lineEndAt && TARGET_CHAR[b[base + i]] === 1) i++;
  if (i === targetStart) return new ParseError('bad-target');
  if (i === lineEndAt) return new ParseError('bad-request-line');
  if (s.charCodeAt(i) !== 0x20) return new ParseError(s.charCodeAt(i) === 0x0d ? 'bare-cr' : 'bad-target');
  const target = s.slice(targetStart, i);
  i++;
  if (lineEndAt - i !== 8 || !s.startsWith('HTTP/1.', i)) {
    for (let j = i; j < lineEndAt; j++) if (s.charCodeAt(j) === 0x0d) return new ParseError('bare-cr');
    return new ParseError('bad-version');
  }
  const minorChar = s.charCodeAt(i + 7);
  if (minorChar !== 0x30 && minorChar !== 0x31) return new ParseError('bad-version');
  const minor = minorChar - 0x30;
  if (method === 'CONNECT') {
    // Answered 405 by the caller whatever the target looks like.
  } else if (target.charCodeAt(0) === 0x2f) {
    // origin-form.
  } else if (target === '*') {
    if (method !== 'OPTIONS') return new ParseError('bad-target');
  } else if (!SCHEME_RE.test(target)) {
    return new ParseError('bad-target');
  }

  // Header fields.
  const f = new HeadFields(s);
  const end = scanFields(f, lineEndAt + 2, b, base);
  if (typeof end === 'string') return new ParseError(end);
  if (end !== s.length) return new ParseError('bad-request-line');
  const head = new Head(method, target, minor, f);
  head.length = s.length;
  let hosts = 0;
  let clText: string | undefined;
  let te: string[] | undefined;
  let close = false;
  let keepAliveToken = false;
  const kinds = f.kinds;
  for (let k = 0; k < kinds.length; k++) {
    switch (kinds[k]) {
      case HOST:
        hosts++;
        head.host = f.value(k);
        break;
      case COOKIE: {
        const v = f.value(k);
        head.cookie = head.cookie === undefined ? v : `${head.cookie}; ${v}`;
        break;
      }
      case EXPECT:
        head.expect = true;
        break;
      case UPGRADE:
        head.upgrade = true;
        break;
      case CONNECTION: {
        const c = connectionValue(f, f.value(k));
        if (c.close) close = true;
        if (c.keepAlive) keepAliveToken = true;
        break;
      }
      case CONTENT_LENGTH: {
        const v = f.value(k);
        const n = parseContentLength(v);
        if (n < 0) return new ParseError('bad-content-length');
        if (clText !== undefined && clText !== v) return new ParseError('duplicate-content-length');
        clText = v;
        head.contentLength = n;
        break;
      }
      case TRANSFER_ENCODING:
        (te ??= []).push(f.value(k));
        break;
    }
  }
  if (te !== undefined) {
    if (clText !== undefined) return new ParseError('content-length-with-transfer-encoding');
    if (minor === 0) return new ParseError('transfer-encoding-in-http-1.0');
    if (!isOnlyChunked(te)) return new ParseError('bad-transfer-encoding');
    head.chunked = true;
  }
  if (hosts > 1) return new ParseError('duplicate-host');
  if (hosts === 0 && minor === 1) return new ParseError('missing-host');
  if (head.host !== undefined && !isHostText(head.host)) return new ParseError('bad-host');
  head.keepAlive = minor === 1 ? !close : keepAliveToken && !close;
  return head;
}
