// Express with express-session. Two pieces, neither of which loads Express:
// - `clusterGenid()`: the `genid` option, so session ids carry the route (`<random>.first`);
// - `clusterSessionCookie()`: middleware placed before `session()` that keeps the signed cookie
//   routable. express-session writes `connect.sid=s%3A<random>.first.<signature>`, in which the
//   balancer would read the route `first.<signature>`; the middleware rewrites it on the way out to
//   `connect.sid=<hex signature>~<random>.first` and back on the way in, so express-session still
//   verifies its own signature.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { replaceCookieValue } from './cookies.js';
import { createCluster, type Cluster, type ClusterOptions } from './session-id.js';
import { expressToRouteLast, routeLastToExpress } from './signed-cookie.js';

/** express-session's default cookie name. */
export const EXPRESS_SESSION_COOKIE = 'connect.sid';

function asCluster(c: Cluster | ClusterOptions | undefined): Cluster {
  return c && 'newSessionId' in c ? c : createCluster(c);
}

/** `session({ genid: clusterGenid(), … })`: route-suffixed ids. Throws at once on a bad route. */
export function clusterGenid(options?: Cluster | ClusterOptions): (req?: unknown) => string {
  const cluster = asCluster(options);
  return () => cluster.newSessionId();
}

export interface SessionCookieOptions {
  /** express-session's `name` option; default `connect.sid`. */
  name?: string;
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

function rewriteSetCookie(value: unknown, name: string): unknown {
  const one = (line: string): string => {
    if (!line.startsWith(`${name}=`)) return line;
    const semi = line.indexOf(';');
    const raw = line.slice(name.length + 1, semi < 0 ? undefined : semi);
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return line;
    }
    const routeLast = expressToRouteLast(decoded);
    return routeLast === undefined ? line : `${name}=${routeLast}${semi < 0 ? '' : line.slice(semi)}`;
  };
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? one(v) : v));
  return typeof value === 'string' ? one(value) : value;
}

/**
 * `app.use(clusterSessionCookie())` before `app.use(session(…))`: the session cookie travels in the
 * route-last form (`<hex signature>~<id>`), so `stickysession=connect.sid` finds the route.
 */
export function clusterSessionCookie(options: SessionCookieOptions = {}): Middleware {
  const name = options.name ?? EXPRESS_SESSION_COOKIE;
  return (req, res, next) => {
    const header = req.headers.cookie;
    if (header) {
      req.headers.cookie = replaceCookieValue(header, name, (value) => {
        const back = routeLastToExpress(value);
        return back === undefined ? undefined : encodeURIComponent(back);
      });
    }
    // express-session sets its cookie with res.setHeader('Set-Cookie', …) just before the headers go.
    const setHeader = res.setHeader;
    res.setHeader = function (this: ServerResponse, key: string, value: number | string | readonly string[]) {
      const v = key.toLowerCase() === 'set-cookie' ? (rewriteSetCookie(value, name) as typeof value) : value;
      return setHeader.call(this, key, v);
    } as typeof res.setHeader;
    next();
  };
}

/** Live sessions of an express-session store that implements `length` (MemoryStore does). */
export function storeLength(store: { length?: (cb: (err: unknown, n?: number) => void) => void }): () => Promise<number> {
  return () =>
    new Promise((resolve, reject) => {
      if (typeof store.length !== 'function') {
        reject(new Error('this session store cannot count its sessions (no length method)'));
        return;
      }
      store.length((err, n) => (err ? reject(err) : resolve(n ?? 0)));
    });
}
