// The header fields of a parsed head, kept as positions in the head text rather than as strings:
// the forwarder copies the lines it passes on as they came (whole runs of lines at a time) and
// cuts out names and values only for the few headers it reads. Each field is also classified
// once, by length and a case-insensitive compare in place, into the kinds the rules care about.
import { FIELD_CHAR, TCHAR, eqLower } from './chars.js';
import type { ParseReason } from './parse-error.js';

export const PLAIN = 0;
export const HOST = 1;
export const XFF = 2;
export const XFH = 3;
export const XFS = 4;
export const XFP = 5;
/** X-Stickylb-*: set by us, never taken from a client. */
export const STICKYLB = 6;
export const TE = 7;
/** keep-alive, proxy-authenticate, proxy-authorization, proxy-connection, http2-settings. */
export const HOP = 8;
export const TRAILER = 9;
export const CONNECTION = 10;
export const UPGRADE = 11;
export const CONTENT_LENGTH = 12;
export const TRANSFER_ENCODING = 13;
export const COOKIE = 14;
export const EXPECT = 15;
export const DATE = 16;

/** What the header name `s[start..end)` is to the forwarding rules. */
export function classify(s: string, start: number, end: number): number {
  const len = end - start;
  // The first letter (lower-cased) rules out most candidates before a full compare.
  const c = s.charCodeAt(start) | 0x20;
  switch (len) {
    case 2:
      return c === 0x74 && eqLower(s, start, end, 'te') ? TE : PLAIN;
    case 4:
      if (c === 0x68) return eqLower(s, start, end, 'host') ? HOST : PLAIN;
      return c === 0x64 && eqLower(s, start, end, 'date') ? DATE : PLAIN;
    case 6:
      if (c === 0x63) return eqLower(s, start, end, 'cookie') ? COOKIE : PLAIN;
      return c === 0x65 && eqLower(s, start, end, 'expect') ? EXPECT : PLAIN;
    case 7:
      if (c === 0x75) return eqLower(s, start, end, 'upgrade') ? UPGRADE : PLAIN;
      if (c === 0x74) return eqLower(s, start, end, 'trailer') ? TRAILER : PLAIN;
      break;
    case 10:
      if (c === 0x63) return eqLower(s, start, end, 'connection') ? CONNECTION : PLAIN;
      return c === 0x6b && eqLower(s, start, end, 'keep-alive') ? HOP : PLAIN;
    case 14:
      if (c === 0x63) return eqLower(s, start, end, 'content-length') ? CONTENT_LENGTH : PLAIN;
      return c === 0x68 && eqLower(s, start, end, 'http2-settings') ? HOP : PLAIN;
    case 15:
      if (c === 0x78 && eqLower(s, start, end, 'x-forwarded-for')) return XFF;
      break;
    case 16:
      if (c === 0x78 && eqLower(s, start, end, 'x-forwarded-host')) return XFH;
      if (c === 0x70 && eqLower(s, start, end, 'proxy-connection')) return HOP;
      break;
    case 17:
      if (c === 0x78 && eqLower(s, start, end, 'x-forwarded-proto')) return XFP;
      if (c === 0x74 && eqLower(s, start, end, 'transfer-encoding')) return TRANSFER_ENCODING;
      break;
    case 18:
      if (c === 0x78 && eqLower(s, start, end, 'x-forwarded-server')) return XFS;
      if (c === 0x70 && eqLower(s, start, end, 'proxy-authenticate')) return HOP;
      break;
    case 19:
      if (c === 0x70 && eqLower(s, start, end, 'proxy-authorization')) return HOP;
      break;
  }
  // Header names are tokens, so a case-insensitive prefix compare is exact.
  if (len >= 11 && c === 0x78 && eqLower(s, start, start + 11, 'x-stickylb-')) return STICKYLB;
  return PLAIN;
}

/** Hop-by-hop for headers.ts: never forwarded in either direction (Trailer aside, see there). */
export function isHopKind(k: number): boolean {
  return k === TE || k === HOP || k === CONNECTION || k === UPGRADE || k === TRANSFER_ENCODING;
}

/** Stride of `HeadFields.at`: line start, name end, value start, value end, line end (its CR). */
export const STRIDE = 5;

export class HeadFields {
  /** Five positions per field, see STRIDE. */
  readonly at: number[] = [];
  /** The kind of each field. */
  readonly kinds: number[] = [];
  /** Lower-case names listed in Connection headers (a lone `keep-alive` is left out), if any. */
  dropNames: string[] | undefined;
  private cachedPairs: string[] | undefined;

