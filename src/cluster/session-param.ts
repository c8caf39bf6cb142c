// The one reading of a session id carried in a URL. The balancer (src/balancer/sticky/route-id.ts)
// and the application side (stickylb/cluster) both call this function, so for any request target
// they name the same session and therefore the same route. A leaf module: it imports nothing, so
// stickylb/cluster stays free of the balancer and the balancer may import it.

/**
 * The value of URL parameter `name` in a request target, read as the balancer reads it (Apache
 * mod_proxy_balancer's rule, with whole names):
 *
 * - the name must follow `?`, `&` or `;` and be followed by `=`: whole names only, so `x_s=` is not
 *   `_s` (Apache matches substrings; stickylb does not);
 * - the value runs up to the next `?`, `&` or `#`, and also `;` when `scolonpathdelim` is true (the
 *   balancer setting of that name). Every other character, `/` included, belongs to the value;
 * - nothing is decoded: `%2E` stays `%2E` and `+` stays `+` (session ids from stickylb/cluster never
 *   need encoding, and the balancer compares raw bytes);
 * - an empty value is skipped; the leftmost non-empty occurrence wins.
 *
 * Returns undefined when there is none. Runs once per proxied request: one pass of charCodeAt, no
 * regular expression, and no allocation besides the returned slice.
 */
export function urlParam(target: string, name: string, scolonpathdelim = false): string | undefined {
  if (!name) return undefined;
  const n = target.length;
  let from = 0;
  for (;;) {
    const at = target.indexOf(name, from);
    if (at < 0) return undefined;
    from = at + 1;
    const before = at > 0 ? target.charCodeAt(at - 1) : 0;
    // '?' 63, '&' 38, ';' 59
    if (before !== 63 && before !== 38 && before !== 59) continue;
    const eq = at + name.length;
    if (target.charCodeAt(eq) !== 61 /* = */) continue;
    let end = eq + 1;
    while (end < n) {
      const c = target.charCodeAt(end);
      // '?' 63, '&' 38, '#' 35, ';' 59
      if (c === 63 || c === 38 || c === 35 || (c === 59 && scolonpathdelim)) break;
      end++;
    }
    if (end > eq + 1) return target.slice(eq + 1, end);
  }
}
