// The edge checks of the node:http transport: Apache's request head limits (LimitRequestFields,
// LimitRequestFieldSize, LimitRequestLine), then for proxied requests, WebSocket upgrades and
// static files the gate (rate limits, access sections) and LimitRequestBody against a
// Content-Length. The lean engine makes the same checks in its own connection loop.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SiteModel } from '../config/model.js';
import type { RequestRecord } from '../proxy/core/record.js';
import { errorPage, reason } from '../proxy/errors.js';
import { plainAddress } from '../proxy/node-record.js';
import type { StickyServer } from '../proxy/server.js';
import type { Verdict } from './gate.js';

/** What a refused request is answered with. */
export interface Refusal {
  status: number;
  text: string;
  headers?: [string, string][];
  /** Close the connection after the answer (a body may be on its way). */
  close?: boolean;
}

export function answerRefusal(res: ServerResponse, r: Refusal): void {
  const body = errorPage(r.status, r.text);
  const h: Record<string, string> = { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store' };
  for (const [k, v] of r.headers ?? []) h[k] = v;
  // HTTP/2 answers (node:http2's compatibility response) have no reason phrase and no Connection.
  const h2 = (res as { stream?: unknown }).stream !== undefined;
  if (r.close && !h2) h.Connection = 'close';
  res.writeHead(r.status, h2 ? undefined : reason(r.status), h);
  res.end(body);
}

/** Apache's LimitRequestLine, LimitRequestFields and LimitRequestFieldSize for a parsed request. */
export function headLimitRefusal(server: StickyServer, req: IncomingMessage): Refusal | undefined {
  const e = server.config.edge;
  const line = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 10;
  if (line > e.limitRequestLine) return { status: 414, text: "The requested URL's length exceeds the capacity limit for this server.", close: true };
  const raw = req.rawHeaders;
  if (e.limitRequestFields > 0 && raw.length / 2 > e.limitRequestFields) return { status: 400, text: "The number of request header fields exceeds this server's limit.", close: true };
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length + raw[i + 1].length + 2 > e.limitRequestFieldSize) return { status: 400, text: 'Size of a request header field exceeds server limit.', close: true };
  }
  return undefined;
}

/** Answers and logs a request the head limits refuse; true when it did. */
export function refuseHead(server: StickyServer, req: IncomingMessage, res: ServerResponse, record: RequestRecord): boolean {
  const r = headLimitRefusal(server, req);
  if (r === undefined) return false;
  record.kind = 'error';
  server.edge.counters.headLimits++;
  server.logger.info({ client: record.clientAddress, status: r.status }, `refused request: ${r.text}`);
  answerRefusal(res, r);
  return true;
}

function refuse(server: StickyServer, res: ServerResponse, record: RequestRecord, v: Verdict & { ok: false }): false {
  const level = v.status >= 500 ? 'error' : 'warn';
  server.logger[level]({ client: record.clientAddress, status: v.status, url: record.target }, `refused ${record.method} ${record.target} from ${record.clientAddress}: ${v.reason}`);
  answerRefusal(res, v);
  return false;
}

/** The body limit against the Content-Length; false when the request was answered with 413. */
function withinBody(server: StickyServer, req: IncomingMessage, res: ServerResponse, record: RequestRecord, limit: number): number | false {
  if (limit > 0) {
    const cl = Number(req.headers['content-length']);
    if (Number.isFinite(cl) && cl > limit) {
      server.edge.counters.bodyTooLarge++;
      server.logger.warn({ client: record.clientAddress, url: record.target, limit }, `refused ${record.method} ${record.target} from ${record.clientAddress}: a body of ${cl} bytes is larger than LimitRequestBody ${limit}`);
      answerRefusal(res, { status: 413, text: 'The request body is larger than this server accepts.', close: true });
      return false;
    }
  }
  return limit;
}

/**
 * The gate for a request on its way to a member (or a static file): resolves to the body limit
 * that applies, or to false when the request was refused (and answered).
 */
