// Same-origin check for changes: the browser's Origin header (or, when absent, the Referer) must
// name this server as the client reached it (the Host header). Apache checks the Referer only.
import type { IncomingHttpHeaders } from 'node:http';

export type OriginCheck = { ok: true } | { ok: false; reason: string };

function hostOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.host.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Pure: decides from the request headers alone. */
export function checkSameOrigin(headers: IncomingHttpHeaders): OriginCheck {
  const host = (headers.host ?? '').toLowerCase();
  if (!host) return { ok: false, reason: 'the request has no Host header' };
  const origin = headers.origin;
  if (origin !== undefined) {
    const o = hostOf(origin);
    if (o === host) return { ok: true };
    return { ok: false, reason: `cross-site request refused: Origin ${origin} is not this server (${host})` };
  }
  const referer = headers.referer;
  if (referer !== undefined) {
    const r = hostOf(referer);
    if (r === host) return { ok: true };
    return { ok: false, reason: `cross-site request refused: Referer ${referer} is not this server (${host})` };
  }
  return { ok: false, reason: 'changes need an Origin or Referer header naming this server' };
}
