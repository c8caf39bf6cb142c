// Redirects stickylb answers itself: Apache's mod_alias Redirect (the path below the prefix and
// the query appended to the target) and the switch to HTTPS for requests that came over plain
// HTTP. Pure.
import type { SiteModel } from '../config/model.js';
import { matchesPrefix } from './path.js';

export interface RedirectAnswer {
  status: number;
  /** Absent for 410 Gone. */
  location?: string;
}

/**
 * The first Redirect of the site that takes `path` (normalised), as mod_alias answers it: the
 * rest of the path after the prefix, and the query, appended to the target.
 */
export function redirectFor(site: SiteModel, path: string, query: string | undefined): RedirectAnswer | undefined {
  for (const r of site.redirects ?? []) {
    if (!matchesPrefix(path, r.path)) continue;
    if (r.to === undefined) return { status: r.status };
    let rest = path.slice(r.path.length);
    // `Redirect /a/ https://x/b/`: the slash is on both sides.
    if (r.to.endsWith('/') && rest.startsWith('/')) rest = rest.slice(1);
    return { status: r.status, location: `${r.to}${rest}${query !== undefined ? `?${query}` : ''}` };
  }
  return undefined;
}

function hostOnly(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/**
 * Where a plain-HTTP request of a site with redirectToHttps goes: the same host and target on
 * https:// (on the configured port, 443 by default). Undefined when the request names no host.
 */
export function httpsLocation(site: SiteModel, hostHeader: string | undefined, target: string): string | undefined {
  const host = hostHeader ? hostOnly(hostHeader.trim()) : site.serverName;
  if (!host || /[\s/\\?#@]/.test(host)) return undefined;
  const port = site.redirectToHttps?.port;
  return `https://${host}${port !== undefined && port !== 443 ? `:${port}` : ''}${target}`;
}
