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
/** Forwarded (RFC 7239): like X-Forwarded-*, taken only from a declared proxy. */
export const FORWARDED = 17;

const lit = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const L_TE = lit('te');
const L_HOST = lit('host');
const L_FORWARDED = lit('forwarded');
const L_DATE = lit('date');
const L_COOKIE = lit('cookie');
const L_EXPECT = lit('expect');
const L_UPGRADE = lit('upgrade');
const L_TRAILER = lit('trailer');
const L_CONNECTION = lit('connection');
const L_KEEP_ALIVE = lit('keep-alive');
const L_CONTENT_LENGTH = lit('content-length');
const L_HTTP2_SETTINGS = lit('http2-settings');
const L_XFF = lit('x-forwarded-for');
const L_XFH = lit('x-forwarded-host');
const L_PROXY_CONNECTION = lit('proxy-connection');
const L_XFP = lit('x-forwarded-proto');
const L_TRANSFER_ENCODING = lit('transfer-encoding');
const L_XFS = lit('x-forwarded-server');
const L_PROXY_AUTHENTICATE = lit('proxy-authenticate');
const L_PROXY_AUTHORIZATION = lit('proxy-authorization');
const L_STICKYLB = lit('x-stickylb-');

/**
 * Case-insensitive compare of `b[start..]` with a lower-case literal of letters, digits and '-'
 * (the length is the caller's to check). Only valid on token bytes: `| 0x20` maps no other
 * token character onto a letter.
 */
function same(b: Uint8Array, start: number, lower: Uint8Array): boolean {
  for (let i = 1; i < lower.length; i++) if ((b[start + i] | 0x20) !== lower[i]) return false;
  return true;
}

/** What the header name `b[start..end)` (token bytes) is to the forwarding rules. */
export function classifyBytes(b: Uint8Array, start: number, end: number): number {
  const len = end - start;
  // The first letter (lower-cased) rules out most candidates before a full compare.
  const c = b[start] | 0x20;
  switch (len) {
    case 2:
      return c === 0x74 && same(b, start, L_TE) ? TE : PLAIN;
    case 4:
      if (c === 0x68) return same(b, start, L_HOST) ? HOST : PLAIN;
      return c === 0x64 && same(b, start, L_DATE) ? DATE : PLAIN;
    case 6:
      if (c === 0x63) return same(b, start, L_COOKIE) ? COOKIE : PLAIN;
      return c === 0x65 && same(b, start, L_EXPECT) ? EXPECT : PLAIN;
    case 7:
      if (c === 0x75) return same(b, start, L_UPGRADE) ? UPGRADE : PLAIN;
      if (c === 0x74) return same(b, start, L_TRAILER) ? TRAILER : PLAIN;
      break;
    case 9:
      return c === 0x66 && same(b, start, L_FORWARDED) ? FORWARDED : PLAIN;
    case 10:
      if (c === 0x63) return same(b, start, L_CONNECTION) ? CONNECTION : PLAIN;
      return c === 0x6b && same(b, start, L_KEEP_ALIVE) ? HOP : PLAIN;
    case 14:
      if (c === 0x63) return same(b, start, L_CONTENT_LENGTH) ? CONTENT_LENGTH : PLAIN;
      return c === 0x68 && same(b, start, L_HTTP2_SETTINGS) ? HOP : PLAIN;
    case 15:
      if (c === 0x78 && same(b, start, L_XFF)) return XFF;
      break;
    case 16:
      if (c === 0x78 && same(b, start, L_XFH)) return XFH;
      if (c === 0x70 && same(b, start, L_PROXY_CONNECTION)) return HOP;
      break;
    case 17:
      if (c === 0x78 && same(b, start, L_XFP)) return XFP;
      if (c === 0x74 && same(b, start, L_TRANSFER_ENCODING)) return TRANSFER_ENCODING;
      break;
    case 18:
      if (c === 0x78 && same(b, start, L_XFS)) return XFS;
      if (c === 0x70 && same(b, start, L_PROXY_AUTHENTICATE)) return HOP;
      break;
    case 19:
      if (c === 0x70 && same(b, start, L_PROXY_AUTHORIZATION)) return HOP;
      break;
  }
  if (len >= 11 && c === 0x78 && same(b, start, L_STICKYLB)) return STICKYLB;
  return PLAIN;
}

