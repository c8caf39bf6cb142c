// The response head parser for answers from members: the same strict field rules as requests
// (a member that frames its answer ambiguously gets a 502, never a guess). Pure.
import { FIELD_CHAR, eqLower } from './chars.js';
import { hasToken, headCharsOk, lineEnd, parseFieldLine, type FieldBounds } from './fields.js';
import { ParseError } from './parse-error.js';
import { isOnlyChunked, parseContentLength } from './request-head.js';

export interface ResponseHead {
  status: number;
  /** Reason phrase as received ('' when absent). */
  reason: string;
  minor: number;
  /** Header name/value pairs (flat), without Content-Length and Transfer-Encoding. */
  raw: string[];
  /** Body length, or -1 without Content-Length. */
  contentLength: number;
  chunked: boolean;
  /** The member lets the connection stay open after this answer. */
  keepAlive: boolean;
  hasDate: boolean;
  /** Length of the head in bytes, blank line included. */
  length: number;
}

const bounds: FieldBounds = { nameEnd: 0, valueStart: 0, valueEnd: 0 };

/** Parses a response head: `s` runs from the status line through the blank line. */
export function parseResponseHead(s: string): ResponseHead | ParseError {
  const charsOk = headCharsOk(s);
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
    if (charsOk) {
      if (s.indexOf('\r', 13) < lineEndAt) return new ParseError('bare-cr');
    } else {
      for (let j = 13; j < lineEndAt; j++) {
        const c = s.charCodeAt(j);
        if (FIELD_CHAR[c] !== 1) return new ParseError(c === 0x0d ? 'bare-cr' : 'bad-status-line');
      }
    }
    reason = s.slice(13, lineEndAt);
  }
  const minor = minorChar - 0x30;

  const raw: string[] = [];
  let contentLength = -1;
  let clText: string | undefined;
  let te: string[] | undefined;
  let close = false;
  let keepAliveToken = false;
  let hasDate = false;
  let i = lineEndAt + 2;
  for (;;) {
    const e = lineEnd(s, i);
    if (e === -2) return new ParseError('bare-lf');
    if (e === -1) return new ParseError('bad-status-line');
    if (e === i) {
      i += 2;
      break;
    }
    const err = parseFieldLine(s, i, e, bounds, charsOk);
    if (err) return new ParseError(err);
    const nameEnd = bounds.nameEnd;
    const value = s.slice(bounds.valueStart, bounds.valueEnd);
    const n = nameEnd - i;
    if (n === 14 && eqLower(s, i, nameEnd, 'content-length')) {
      const len = parseContentLength(value);
      if (len < 0) return new ParseError('bad-content-length');
      if (clText !== undefined && clText !== value) return new ParseError('duplicate-content-length');
      clText = value;
      contentLength = len;
    } else if (n === 17 && eqLower(s, i, nameEnd, 'transfer-encoding')) {
      (te ??= []).push(value);
    } else {
      if (n === 10 && eqLower(s, i, nameEnd, 'connection')) {
        if (hasToken(value, 'close')) close = true;
        if (hasToken(value, 'keep-alive')) keepAliveToken = true;
      } else if (n === 4 && eqLower(s, i, nameEnd, 'date')) {
        hasDate = true;
      }
      raw.push(s.slice(i, nameEnd), value);
    }
    i = e + 2;
  }
  if (i !== s.length) return new ParseError('bad-status-line');
  let chunked = false;
  if (te !== undefined) {
    if (clText !== undefined) return new ParseError('content-length-with-transfer-encoding');
    if (minor === 0) return new ParseError('transfer-encoding-in-http-1.0');
    if (!isOnlyChunked(te)) return new ParseError('bad-transfer-encoding');
    chunked = true;
  }
  return {
    status,
    reason,
    minor,
    raw,
    contentLength,
    chunked,
    keepAlive: minor === 1 ? !close : keepAliveToken && !close,
    hasDate,
    length: s.length,
  };
}
