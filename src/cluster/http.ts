// Seaside-like sessions for a bare node:http app: the session key `_s` travels in the URL (query
// or `;_s=` path parameter) and, when cookies are on, in a cookie of the same name; the URL wins.
// Sessions live in this process's memory only, which is exactly why the balancer must stick.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { appendSetCookie, cookieValue, serializeCookie, type CookieOptions } from './cookies.js';
import { ClusterError } from './errors.js';
import { createCluster, type Cluster, type ClusterOptions } from './session-id.js';
import { urlParam, withParams } from './url.js';

/** Seaside's name for the session key, in URLs and in the cookie. */
export const DEFAULT_SESSION_KEY = '_s';

/** Seaside's default session lifetime: ten minutes without a request. */
export const DEFAULT_TTL_MS = 10 * 60_000;

export type SessionSource = 'url' | 'cookie';

/**
 * Where a request names its session, if it does: the URL first, then the cookie. The URL value is
 * read exactly as the balancer reads it (see urlParam); `scolonpathdelim` must equal the balancer's
 * setting of that name.
 */
export function readSessionId(
  req: Pick<IncomingMessage, 'url' | 'headers'>,
  name = DEFAULT_SESSION_KEY,
  cookies = true,
  scolonpathdelim = false,
): { id: string; source: SessionSource } | undefined {
  const fromUrl = urlParam(req.url ?? '/', name, scolonpathdelim);
  if (fromUrl !== undefined) return { id: fromUrl, source: 'url' };
  if (!cookies) return undefined;
  const fromCookie = cookieValue(req.headers.cookie, name);
  if (fromCookie !== undefined) return { id: fromCookie, source: 'cookie' };
  return undefined;
}

export interface Session<T> {
  readonly id: string;
  readonly created: number;
  lastSeen: number;
  data: T;
}

export interface Resumed<T> {
  session: Session<T>;
  /** True when the session was created for this request. */
  isNew: boolean;
  /** Where the request named its session (absent for a request that named none). */
  source?: SessionSource;
  /** The request named a session this node does not have (expired, or issued by another node). */
  unknownId?: string;
}

export interface SessionsOptions<T> extends ClusterOptions {
  /** The node's cluster identity; built from the other options (STICKYLB_ROUTE) when absent. */
  cluster?: Cluster;
  /** The new session's data. */
  create: () => T;
  /** URL parameter and cookie name; default `_s`. */
  name?: string;
  /** Idle time after which a session is gone; default ten minutes. */
  ttlMs?: number;
  /** Read and issue the session cookie (default true); false tracks sessions by URL only. */
  cookie?: boolean | CookieOptions;
  /**
   * A `;` also ends the session key in the URL (`/app;_s=…;x=1`). Must equal the balancer's
   * `scolonpathdelim`, so that both read the same value; default false, as on the balancer.
   */
  scolonpathdelim?: boolean;
  /** Most sessions kept; the least recently used one is dropped beyond that. Default 100000. */
  maxSessions?: number;
  /** How often expired sessions are swept; default one minute. 0 sweeps only on access. */
  sweepIntervalMs?: number;
  /** Clock, for tests of expiry. */
  now?: () => number;
}

export interface Sessions<T> {
  readonly cluster: Cluster;
  readonly name: string;
  readonly ttlMs: number;
  /** Live sessions on this node. */
  readonly size: number;
  /** The session a request names, if this node has it (touched); never creates one. */
  find(req: Pick<IncomingMessage, 'url' | 'headers'>): Session<T> | undefined;
  /** The request's session, created when it names none or an unknown one; sets the cookie as needed. */
  resume(req: Pick<IncomingMessage, 'url' | 'headers'>, res?: ServerResponse): Resumed<T>;
  /** A fresh session (and its cookie when `res` is given and cookies are on). */
  create(res?: ServerResponse): Session<T>;
  get(id: string): Session<T> | undefined;
  /** Ends a session; with `res`, also clears its cookie. */
  destroy(id: string, res?: ServerResponse): boolean;
  /** Drops expired sessions now; returns how many. */
  sweep(): number;
  /** `path` carrying the session key (and `params`), for links and form actions. */
  url(path: string, session: Session<T> | string, params?: Record<string, string | number | undefined>): string;
  /** Stops the sweep timer. */
  close(): void;
}

