// Session keys in URLs: Seaside carries `_s` as a query parameter (`?_s=…`) or a path parameter
// (`;_s=…`). Parsing mirrors the balancer: whole parameter names only, the leftmost wins.

/**
 * The value of URL parameter `name` in a request target: after `?`, `&` or `;`, ending at `?`, `&`,
 * `#`, `;` or `/`. Empty values are skipped. Percent-escapes are decoded.
 */
export function urlParam(target: string, name: string): string | undefined {
  if (!name) return undefined;
  let from = 0;
  for (;;) {
    const at = target.indexOf(name, from);
    if (at < 0) return undefined;
    from = at + 1;
    const before = at > 0 ? target[at - 1] : '';
    if (before !== '?' && before !== '&' && before !== ';') continue;
    const eq = at + name.length;
    if (target[eq] !== '=') continue;
    let end = eq + 1;
    while (end < target.length && !'?&#;/'.includes(target[end])) end++;
    if (end === eq + 1) continue;
    const raw = target.slice(eq + 1, end);
    if (!raw.includes('%')) return raw;
    try {
      return decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      return raw;
    }
  }
}

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
