// Session keys in URLs: Seaside carries `_s` as a query parameter (`?_s=…`) or a path parameter
// (`;_s=…`). The value is read by the same function the balancer uses (session-param.ts), so the
// application and the balancer always name the same session, and thus the same route.

export { urlParam } from './session-param.js';

/** `path` with `params` appended as a query string (after any query `path` already has). */
export function withParams(path: string, params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, String(v));
  const s = q.toString();
  if (!s) return path;
  const hash = path.indexOf('#');
  const base = hash < 0 ? path : path.slice(0, hash);
  const frag = hash < 0 ? '' : path.slice(hash);
  return `${base}${base.includes('?') ? '&' : '?'}${s}${frag}`;
}