/** Seaside-like in-memory sessions with route-suffixed ids. */
export function createSessions<T>(options: SessionsOptions<T>): Sessions<T> {
  const cluster = options.cluster ?? createCluster(options);
  const name = options.name ?? DEFAULT_SESSION_KEY;
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new ClusterError('ERR_STICKYLB_OPTION', `session key name ${JSON.stringify(name)} must be made of [A-Za-z0-9_-]`);
  }
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const maxSessions = options.maxSessions ?? 100_000;
  if (!(ttlMs > 0) || !(maxSessions >= 1)) {
    throw new ClusterError('ERR_STICKYLB_OPTION', 'ttlMs and maxSessions must be positive');
  }
  const cookies = options.cookie ?? true;
  const cookieOptions: CookieOptions = typeof cookies === 'object' ? cookies : {};
  const scolonpathdelim = options.scolonpathdelim ?? false;
  const now = options.now ?? Date.now;
  // A Map keeps insertion order; re-inserting on every touch keeps it ordered by last use, so
  // both expiry and eviction only ever look at the front.
  const store = new Map<string, Session<T>>();

  const isLive = (s: Session<T>, t: number) => t - s.lastSeen < ttlMs;

  function sweep(): number {
    const t = now();
    let n = 0;
    for (const s of store.values()) {
      if (isLive(s, t)) break;
      store.delete(s.id);
      n++;
    }
    return n;
  }

  function get(id: string): Session<T> | undefined {
    const s = store.get(id);
    if (!s) return undefined;
    const t = now();
    if (!isLive(s, t)) {
      store.delete(id);
      return undefined;
    }
    s.lastSeen = t;
    store.delete(id);
    store.set(id, s);
    return s;
  }

  function setCookie(res: ServerResponse | undefined, id: string): void {
    if (!res || !cookies || res.headersSent) return;
    appendSetCookie(res, serializeCookie(name, id, cookieOptions));
  }

  function create(res?: ServerResponse): Session<T> {
    sweep();
    while (store.size >= maxSessions) {
      const oldest = store.keys().next().value as string;
      store.delete(oldest);
    }
    const t = now();
    const s: Session<T> = { id: cluster.newSessionId(), created: t, lastSeen: t, data: options.create() };
    store.set(s.id, s);
    setCookie(res, s.id);
    return s;
  }

  function find(req: Pick<IncomingMessage, 'url' | 'headers'>): Session<T> | undefined {
    const named = readSessionId(req, name, !!cookies, scolonpathdelim);
    return named ? get(named.id) : undefined;
  }

  function resume(req: Pick<IncomingMessage, 'url' | 'headers'>, res?: ServerResponse): Resumed<T> {
    const named = readSessionId(req, name, !!cookies, scolonpathdelim);
    if (named) {
      const s = get(named.id);
      if (s) {
        // The URL overrides the cookie; a cookie naming another session is pointed at this one.
        // A client that sent no cookie at all has cookies off (it got one with its new session).
        const fromCookie = cookies ? cookieValue(req.headers.cookie, name) : undefined;
        if (fromCookie !== undefined && fromCookie !== s.id) setCookie(res, s.id);
        return { session: s, isNew: false, source: named.source };
      }
      return { session: create(res), isNew: true, source: named.source, unknownId: named.id };
    }
    return { session: create(res), isNew: true };
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  const interval = options.sweepIntervalMs ?? 60_000;
  if (interval > 0) {
    timer = setInterval(sweep, interval);
    // Sessions are no reason to keep a process alive.
    timer.unref();
  }

  return {
    cluster,
    name,
    ttlMs,
    get size() {
      sweep();
      return store.size;
    },
    find,
    resume,
    create,
    get,
    destroy(id: string, res?: ServerResponse): boolean {
      const had = store.delete(id);
      if (res && cookies && !res.headersSent) appendSetCookie(res, serializeCookie(name, '', { ...cookieOptions, maxAge: 0 }));
      return had;
    },
    sweep,
    url(path, session, params = {}) {
      return withParams(path, { [name]: typeof session === 'string' ? session : session.id, ...params });
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