  constructor(readonly text: string) {}

  get count(): number {
    return this.kinds.length;
  }

  name(i: number): string {
    return this.text.slice(this.at[i * STRIDE], this.at[i * STRIDE + 1]);
  }

  value(i: number): string {
    return this.text.slice(this.at[i * STRIDE + 2], this.at[i * STRIDE + 3]);
  }

  /** True when a Connection header names field `i`. */
  dropped(i: number): boolean {
    const d = this.dropNames;
    return d !== undefined && d.includes(this.name(i).toLowerCase());
  }

  /** Name/value pairs (flat) of every field but Content-Length and Transfer-Encoding. */
  pairs(): string[] {
    if (this.cachedPairs === undefined) {
      const out: string[] = [];
      for (let i = 0; i < this.kinds.length; i++) {
        const k = this.kinds[i];
        if (k !== CONTENT_LENGTH && k !== TRANSFER_ENCODING) out.push(this.name(i), this.value(i));
      }
      this.cachedPairs = out;
    }
    return this.cachedPairs;
  }
}

/**
 * Reads the field lines of `f.text` from `i` through the blank line, in one pass over the
 * characters: each line is a token name, a colon, optional white space, a value of field
 * characters, CRLF. Returns the index after the blank line, -1 when the text ends before a blank
 * line, or the reason a line is malformed.
 */
export function scanFields(f: HeadFields, i: number): number | ParseReason {
  const s = f.text;
  const at = f.at;
  const kinds = f.kinds;
  for (;;) {
    let c = s.charCodeAt(i);
    if (c === 0x0d) {
      if (s.charCodeAt(i + 1) === 0x0a) return i + 2;
      return i + 1 >= s.length ? -1 : 'bare-cr';
    }
    if (c === 0x0a) return 'bare-lf';
    if (c === 0x20 || c === 0x09) return 'obs-fold';
    if (c !== c) return -1;
    const lineStart = i;
    while (TCHAR[c] === 1) c = s.charCodeAt(++i);
    if (c !== 0x3a) return nameError(s, lineStart, i);
    if (i === lineStart) return 'bad-header-name';
    const nameEnd = i;
    c = s.charCodeAt(++i);
    while (c === 0x20 || c === 0x09) c = s.charCodeAt(++i);
    const valueStart = i;
    while (FIELD_CHAR[c] === 1) c = s.charCodeAt(++i);
    if (c !== 0x0d) {
      if (c === 0x0a) return 'bare-lf';
      return c !== c ? -1 : 'bad-header-value';
    }
    if (s.charCodeAt(i + 1) !== 0x0a) return i + 1 >= s.length ? -1 : 'bare-cr';
    let valueEnd = i;
    while (valueEnd > valueStart && ((c = s.charCodeAt(valueEnd - 1)) === 0x20 || c === 0x09)) valueEnd--;
    at.push(lineStart, nameEnd, valueStart, valueEnd, i);
    kinds.push(classify(s, lineStart, nameEnd));
    i += 2;
  }
}

/** Why a header name ended at `i` without a colon. */
function nameError(s: string, start: number, i: number): ParseReason {
  const c = s.charCodeAt(i);
  if (c === 0x20 || c === 0x09) {
    let j = i;
    while (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x09) j++;
    if (s.charCodeAt(j) === 0x3a && i > start) return 'space-before-colon';
  }
  if (c === 0x0d) return s.charCodeAt(i + 1) === 0x0a ? 'bad-header-name' : 'bare-cr';
  if (c === 0x0a) return 'bare-lf';
  return 'bad-header-name';
}

/** Reads a Connection header value: the close and keep-alive tokens, and other names it lists. */
export function connectionValue(f: HeadFields, v: string): { close: boolean; keepAlive: boolean } {
  let close = false;
  let keepAlive = false;
  // The usual values, without splitting.
  if (v.length === 10 && eqLower(v, 0, 10, 'keep-alive')) keepAlive = true;
  else if (v.length === 5 && eqLower(v, 0, 5, 'close')) {
    close = true;
    // headers.ts drops headers named by any token, `close` included.
    (f.dropNames ??= []).push('close');
  } else {
    for (const t of v.split(',')) {
      const name = t.trim().toLowerCase();
      if (name === 'close') close = true;
      else if (name === 'keep-alive') keepAlive = true;
      if (name) (f.dropNames ??= []).push(name);
    }
  }
  return { close, keepAlive };
}
