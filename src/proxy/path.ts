// Request path normalisation, as Apache does before matching ProxyPass rules: percent-encoded
// unreserved characters decoded, repeated slashes merged, dot segments removed. Without it
// `/x/../static`, `//static` or `/%73tatic` would slip past a `/static !` exclusion.

export interface NormalisedTarget {
  /** Normalised path (still percent-encoded where needed). */
  path: string;
  /** Query string without the '?', or undefined when there was none. */
  query?: string;
}

export class BadPathError extends Error {
  readonly code = 'ERR_BAD_PATH';
}

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e
  );
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Decodes %XX of unreserved characters, upper-cases the rest; rejects broken escapes. */
export function decodeUnreserved(path: string): string {
  if (path.indexOf('%') < 0) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path.charCodeAt(i);
    if (ch !== 0x25) {
      out += path[i];
      continue;
    }
    const h = hex(path.charCodeAt(i + 1));
    const l = hex(path.charCodeAt(i + 2));
    if (h < 0 || l < 0) throw new BadPathError(`bad percent-encoding in path`);
    const v = h * 16 + l;
    if (v === 0) throw new BadPathError('NUL byte in path');
    out += isUnreserved(v) ? String.fromCharCode(v) : `%${path[i + 1].toUpperCase()}${path[i + 2].toUpperCase()}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 remove_dot_segments plus slash merging. Going above the root is an error. */
export function removeDotSegments(path: string): string {
  const segs = path.split('/');
  const out: string[] = [];
  const last = segs.length - 1;
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    if (s === '.' ) {
      if (i === last) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) throw new BadPathError('path goes above the root');
      out.pop();
      if (i === last) out.push('');
      continue;
    }
    if (s === '' && i !== last) continue;
    out.push(s);
  }
  return '/' + out.join('/');
}

/** Splits a request target and normalises its path. Origin-form targets only. */
export function normaliseTarget(target: string): NormalisedTarget {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? undefined : target.slice(q + 1);
  if (rawPath[0] !== '/') throw new BadPathError('request target must start with /');
  // Fast path: nothing to normalise in the common case.
  if (rawPath.indexOf('%') < 0 && rawPath.indexOf('//') < 0 && rawPath.indexOf('/.') < 0) return { path: rawPath, query };
  const decoded = decodeUnreserved(rawPath);
  return { path: removeDotSegments(decoded), query };
}

/** Prefix match on segment boundaries: `/app` matches `/app`, `/app/x`, `/app;x`, not `/application`. */
export function matchesPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  if (path.length === prefix.length || prefix.endsWith('/')) return true;
  const next = path.charCodeAt(prefix.length);
  return next === 0x2f || next === 0x3b;
}
