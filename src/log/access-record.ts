// Building the access record of one request (what access-format.ts prints) from the request, the
// response and the listener's RequestInfo. Also counts the response body bytes (%b), which Node
// does not keep.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestInfo } from '../proxy/request-info.js';
import { normaliseTarget } from '../proxy/path.js';
import { matchRoute } from '../proxy/routes.js';
import type { AccessRecord } from './access-format.js';

const BODY_BYTES = Symbol('stickylb.bodyBytes');

type Counted = ServerResponse & { [BODY_BYTES]?: number };

function chunkLength(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}

/** Starts counting the body bytes written to `res` (call when the request arrives). */
export function countBodyBytes(res: ServerResponse): void {
  const r = res as Counted;
  if (r[BODY_BYTES] !== undefined) return;
  r[BODY_BYTES] = 0;
  const write = res.write;
  const end = res.end;
  res.write = function (this: Counted, chunk: unknown, ...rest: unknown[]) {
    this[BODY_BYTES]! += chunkLength(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function (this: Counted, chunk?: unknown, ...rest: unknown[]) {
    this[BODY_BYTES]! += chunkLength(chunk, rest[0]);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
}

/** Body bytes that went to the client (0 for HEAD, 1xx, 204 and 304 answers, which have none). */
export function bodyBytes(req: IncomingMessage, res: ServerResponse): number {
  const s = res.statusCode;
  if (req.method === 'HEAD' || s === 204 || s === 304 || (s >= 100 && s < 200)) return 0;
  return (res as Counted)[BODY_BYTES] ?? 0;
}

/** `::ffff:127.0.0.1` → `127.0.0.1`: dual-stack sockets report IPv4 clients that way. */
export function plainAddress(a: string | undefined): string | undefined {
  return a?.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** Size of the request head as it was received (request line, headers, blank line). */
function requestHeadBytes(req: IncomingMessage): number {
  let n = Buffer.byteLength(`${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`, 'latin1') + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) n += raw[i].length + raw[i + 1].length + 4;
  return n;
}

/** Apache's BALANCER_* request environment for an outcome; empty for requests not balanced. */
export function balancerEnv(info: RequestInfo, implicit: boolean): Record<string, string | undefined> {
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
export function authenticatedUser(req: IncomingMessage, info: RequestInfo, status: number | undefined): string | undefined {
  if (info.user !== undefined) return info.user;
  if (info.kind !== 'handler' || !info.site || status === 401 || status === 403) return undefined;
  const auth = req.headers.authorization;
  if (!auth || !/^basic\s/i.test(auth)) return undefined;
  let path: string;
  try {
    path = normaliseTarget(req.url ?? '/').path;
  } catch {
    return undefined;
  }
  const m = matchRoute(info.site, path);
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
  /** Now, as process.hrtime.bigint() (tests pin it). */
  now?: bigint;
}

function durationUs(info: RequestInfo, now: bigint): number {
  return Number((now - info.start) / 1000n);
}

/** The fields every record takes from the request alone (both answered requests and upgrades). */
function requestFields(req: IncomingMessage, info: RequestInfo, ctx: RecordContext) {
  const sock = req.socket;
  const contentLength = Number(req.headers['content-length']);
  return {
    startMs: info.startMs,
    durationUs: durationUs(info, ctx.now ?? process.hrtime.bigint()),
    remoteAddr: plainAddress(sock?.remoteAddress),
    remotePort: sock?.remotePort,
    localAddr: plainAddress(sock?.localAddress),
    localPort: sock?.localPort,
    method: req.method ?? '-',
    target: req.url ?? '-',
    protocol: `HTTP/${req.httpVersion}`,
    bytesIn: requestHeadBytes(req) + (Number.isFinite(contentLength) && contentLength > 0 ? contentLength : 0),
    requestHeaders: req.headers,
    serverName: ctx.serverName,
    env: balancerEnv(info, ctx.implicitBalancer ?? false),
    pid: process.pid,
  };
}

/** The record of a request answered through `res`. */
export function accessRecord(req: IncomingMessage, res: ServerResponse, info: RequestInfo, ctx: RecordContext = {}): AccessRecord {
  const sock = req.socket;
  const bytes = bodyBytes(req, res);
  const head = (res as unknown as { _header?: string | null })._header;
  const status = info.status ?? res.statusCode;
  return {
    ...requestFields(req, info, ctx),
    status,
    bytes,
    bytesOut: bytes + (typeof head === 'string' ? Buffer.byteLength(head, 'latin1') : 0),
    responseHeaders: res.getHeaders(),
    user: authenticatedUser(req, info, status),
    connection: !res.writableFinished ? 'X' : res.shouldKeepAlive && !sock?.destroyed ? '+' : '-',
  };
}

/** The record of a WebSocket (Upgrade) request, written once the tunnel is set up or refused. */
export function upgradeRecord(req: IncomingMessage, info: RequestInfo, ctx: RecordContext = {}): AccessRecord {
  return {
    ...requestFields(req, info, ctx),
    status: info.status,
    bytes: 0,
    bytesOut: 0,
    responseHeaders: {},
    connection: info.status === 101 ? '+' : '-',
  };
}
