// Choosing the virtual host (site) for a request: by listener, then by Host among ServerName and
// ServerAlias (wildcards allowed); the first site of the listener is the default. Pure.
import type { ListenerModel, SiteModel } from '../config/model.js';

function hostOnly(host: string | undefined): string {
  if (!host) return '';
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

function nameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  if (!p.includes('*') && !p.includes('?')) return hostOnly(p) === host;
  const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(host);
}

function listenerMatches(site: SiteModel, l: ListenerModel): boolean {
  if (!site.listen) return true;
  return site.listen.some((s) => s.port === l.port && (!s.host || !l.host || s.host === l.host));
}

export function sitesFor(sites: SiteModel[], listener: ListenerModel): SiteModel[] {
  const out = sites.filter((s) => listenerMatches(s, listener));
  return out.length ? out : sites.slice(0, 1);
}

export function selectSite(candidates: SiteModel[], hostHeader: string | undefined): SiteModel {
  if (candidates.length > 1) {
    const host = hostOnly(hostHeader);
    for (const s of candidates) {
      if (s.serverName && nameMatches(s.serverName, host)) return s;
      if (s.serverAliases.some((a) => nameMatches(a, host))) return s;
    }
  }
  return candidates[0];
}
