// Same-origin check for changes: the browser's Origin header (or, when absent, the Referer) must
// name this server as the client reached it (the Host header). Apache checks the Referer only.
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

export type OriginCheck = { ok: true } | { ok: false; reason: string };

/** `https` for a request that came over TLS. */
export function schemeOf(req: { socket?: Socket | null }): 'http' | 'https' {
  return (req.socket as (Socket & { encrypted?: boolean }) | null | undefined)?.encrypted ? 'https' : 'http';
}

function hostOf(url: string, scheme: string | undefined): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    // An origin is scheme and host: a plain-HTTP page is another origin than the HTTPS one.
    if (scheme !== undefined && u.protocol !== `${scheme}:`) return undefined;
    return u.host.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Pure: decides from the request headers (and the scheme the request came with) alone. */
export function checkSameOrigin(headers: IncomingHttpHeaders, scheme?: 'http' | 'https'): OriginCheck {
  let host = (headers.host ?? '').toLowerCase();
  if (!host) return { ok: false, reason: 'the request has no Host header' };
  // URL drops the default port of the scheme: so does the comparison.
  if (scheme !== undefined) host = host.replace(scheme === 'https' ? /:443$/ : /:80$/, '');
  const here = scheme ? `${scheme}://${host}` : host;
  const origin = headers.origin;
  if (origin !== undefined) {
    const o = hostOf(origin, scheme);
    if (o === host) return { ok: true };
    return { ok: false, reason: `cross-site request refused: Origin ${origin} is not this server (${here})` };
  }
  const referer = headers.referer;
  if (referer !== undefined) {
    const r = hostOf(referer, scheme);
    if (r === host) return { ok: true };
    return { ok: false, reason: `cross-site request refused: Referer ${referer} is not this server (${here})` };
  }
  return { ok: false, reason: 'changes need an Origin or Referer header naming this server' };
}
