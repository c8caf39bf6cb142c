// The access record of one request (what access-format.ts prints), read from the request record
// every transport fills (src/proxy/core/record.ts): nothing here looks at a request or response
// object.
import type { RequestRecord } from '../proxy/core/record.js';
import { normaliseTarget } from '../proxy/path.js';
import { matchRoute } from '../proxy/routes.js';
import type { AccessRecord } from './access-format.js';

export { plainAddress } from '../proxy/node-record.js';

/** Apache's BALANCER_* request environment for an outcome; empty for requests not balanced. */
export function balancerEnv(info: RequestRecord, implicit: boolean): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  if (info.balancer === undefined) return env;
  // A single-URL ProxyPass is not a balancer for Apache either: only the worker is known.
  if (!implicit) env.BALANCER_NAME = `balancer://${info.balancer}`;
  env.BALANCER_WORKER_NAME = info.member?.url;
  env.BALANCER_WORKER_ROUTE = info.memberRoute || undefined;
  env.BALANCER_SESSION_STICKY = info.stickyName;
  env.BALANCER_SESSION_ROUTE = info.sessionRoute;
  env.BALANCER_ROUTE_CHANGED = info.routeChanged ? '1' : undefined;
  env.STICKYLB_OUTCOME = info.outcome;
  return env;
}

/**
 * The user of %u: the one stickylb authenticated. A Basic auth name counts only for a handler that
 * checks passwords (htpasswd) and let the request through; anything else is a claim, not a user.
 */
export function authenticatedUser(r: RequestRecord): string | undefined {
  if (r.user !== undefined) return r.user;
  const status = r.status;
  if (r.kind !== 'handler' || !r.site || status === 401 || status === 403) return undefined;
  const auth = r.requestHeaders().authorization;
  if (typeof auth !== 'string' || !/^basic\s/i.test(auth)) return undefined;
  let path: string;
  try {
    path = normaliseTarget(r.target).path;
  } catch {
    return undefined;
  }
  const m = matchRoute(r.site, path);
  if (m.kind !== 'handler' || !m.handler.htpasswd) return undefined;
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(0, colon) : undefined;
}

export interface RecordContext {
  /** ServerName of the site, or of the server when the site has none. */
  serverName?: string;
  /** True when the balancer is the implicit one of a single-URL ProxyPass. */
  implicitBalancer?: boolean;
}

/** The access record of a finished request (an answered one, or a WebSocket upgrade). */
export function accessRecord(r: RequestRecord, ctx: RecordContext = {}): AccessRecord {
  const upgraded = r.kind === 'websocket' && r.status === 101;
  return {
    startMs: r.startMs,
    durationUs: r.durationUs,
    remoteAddr: r.clientAddress,
    peerAddr: r.peerAddress,
    remotePort: r.clientPort,
    localAddr: r.localAddress,
    localPort: r.localPort,
    method: r.method,
    target: r.target,
    // Apache's mod_http2 says HTTP/2.0.
    protocol: r.httpVersion === '2' ? 'HTTP/2.0' : `HTTP/${r.httpVersion}`,
    ssl: r.tls === undefined ? undefined : { HTTPS: 'on', SSL_PROTOCOL: r.tls.protocol, SSL_CIPHER: r.tls.cipher, SSL_TLS_SNI: r.tls.serverName },
    bytesIn: r.headBytesIn + r.bodyBytesIn,
    requestHeaders: r.requestHeaders(),
    serverName: ctx.serverName,
    env: balancerEnv(r, ctx.implicitBalancer ?? false),
    pid: process.pid,
    status: r.status,
    bytes: r.bodyBytesOut,
    bytesOut: r.headBytesOut + r.bodyBytesOut,
    responseHeaders: r.responseHeaders(),
    user: authenticatedUser(r),
    connection: upgraded ? '+' : r.aborted ? 'X' : r.keepAlive ? '+' : '-',
  };
}
