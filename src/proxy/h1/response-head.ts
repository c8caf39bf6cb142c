// The response head parser for answers from members: the same strict field rules as requests
// (a member that frames its answer ambiguously gets a 502, never a guess). Pure.
import { FIELD_CHAR } from './chars.js';
import { lineEnd } from './fields.js';
import { CONNECTION, CONTENT_LENGTH, DATE, HeadFields, TRANSFER_ENCODING, connectionValue, scanFields } from './head-fields.js';
import { ParseError } from './parse-error.js';
import { isOnlyChunked, parseContentLength } from './request-head.js';

export interface ResponseHead {
  status: number;
  /** Reason phrase as received ('' when absent). */
  reason: string;
  minor: number;
  /** The header fields (Content-Length and Transfer-Encoding among them, see `raw`). */
  fields: HeadFields;
  /** Header name/value pairs (flat), without Content-Length and Transfer-Encoding. */
  readonly raw: string[];
  /** Body length, or -1 without Content-Length. */
  contentLength: number;
  chunked: boolean;
  /** The member lets the connection stay open after this answer. */
  keepAlive: boolean;
  hasDate: boolean;
  /** Length of the head in bytes, blank line included. */
  length: number;
}

class Head implements ResponseHead {
  contentLength = -1;
  chunked = false;
  keepAlive = true;
  hasDate = false;
  length = 0;
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly minor: number,
    readonly fields: HeadFields,
  ) {}

  get raw(): string[] {
    return this.fields.pairs();
  }
}

/**
 * Parses a response head: `s` runs from the status line through the blank line; `b[base..]`
 * holds the same bytes when the caller has them.
 */
export function parseResponseHead(s: string, b: Uint8Array = Buffer.from(s, 'latin1'), base = 0): ResponseHead | ParseError {
  const lineEndAt = lineEnd(s, 0);
  if (lineEndAt === -2) return new ParseError('bare-lf');
  if (lineEndAt < 12 || !s.startsWith('HTTP/1.', 0)) return new ParseError('bad-status-line');
  const minorChar = s.charCodeAt(7);
  if (minorChar !== 0x30 && minorChar !== 0x31) return new ParseError('bad-version');
  if (s.charCodeAt(8) !== 0x20) return new ParseError('bad-status-line');
  const d0 = s.charCodeAt(9) - 0x30;
  const d1 = s.charCodeAt(10) - 0x30;
  const d2 = s.charCodeAt(11) - 0x30;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return new ParseError('bad-status-line');
  const status = d0 * 100 + d1 * 10 + d2;
  let reason = '';
  if (lineEndAt > 12) {
    // A reason phrase: SP then text; a bare "HTTP/1.1 200" (no SP) is tolerated.
    if (s.charCodeAt(12) !== 0x20) return new ParseError('bad-status-line');
    for (let j = 13; j < lineEndAt; j++) {
      const c = b[base + j];
      if (FIELD_CHAR[c] !== 1) return new ParseError(c === 0x0d ? 'bare-cr' : 'bad-status-line');
    }
    reason = s.slice(13, lineEndAt);
  }
  const minor = minorChar - 0x30;

  const f = new HeadFields(s);
  const end = scanFields(f, lineEndAt + 2, b, base);
  if (typeof end === 'string') return new ParseError(end);
  if (end !== s.length) return new ParseError('bad-status-line');
  const head = new Head(status, reason, minor, f);
  head.length = s.length;
  let clText: string | undefined;
  let te: string[] | undefined;
  let close = false;
  let keepAliveToken = false;
  const kinds = f.kinds;
  for (let k = 0; k < kinds.length; k++) {
    switch (kinds[k]) {
      case CONTENT_LENGTH: {
        const v = f.value(k);
        const len = parseContentLength(v);
        if (len < 0) return new ParseError('bad-content-length');
        if (clText !== undefined && clText !== v) return new ParseError('duplicate-content-length');
        clText = v;
        head.contentLength = len;
        break;
      }
      case TRANSFER_ENCODING:
        (te ??= []).push(f.value(k));
        break;
      case CONNECTION: {
        const c = connectionValue(f, f.value(k));
        if (c.close) close = true;
        if (c.keepAlive) keepAliveToken = true;
        break;
      }
      case DATE:
        head.hasDate = true;
        break;
    }
  }
  if (te !== undefined) {
    if (clText !== undefined) return new ParseError('content-length-with-transfer-encoding');
    if (minor === 0) return new ParseError('transfer-encoding-in-http-1.0');
    if (!isOnlyChunked(te)) return new ParseError('bad-transfer-encoding');
    head.chunked = true;
  }
  head.keepAlive = minor === 1 ? !close : keepAliveToken && !close;
  return head;
}
