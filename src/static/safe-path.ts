// Turning a request path into file name segments below the static root, refusing anything that
// could name a file outside it. Pure. The listener already normalised the path (dot segments
// removed, unreserved escapes decoded); this check runs again on what it hands over, so a change
// there cannot open the file system.

export type Dotfiles = 'ignore' | 'allow' | 'deny';

export type SafePath =
  | {
      ok: true;
      /** Decoded path segments, none empty except a trailing '' for a path ending in '/'. */
      segments: string[];
      /** The path ends with '/' (a directory was asked for). */
      trailingSlash: boolean;
    }
  | {
      ok: false;
      status: 403 | 404;
      /** Why, for the error log. */
      reason: string;
      /** True when the path tried to leave the root (worth a warning), false for plain refusals. */
      escape: boolean;
    };

/** Dot-named segments served even when dotfiles are ignored: RFC 8615 well-known URIs. */
const ALWAYS_ALLOWED_DOT_SEGMENTS = new Set(['.well-known']);

function refuse(reason: string, escape = true, status: 403 | 404 = 404): SafePath {
  return { ok: false, status, reason, escape };
}

/**
 * Checks a request path (percent-encoded, starting with '/') and decodes it into segments.
 * Refuses dot segments (also encoded), encoded slashes and backslashes, backslashes, NUL bytes,
 * broken escapes, and dotfiles unless `dotfiles` is 'allow'.
 */
export function safeStaticPath(path: string, dotfiles: Dotfiles = 'ignore'): SafePath {
  if (path[0] !== '/') return refuse('path does not start with /');
  if (path.includes('\0')) return refuse('NUL byte in path');
  if (path.includes('\\')) return refuse('backslash in path');
  if (/%(2f|5c|00)/i.test(path)) return refuse('encoded slash, backslash or NUL in path');
  const raw = path.slice(1).split('/');
  const trailingSlash = raw.length > 0 && raw[raw.length - 1] === '';
  const segments: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const seg = raw[i];
    if (seg === '') {
      // Only the last segment may be empty ('/dir/'); '//' was merged by the listener.
      if (i === raw.length - 1) continue;
      return refuse('empty path segment');
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return refuse('invalid percent-encoding in path', false);
    }
    if (decoded === '.' || decoded === '..') return refuse('dot segment in path');
    if (decoded.includes('/') || decoded.includes('\\') || decoded.includes('\0')) return refuse('separator or NUL in a path segment');
    if (decoded[0] === '.' && dotfiles !== 'allow' && !ALWAYS_ALLOWED_DOT_SEGMENTS.has(decoded)) {
      return dotfiles === 'deny' ? refuse('dotfile', false, 403) : refuse('dotfile', false, 404);
    }
    segments.push(decoded);
  }
  return { ok: true, segments, trailingSlash };
}