export function edgeAdmit(
  server: StickyServer,
  req: IncomingMessage,
  res: ServerResponse,
  record: RequestRecord,
  site: SiteModel,
  path: string,
  proxyUrl: string | undefined,
): number | false | Promise<number | false> {
  if (site.access === undefined && site.rateLimits === undefined) return withinBody(server, req, res, record, site.limitRequestBody);
  const settle = (v: Verdict): number | false => {
    if (!v.ok) return refuse(server, res, record, v);
    if (v.user !== undefined) record.user = v.user;
    return withinBody(server, req, res, record, v.bodyLimit);
  };
  const v = server.edge.check({
    site,
    path,
    proxyUrl,
    method: req.method ?? 'GET',
    authorization: req.headers.authorization,
    client: record.clientAddress ?? '',
    local: plainAddress(req.socket.localAddress),
  });
  return v instanceof Promise ? v.then(settle) : settle(v);
}

/** Runs `go` with the body limit once the gate let the request through. */
export function admitThen(a: number | false | Promise<number | false>, go: (bodyLimit: number) => void | Promise<void>): void | Promise<void> {
  if (a instanceof Promise) {
    return a.then((x) => {
      if (x !== false) return go(x);
    });
  }
  if (a !== false) return go(a);
}

/** The URL a <Proxy> section sees for a request proxied to `balancer` (implicit ones: the member's). */
export function proxyUrlOf(server: Pick<StickyServer, 'runtime'>, balancer: string, upstreamPath: string): string {
  const b = server.runtime.balancers.get(balancer);
  if (b?.model.implicit) return `${b.members[0]?.url.replace(/\/+$/, '') ?? ''}${upstreamPath}`;
  return `balancer://${balancer}${upstreamPath}`;
}

/** A refusal as a whole raw HTTP/1.1 answer (closing the connection), for an upgrade's socket. */
export function rawRefusal(r: Refusal): string {
  const body = errorPage(r.status, r.text);
  let h = `HTTP/1.1 ${r.status} ${reason(r.status)}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  for (const [k, v] of r.headers ?? []) h += `${k}: ${v}\r\n`;
  return `${h}Connection: close\r\n\r\n${body}`;
}

/** The gate for a WebSocket upgrade: undefined to go on, or the refusal to answer. */
export function upgradeRefusal(
  server: StickyServer,
  req: IncomingMessage,
  record: RequestRecord,
  site: SiteModel,
  path: string,
  proxyUrl: string,
): Refusal | undefined | Promise<Refusal | undefined> {
  if (site.access === undefined && site.rateLimits === undefined) return undefined;
  const settle = (v: Verdict): Refusal | undefined => {
    if (v.ok) {
      if (v.user !== undefined) record.user = v.user;
      return undefined;
    }
    server.logger.warn({ client: record.clientAddress, status: v.status }, `refused the upgrade ${record.target} from ${record.clientAddress}: ${v.reason}`);
    return v;
  };
  const v = server.edge.check({
    site,
    path,
    proxyUrl,
    method: req.method ?? 'GET',
    authorization: req.headers.authorization,
    client: record.clientAddress ?? '',
    local: plainAddress(req.socket.localAddress),
  });
  return v instanceof Promise ? v.then(settle) : settle(v);
}

/** Counts and logs a body cut for LimitRequestBody while it streamed (chunked). */
export function bodyCut(server: StickyServer, record: RequestRecord, limit: number): void {
  server.edge.counters.bodyTooLarge++;
  server.logger.warn({ client: record.clientAddress, url: record.target, limit }, `refused ${record.method} ${record.target} from ${record.clientAddress}: the body grew larger than LimitRequestBody ${limit}; the member never got the rest`);
}

/** Counts and logs a body cut for RequestReadTimeout. */
export function bodySlow(server: StickyServer, record: RequestRecord): void {
  server.edge.counters.bodyTimeouts++;
  server.logger.info({ client: record.clientAddress, url: record.target }, `cut a request body that was too slow to arrive (RequestReadTimeout body=…): ${record.method} ${record.target} from ${record.clientAddress}`);
}
