// ProxyPassReverse: Location, Content-Location, URI and Destination from a member URL (+ the
// balancer path) back to the local path, made absolute with the request's Host; and
// ProxyPassReverseCookiePath / CookieDomain on Set-Cookie. Pure.
import type { SiteModel } from '../config/model.js';

const REWRITTEN = new Set(['location', 'content-location', 'uri', 'destination']);

function joinLocal(local: string, rest: string): string {
  if (local.endsWith('/') && rest.startsWith('/')) return local + rest.slice(1);
  if (!local.endsWith('/') && rest !== '' && !rest.startsWith('/') && !rest.startsWith('?') && !rest.startsWith('#')) return `${local}/${rest}`;
  return local + rest;
}

/** Rewrites one URL value; returns undefined when no rule applies. */
export function reverseUrl(site: SiteModel, value: string, requestHost: string | undefined, proto = 'http'): string | undefined {
  const lower = value.toLowerCase();
  for (const rule of site.reverse) {
    for (const prefix of rule.prefixes) {
      const p = prefix.toLowerCase();
      // Prefixes end with '/' when the balancer path is empty, so a member http://10.0.0.1/
      // never captures http://10.0.0.12/; without a trailing slash, require a path boundary.
      if (!lower.startsWith(p)) {
        // The prefix without its trailing slash equals the whole value: `http://m:1` → local root.
        if (p.endsWith('/') && lower === p.slice(0, -1)) return absolute(rule.path, requestHost, proto);
        continue;
      }
      const rest = value.slice(prefix.length);
      if (!p.endsWith('/') && rest !== '' && !/^[/?#;]/.test(rest)) continue;
      return absolute(joinLocal(rule.path, rest), requestHost, proto);
    }
    // A relative Location (`/landing`) from an app mounted at the balancer path: stickylb's
    // option (`relative`); Apache leaves relative redirects alone.
    if (rule.relative && value.startsWith('/') && !value.startsWith('//') && rule.upstreamPath !== rule.path) {
      const up = rule.upstreamPath;
      // An app that already answers with the public path (`/app/landing` under
      // ProxyPass /app/ balancer://c/) knows its prefix: the value is left as it is.
      if (rule.path.length > up.length && underPath(value, rule.path)) continue;
      if (underPath(value, up)) return joinLocal(rule.path, value.slice(up.length));
    }
  }
  return undefined;
}

/**
 * `value` is `prefix` (with or without its trailing slash) or lies under it, on a segment boundary
 * (/app does not take /application).
 */
function underPath(value: string, prefix: string): boolean {
  if (!value.startsWith(prefix)) return prefix.endsWith('/') && value === prefix.slice(0, -1);
  const rest = value.slice(prefix.length);
  return prefix.endsWith('/') || rest === '' || /^[/?#;]/.test(rest);
}

function absolute(path: string, host: string | undefined, proto: string): string {
  return host ? `${proto}://${host}${path}` : path;
}

/** Rewrites path= and domain= attributes of a Set-Cookie value. */
export function reverseCookie(site: SiteModel, value: string): string {
  if (!site.cookiePath.length && !site.cookieDomain.length) return value;
  return value
    .split(';')
    .map((part, i) => {
      const eq = part.indexOf('=');
      // The first part is the cookie's own name=value.
      if (i === 0 || eq < 0) return part;
      const rawKey = part.slice(0, eq);
      const key = rawKey.trim().toLowerCase();
      const v = part.slice(eq + 1).trim();
      if (key === 'path') {
        for (const r of site.cookiePath) if (v.startsWith(r.from)) return `${rawKey}=${r.to}${v.slice(r.from.length)}`;
      } else if (key === 'domain') {
        const d = v.toLowerCase().replace(/^\./, '');
        for (const r of site.cookieDomain) if (d === r.from.toLowerCase().replace(/^\./, '')) return `${rawKey}=${r.to}`;
      }
      return part;
    })
    .join(';');
}

/**
 * Applies both rewrites to a flat response header array in place. `proto` is the scheme the
 * request came with: absolute URLs point back at it (https:// for a request over TLS).
 */
export function rewriteResponseHeaders(site: SiteModel, headers: string[], requestHost: string | undefined, proto: 'http' | 'https' = 'http'): void {
  if (!site.reverse.length && !site.cookiePath.length && !site.cookieDomain.length) return;
  for (let i = 0; i < headers.length; i += 2) {
    const lower = headers[i].toLowerCase();
    if (REWRITTEN.has(lower)) {
      const r = reverseUrl(site, headers[i + 1], requestHost, proto);
      if (r !== undefined) headers[i + 1] = r;
    } else if (lower === 'set-cookie') {
      headers[i + 1] = reverseCookie(site, headers[i + 1]);
    }
  }
}
