// Resolving the argument of Include / IncludeOptional to a list of files, as httpd does:
// wildcards (`*`, `?`, `[…]`) in any path segment, matches sorted by name, names starting with
// a dot matched only by a pattern starting with a dot, and a directory meaning every file
// under it. Relative paths are taken from the including file's directory (httpd takes them
// from ServerRoot; a config checked outside its ServerRoot would then read the wrong files).
import { dirname, isAbsolute, join, sep } from 'node:path';

/** The file system operations the front end needs; tests pass an in-memory one. */
export interface ConfigFs {
  readFile(path: string): string;
  readdir(path: string): string[];
  isDirectory(path: string): boolean;
  exists(path: string): boolean;
}

export interface IncludeResult {
  files: string[];
  /** Why nothing (or not everything) could be included. */
  problem?: string;
}

const WILDCARD = /[*?[]/;

/** Turns one path segment pattern into a regular expression, with fnmatch's rules. */
export function segmentPattern(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRegex(pattern[++i]);
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else {
      re += escapeRegex(c);
    }
  }
  return new RegExp(`^${re}$`);
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function allFilesUnder(fs: ConfigFs, dir: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdir(dir).sort()) {
    const p = join(dir, name);
    if (fs.isDirectory(p)) out.push(...allFilesUnder(fs, p));
    else out.push(p);
  }
  return out;
}

/**
 * Lists the files an Include argument names. `from` is the file holding the Include; the
 * returned paths keep its style (relative stays relative), so messages show familiar paths.
 */
export function resolveInclude(fs: ConfigFs, arg: string, from: string): IncludeResult {
  const full = isAbsolute(arg) ? arg : join(dirname(from), arg);
  if (!WILDCARD.test(full)) {
    if (!fs.exists(full)) return { files: [], problem: `${full} does not exist` };
    return { files: fs.isDirectory(full) ? allFilesUnder(fs, full) : [full] };
  }
  const segments = full.split(sep);
  let candidates = [isAbsolute(full) ? sep : '.'];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '') continue;
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const base of candidates) {
      if (!WILDCARD.test(seg)) {
        const p = join(base, seg);
        if (fs.exists(p)) next.push(p);
        continue;
      }
      if (!fs.exists(base) || !fs.isDirectory(base)) continue;
      const re = segmentPattern(seg);
      for (const name of fs.readdir(base).sort()) {
        if (name.startsWith('.') && !seg.startsWith('.')) continue;
        if (!re.test(name)) continue;
        const p = join(base, name);
        if (!last && !fs.isDirectory(p)) continue;
        next.push(p);
      }
    }
    candidates = next;
  }
  const files = candidates.flatMap((p) => (fs.isDirectory(p) ? allFilesUnder(fs, p) : [p]));
  if (files.length === 0) return { files, problem: `no file matches ${full}` };
  return { files };
}