/** classifyBytes for a header name given as a string (header pairs, not the hot path). */
export function classify(name: string): number {
  for (let i = 0; i < name.length; i++) if (TCHAR[name.charCodeAt(i)] !== 1) return PLAIN;
  return classifyBytes(Buffer.from(name, 'latin1'), 0, name.length);
}

/** Hop-by-hop for headers.ts: never forwarded in either direction (Trailer aside, see there). */
export function isHopKind(k: number): boolean {
  return k === TE || k === HOP || k === CONNECTION || k === UPGRADE || k === TRANSFER_ENCODING;
}

/** Stride of `HeadFields.at`: line start, name end, value start, value end, line end (its CR). */
export const STRIDE = 5;

/** Until scanFields has read a head: no fields (shared, never written to). */
const NONE: number[] = [];

export class HeadFields {
  /** Five positions per field, see STRIDE (set by scanFields, exactly as long as needed). */
  at: number[] = NONE;
  /** The kind of each field. */
  kinds: number[] = NONE;
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

// Filled from index 0 by each scanFields call (one at a time: parsing never waits); they grow
// as plain arrays do when a head has more fields than any before it.
// (Built by push, so that V8 keeps them packed arrays of small integers, as are their slices.)
const packed = (n: number): number[] => {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(0);
  return a;
};
const SCRATCH_AT = packed(STRIDE * 64);
const SCRATCH_KINDS = packed(64);

/**
 * Reads the field lines of a head from `i` through the blank line, in one pass over its bytes
 * (`b[base + i]` is the character `f.text[i]`): each line is a token name, a colon, optional
 * white space, a value of field characters, CRLF. Returns the index after the blank line, -1 when
 * the head ends before a blank line, or the reason a line is malformed.
 */
export function scanFields(f: HeadFields, i: number, b: Uint8Array, base: number): number | ParseReason {
  // The positions are gathered in arrays kept for every head, then copied once into arrays of
  // the right length: growing fresh arrays field by field allocated about three times as much.
  const at = SCRATCH_AT;
  const kinds = SCRATCH_KINDS;
  let n = 0;
  const end = base + f.text.length;
  let p = base + i;
  for (;;) {
    if (p >= end) return -1;
    let c = b[p];
    if (c === 0x0d) {
      if (p + 1 >= end) return -1;
      if (b[p + 1] !== 0x0a) return 'bare-cr';
      f.at = at.slice(0, n * STRIDE);
      f.kinds = kinds.slice(0, n);
      return p + 2 - base;
    }
    if (c === 0x0a) return 'bare-lf';
    if (c === 0x20 || c === 0x09) return 'obs-fold';
    const lineStart = p;
    while (TCHAR[c] === 1 && ++p < end) c = b[p];
    if (p >= end) return -1;
    if (c !== 0x3a) return nameError(f.text, lineStart - base, p - base);
    if (p === lineStart) return 'bad-header-name';
    const nameEnd = p;
    while (++p < end && ((c = b[p]) === 0x20 || c === 0x09));
    const valueStart = p;
    while (p < end && FIELD_CHAR[(c = b[p])] === 1) p++;
    if (p >= end) return -1;
    if (c !== 0x0d) return c === 0x0a ? 'bare-lf' : 'bad-header-value';
    if (p + 1 >= end) return -1;
    if (b[p + 1] !== 0x0a) return 'bare-cr';
    let valueEnd = p;
    while (valueEnd > valueStart && ((c = b[valueEnd - 1]) === 0x20 || c === 0x09)) valueEnd--;
    const k = n * STRIDE;
    at[k] = lineStart - base;
    at[k + 1] = nameEnd - base;
    at[k + 2] = valueStart - base;
    at[k + 3] = valueEnd - base;
    at[k + 4] = p - base;
    kinds[n++] = classifyBytes(b, lineStart, nameEnd);
    p += 2;
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
