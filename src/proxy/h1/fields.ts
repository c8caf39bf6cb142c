// One header (or trailer) field line, checked strictly: a token name directly followed by a
// colon, optional white space, a value of field characters. Shared by the request, response and
// trailer parsers so the three accept exactly the same lines.
import { FIELD_CHAR, TCHAR } from './chars.js';
import type { ParseReason } from './parse-error.js';

/** Where the name and value of the last line parsed lie (reused: one parse at a time). */
export interface FieldBounds {
  nameEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** Any character no head may contain (CR and LF are checked where lines end). */
const BAD_HEAD_CHAR = /[^\t\r\n\x20-\x7e\x80-\xff]/;

/**
 * True when every character of `s` may appear in a head: then field values need no check of
 * their own, only the place of each CR.
 */
export function headCharsOk(s: string): boolean {
  return !BAD_HEAD_CHAR.test(s);
}

/**
 * Parses the field line `s[start..end)` (without its CRLF). Returns undefined when it is valid,
 * with the bounds in `out`, or the reason it is not. `charsOk` says headCharsOk(s) held, so the
 * value's characters are known to be valid apart from a stray CR.
 */
export function parseFieldLine(s: string, start: number, end: number, out: FieldBounds, charsOk = false): ParseReason | undefined {
  let i = start;
  const first = s.charCodeAt(i);
  if (first === 0x20 || first === 0x09) return 'obs-fold';
  while (i < end && TCHAR[s.charCodeAt(i)] === 1) i++;
  if (i === end) return 'bad-header-name';
  const c = s.charCodeAt(i);
  if (c !== 0x3a) {
    if (c === 0x20 || c === 0x09) {
      let j = i;
      while (j < end && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x09)) j++;
      if (j < end && s.charCodeAt(j) === 0x3a && i > start) return 'space-before-colon';
    }
    if (c === 0x0d) return 'bare-cr';
    return 'bad-header-name';
  }
  if (i === start) return 'bad-header-name';
  out.nameEnd = i;
  i++;
  while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  out.valueStart = i;
  if (charsOk) {
    const cr = s.indexOf('\r', i);
    if (cr >= 0 && cr < end) return 'bare-cr';
  } else {
    for (let j = i; j < end; j++) {
      const v = s.charCodeAt(j);
      if (FIELD_CHAR[v] !== 1) return v === 0x0d ? 'bare-cr' : 'bad-header-value';
    }
  }
  let e = end;
  while (e > i && (s.charCodeAt(e - 1) === 0x20 || s.charCodeAt(e - 1) === 0x09)) e--;
  out.valueEnd = e;
  return undefined;
}

/**
 * Finds the end of the line starting at `i` in a head string: the index of its CR (the LF
 * follows). Returns -1 when the head has no further LF, -2 for an LF without CR.
 */
export function lineEnd(s: string, i: number): number {
  const lf = s.indexOf('\n', i);
  if (lf < 0) return -1;
  if (lf === i || s.charCodeAt(lf - 1) !== 0x0d) return -2;
  return lf - 1;
}

/** Comma-separated list elements of a header value, trimmed; empty elements kept as ''. */
export function listElements(v: string): string[] {
  const parts = v.split(',');
  for (let i = 0; i < parts.length; i++) parts[i] = parts[i].trim();
  return parts;
}

/** True when a Connection-style list contains `token` (lower case), case-insensitively. */
export function hasToken(v: string, token: string): boolean {
  if (v.length === token.length) return v.toLowerCase() === token;
  const lower = v.toLowerCase();
  let from = 0;
  for (;;) {
    const at = lower.indexOf(token, from);
    if (at < 0) return false;
    const before = at === 0 ? 0x2c : lower.charCodeAt(at - 1);
    const after = at + token.length >= lower.length ? 0x2c : lower.charCodeAt(at + token.length);
    const okBefore = before === 0x2c || before === 0x20 || before === 0x09;
    const okAfter = after === 0x2c || after === 0x20 || after === 0x09;
    if (okBefore && okAfter) return true;
    from = at + 1;
  }
}

/** Index of the first LF not preceded by CR in `b[from..]`, or -1 (a head that can never end). */
export function bareLf(b: Buffer, from: number): number {
  for (let i = b.indexOf(0x0a, from); i >= 0; i = b.indexOf(0x0a, i + 1)) {
    if (i === from || b[i - 1] !== 0x0d) return i;
  }
  return -1;
}
