// Character classes of RFC 9110/9112 as 256-entry lookup tables, so the parsers test a byte with
// one array read instead of a chain of comparisons.

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

const TCHAR_EXTRA = "!#$%&'*+-.^_`|~";

/** tchar: the characters of a token (method, header name, chunk extension name). */
export const TCHAR = table(
  (c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || TCHAR_EXTRA.includes(String.fromCharCode(c)),
);

/** field-vchar, SP and HTAB: what a header value may contain (obs-text included, CTLs not). */
export const FIELD_CHAR = table((c) => c === 0x09 || (c >= 0x20 && c <= 0x7e) || c >= 0x80);

/** VCHAR: the characters of a request target (no spaces, no controls, no raw non-ASCII). */
export const TARGET_CHAR = table((c) => c >= 0x21 && c <= 0x7e);

/** qdtext of a quoted-string (chunk extension values), without the backslash of quoted-pair. */
export const QDTEXT = table((c) => c === 0x09 || c === 0x20 || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80);

/** What a Host header value may contain: reg-name, IP literal and port characters (RFC 3986). */
export const HOST_CHAR = table((c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "-._~%!$&'()*+,;=:[]".includes(String.fromCharCode(c)));

/** Whether every character of `s` is a HOST_CHAR. */
export function isHostText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || HOST_CHAR[c] !== 1) return false;
  }
  return true;
}

/** Value of a hex digit, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x57;
  return -1;
}

/**
 * Case-insensitive comparison of `s[start..start+lower.length)` with a lower-case ASCII literal
 * of letters and '-'. Only valid on token characters: `| 0x20` maps no other tchar onto a letter.
 */
export function eqLower(s: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((s.charCodeAt(start + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Case-insensitive equality of a whole string with a lower-case literal (any characters). */
export function equalsLower(s: string, lower: string): boolean {
  return s.length === lower.length && (s === lower || s.toLowerCase() === lower);
}
