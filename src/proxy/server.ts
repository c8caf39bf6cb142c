// The listener: one HTTP server per Listen address. Each request is routed on its own (also on a
// reused keep-alive connection): site by Host, then handlers, ProxyPass rules, static files.
import http from 'node:http';
import os from 'node:os';
import type { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import type { ConfigModel, HandlerModel, ListenerModel, SiteModel } from '../config/model.js';
import type { RuntimeState } from '../balancer/runtime.js';
import { normaliseTarget, BadPathError } from './path.js';
import { matchRoute } from './routes.js';
import { selectSite, sitesFor } from './site.js';
import { forward, sendError } from './forward.js';
import { ProxyError, rawErrorResponse } from './errors.js';
import { Pools } from './pools.js';
import { RecordStream, RequestRecord } from './core/record.js';
import { nodeRecord, settleNodeRecord, upgradeAsPlainRequest, isTunnel } from './node-record.js';
import { proxyUpgrade } from './websocket.js';
import { attachLeanEngine } from './h1/engine.js';
import { guardConnections } from './accept.js';
import { proxiedAddressOf } from './proxy-protocol.js';
import { Edge } from '../edge/gate.js';
import { applyRemoteIp, headerText } from '../edge/client.js';
import { admitThen, bodyCut, bodySlow, edgeAdmit, proxyUrlOf, rawRefusal, refuseHead, upgradeRefusal } from '../edge/node-gate.js';
import { CertificateStore } from '../tls/certificate-store.js';
import type { ChallengeAnswers } from '../acme/challenges.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';

export interface HandlerContext {
  server: StickyServer;
  handler: HandlerModel;
  site: SiteModel;
  /** Normalised request path. */
  path: string;
  query?: string;
  record: RequestRecord;
}

/** A built-in handler (balancer-manager, server-status, metrics). */
export type HandlerFn = (req: http.IncomingMessage, res: http.ServerResponse, ctx: HandlerContext) => void | Promise<void>;

/** Serves a static file for a path no rule proxies; resolves false when it did not answer. */
export type StaticFn = (req: http.IncomingMessage, res: http.ServerResponse, site: SiteModel, path: string, record: RequestRecord) => boolean | Promise<boolean>;

/** Decides whether a handler may be used by this request (access rules, auth); answers if not. */
export type AccessFn = (req: http.IncomingMessage, res: http.ServerResponse, handler: HandlerModel, record: RequestRecord) => boolean | Promise<boolean>;

export interface ServerOptions {
  config: ConfigModel;
  runtime: RuntimeState;
  logger?: Logger;
}

export interface ServerStats {
  startedAt: number;
  requests: number;
  inFlight: number;
  connections: number;
  bytesIn: number;
  bytesOut: number;
}

export class StickyServer extends EventEmitter {
  config: ConfigModel;
  readonly runtime: RuntimeState;
  readonly pools = new Pools();
  readonly logger: Logger;
  readonly handlers = new Map<string, HandlerFn>();
  /** Every finished request, from every transport: the one subscription of logs and metrics. */
  readonly records: RecordStream;
  /**
   * The certificates of the TLS listeners, by server name. Certificate files of the config are put
   * here at start and on reload; other producers (ACME) call `certificates.put(names, material)`.
   */
  readonly certificates = new CertificateStore();
  staticHandler?: StaticFn;
  accessCheck?: AccessFn;
  /** Trusted proxies aside, everything the edge decides: access sections, limits, their counters. */
  readonly edge: Edge = new Edge(
    () => this.config,
    () => this.logger,
  );
  /** Answers to a CA's HTTP-01 challenges, set while certificates are managed (src/acme). */
  challenges?: ChallengeAnswers;
  private servers: { server: http.Server; listener: ListenerModel; sites: SiteModel[] }[] = [];
  private sockets = new Set<Socket>();
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  private requests = 0;
  private inFlight = 0;
  private closing = false;
  private readonly serverName: string;
  readonly startedAt = Date.now();

  constructor(opts: ServerOptions) {
    super();
    this.config = opts.config;
    this.runtime = opts.runtime;
    this.logger = opts.logger ?? silentLogger();
    this.records = new RecordStream((err) => this.logger.error({ err }, 'a request observer failed'));
    this.serverName = opts.config.sites[0]?.serverName ?? os.hostname();
  }

  /** Starts every listener; resolves with the addresses actually bound (port 0 → real port). */
  async listen(): Promise<ListenerModel[]> {
    const bound: ListenerModel[] = [];
    for (const l of this.config.listeners) {
      const server = http.createServer({
        maxHeaderSize: this.config.maxHeaderSize,
        keepAliveTimeout: this.config.keepAliveTimeoutMs,
        requestTimeout: Math.max(this.config.timeoutMs * 5, 300_000),
        headersTimeout: this.config.edge.readTimeout.headerMaxMs || this.config.edge.readTimeout.headerMs || Math.min(this.config.timeoutMs, 60_000),
        requireHostHeader: true,
      });
      server.maxRequestsPerSocket = this.config.edge.maxKeepAliveRequests;
      // Heads and requests that take too long are looked for every second (node's default: 30 s).
      (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 1000;
      const entry = { server, listener: l, sites: sitesFor(this.config.sites, l) };
      // The lean engine takes the connections first and hands what it does not forward to node:http.
      if (this.config.engine === 'lean') attachLeanEngine(this, entry);
      server.on('request', (req, res) => this.onRequest(req, res, entry.sites));
      server.on('checkContinue', (req, res) => this.onRequest(req, res, entry.sites));
      server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head, entry.sites, server));
      server.on('connect', (_req, socket: Socket) => {
        socket.end(rawErrorResponse(405, 'CONNECT is not supported: this server is not a forward proxy.'));
      });
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
      server.on('connection', (s: Socket) => {
        // A connection given back after an upgrade that is proxied as a plain request comes again.
        if (this.sockets.has(s)) return;
        this.sockets.add(s);
        s.once('close', () => {
          this.sockets.delete(s);
          this.closedBytesIn += s.bytesRead;
          this.closedBytesOut += s.bytesWritten;
        });
      });
      // Last: the PROXY header and the connection limits come before every connection listener.
      guardConnections(server, { config: () => this.config, edge: this.edge, logger: () => this.logger, listener: l, plainHttp: true });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : l.port;
      bound.push({ host: l.host, port });
      this.servers.push(entry);
    }
    // Plugins that need the listeners up (ACME orders: the CA calls back) start now.
    this.emit('listening', bound);
    return bound;
  }

  /** Counts a request the lean engine (src/proxy/h1) forwards, as onRequest counts its own. */
  requestStarted(): void {
    this.requests++;
    this.inFlight++;
  }

  /** A request of any transport is over: counted, and its record goes to the observers. */
  requestFinished(record: RequestRecord): void {
    this.inFlight--;
    this.records.publish(record);
  }

  /** True once close() began: answers then close their connections. */
  get isClosing(): boolean {
    return this.closing;
  }

  /** Addresses bound, in listener order. */
  addresses(): ListenerModel[] {
    return this.servers.map(({ server, listener }) => {
      const a = server.address();
      return { host: listener.host, port: typeof a === 'object' && a ? a.port : listener.port };
    });
  }

  stats(): ServerStats {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const s of this.sockets) {
      bytesIn += s.bytesRead;
      bytesOut += s.bytesWritten;
    }
    return { startedAt: this.startedAt, requests: this.requests, inFlight: this.inFlight, connections: this.sockets.size, bytesIn, bytesOut };
  }

  /** Swaps in a new config: new requests use it; in-flight ones finish on the old one. */
  reload(config: ConfigModel): void {
    this.config = config;
    this.runtime.reload(config);
    for (const entry of this.servers) entry.sites = sitesFor(config.sites, entry.listener);
    const ids = new Set<string>();
    for (const b of this.runtime.balancers.values()) for (const m of b.members) ids.add(m.id);
    this.pools.retain(ids);
    this.emit('reload', config);
  }

  /**
   * Stops taking connections, lets in-flight requests finish for up to `graceMs`, then closes
   * whatever is left.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    const closed = Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
    for (const { server } of this.servers) server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const { server } of this.servers) server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
    this.pools.destroy();
    this.emit('closed');
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (!socket.writable || (socket as any)._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const code = err.code ?? '';
    let status = 400;
    let text = 'The request could not be parsed.';
    if (code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      text = 'The request head is too large.';
    } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') {
      this.edge.counters.headerTimeouts++;
      status = 408;
      text = 'The request took too long to arrive.';
    } else if (code === 'HPE_UNEXPECTED_CONTENT_LENGTH' || code === 'HPE_INVALID_CONTENT_LENGTH' || code === 'HPE_INVALID_TRANSFER_ENCODING') {
      text = 'Conflicting or invalid message framing (Content-Length / Transfer-Encoding).';
    } else if (code === 'HPE_INVALID_CHUNK_SIZE') {
      text = 'Invalid chunk size in the request body.';
    }
    this.logger.info({ client: socket.remoteAddress, code, status }, `refused malformed request: ${text}`);
    socket.end(rawErrorResponse(status, text));
    socket.destroySoon?.();
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, sites: SiteModel[]): void {
    const record = nodeRecord(req, res);
    this.requests++;
    this.inFlight++;
    let done = false;
    const settle = () => {
      if (done) return;
      done = true;
      settleNodeRecord(record, req, res);
      this.requestFinished(record);
    };
    res.once('finish', settle);
    res.once('close', settle);
    if (this.closing || this.lastOnConnection(req.socket)) res.shouldKeepAlive = false;
    try {
      const r = this.dispatch(req, res, sites, record);
      if (r) r.catch((e) => this.internalError(res, record, e));
    } catch (e) {
      this.internalError(res, record, e);
    }
  }

  private readonly requestsOn = new WeakMap<Socket, number>();

  /** MaxKeepAliveRequests: true for the request after which the connection closes (as Apache closes it). */
  private lastOnConnection(socket: Socket): boolean {
    const max = this.config.edge.maxKeepAliveRequests;
    if (max === 0) return false;
    const n = (this.requestsOn.get(socket) ?? 0) + 1;
    this.requestsOn.set(socket, n);
    return n >= max;
  }

  private internalError(res: http.ServerResponse, record: RequestRecord, e: unknown): void {
    this.logger.error({ err: e }, 'internal error while handling a request');
    // Our failure, not the client's: 500, with the detail kept for the log only.
    sendError(res, record, new ProxyError('ERR_INTERNAL', (e as Error)?.message));
  }

  /** Resolves the request target to a path: origin form, or absolute form for our own host. */
  private targetOf(req: http.IncomingMessage): string | ProxyError {
    const url = req.url ?? '/';
    if (url[0] === '/') return url;
    if (/^https?:\/\//i.test(url)) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return new ProxyError('ERR_BAD_REQUEST', 'invalid absolute URI');
      }
      const host = (req.headers.host ?? '').toLowerCase();
      if (u.host.toLowerCase() !== host) return new ProxyError('ERR_FORWARD_PROXY', `absolute URI for ${u.host}`);
      req.url = u.pathname + u.search;
      return req.url;
    }
    if (url === '*' && req.method === 'OPTIONS') return '*';
    return new ProxyError('ERR_BAD_REQUEST', 'request target must be a path');
  }

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse, sites: SiteModel[], record: RequestRecord): void | Promise<void> {
    if (refuseHead(this, req, res, record)) return;
    const target = this.targetOf(req);
    if (target instanceof ProxyError) {
      record.kind = 'error';
      sendError(res, record, target);
      return;
    }
    if (target === '*') {
      res.writeHead(200, { Allow: 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH', 'Content-Length': '0' });
      res.end();
      return;
    }
    let path: string;
    let query: string | undefined;
    try {
      ({ path, query } = normaliseTarget(target));
    } catch (e) {
      record.kind = 'error';
      // Paths that climb above the root are probes for files outside it: worth a warning.
      this.logger.warn({ client: req.socket.remoteAddress, target }, `refused request path ${JSON.stringify(target)}: ${(e as Error).message}`);
      sendError(res, record, new ProxyError('ERR_BAD_REQUEST', e instanceof BadPathError ? e.message : 'bad path'));
      return;
    }
    const site = selectSite(sites, req.headers.host);
    record.site = site;
    if (site.remoteIp !== undefined) applyRemoteIp(record, site, (name) => headerText(req.headers[name]), proxiedAddressOf(req.socket) !== undefined);
    const m = matchRoute(site, path, this.challenges);
    if (m.kind === 'challenge') {
      record.kind = 'handler';
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(m.answer)) });
      res.end(m.answer);
      return;
    }
    if (m.kind === 'handler') {
      record.kind = 'handler';
      const fn = this.handlers.get(m.handler.handler);
      if (!fn) {
        sendError(res, record, new ProxyError('ERR_NOT_FOUND', `handler ${m.handler.handler} is not available`));
        return;
      }
      return this.runHandler(req, res, fn, { server: this, handler: m.handler, site, path, query, record });
    }
    if (m.kind === 'proxy') {
      const b = this.runtime.balancers.get(m.balancer);
      if (!b) {
        sendError(res, record, new ProxyError('ERR_NO_MEMBER', `balancer ${m.balancer} is gone`));
        return;
      }
      const proceed = (bodyLimit: number) =>
        forward({
        bodyLimit,
        onBodyOverLimit: () => bodyCut(this, record, bodyLimit),
        readTimeout: this.config.edge.readTimeout,
        onBodyTooSlow: () => bodySlow(this, record),
        req,
        res,
        record,
        site,
        balancer: b,
        upstreamTarget: query === undefined ? m.upstreamPath : `${m.upstreamPath}?${query}`,
        serverName: site.serverName ?? this.serverName,
        replayBuffer: this.config.replayBuffer,
        pools: this.pools,
      });
      return admitThen(edgeAdmit(this, req, res, record, site, path, proxyUrlOf(this, m.balancer, m.upstreamPath)), proceed);
    }
    record.kind = 'static';
    return admitThen(edgeAdmit(this, req, res, record, site, path, undefined), () => this.serveStatic(req, res, site, path, record));
  }

  private serveStatic(req: http.IncomingMessage, res: http.ServerResponse, site: SiteModel, path: string, record: RequestRecord): void | Promise<void> {
    if (site.static && this.staticHandler) {
      return Promise.resolve(this.staticHandler(req, res, site, path, record)).then((answered) => {
        if (!answered) sendError(res, record, new ProxyError('ERR_NOT_FOUND'));
      });
    }
    sendError(res, record, new ProxyError('ERR_NOT_FOUND'));
  }

  private async runHandler(req: http.IncomingMessage, res: http.ServerResponse, fn: HandlerFn, ctx: HandlerContext): Promise<void> {
    if (this.accessCheck && !(await this.accessCheck(req, res, ctx.handler, ctx.record))) return;
    await fn(req, res, ctx);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer, sites: SiteModel[], server: http.Server): void {
    if (!isTunnel(req)) {
      // Only a bodyless WebSocket handshake is tunnelled. Any other Upgrade (h2c, TLS) is
      // hop-by-hop: the request goes on as a plain one without it, body and all, as nginx,
      // HAProxy and Apache forward it.
      upgradeAsPlainRequest(req, socket, head);
      server.emit('connection', socket);
      return;
    }
    const record = nodeRecord(req, undefined);
    record.kind = 'websocket';
    record.transport = 'ws';
    this.requests++;
    this.inFlight++;
    const finished = () => this.requestFinished(record);
    socket.on('error', () => socket.destroy());
    const site = selectSite(sites, req.headers.host);
    record.site = site;
    if (site.remoteIp !== undefined) applyRemoteIp(record, site, (name) => headerText(req.headers[name]), proxiedAddressOf(req.socket) !== undefined);
    // Refused upgrades are answered and logged like any other request.
    const refuse = (err: ProxyError) => {
      record.status = err.status;
      record.error = err;
      socket.end(rawErrorResponse(err.status, err.text));
      finished();
    };
    const target = this.targetOf(req);
    if (target instanceof ProxyError) return refuse(target);
    if (target === '*') return refuse(new ProxyError('ERR_BAD_REQUEST', 'bad target'));
    let path: string;
    let query: string | undefined;
    try {
      ({ path, query } = normaliseTarget(target));
    } catch {
      return refuse(new ProxyError('ERR_BAD_REQUEST', 'bad path'));
    }
    const m = matchRoute(site, path);
    if (m.kind !== 'proxy') return refuse(new ProxyError('ERR_NOT_FOUND'));
    const b = this.runtime.balancers.get(m.balancer);
    if (!b) return refuse(new ProxyError('ERR_NO_MEMBER', `balancer ${m.balancer} is gone`));
    const go = () =>
      proxyUpgrade({
      req,
      socket,
      head,
      record,
      site,
      balancer: b,
      upstreamTarget: query === undefined ? m.upstreamPath : `${m.upstreamPath}?${query}`,
      serverName: site.serverName ?? this.serverName,
    }).finally(finished);
    const refusal = upgradeRefusal(this, req, record, site, path, proxyUrlOf(this, m.balancer, m.upstreamPath));
    const settle = (r: Awaited<typeof refusal>) => {
      if (r === undefined) return void go();
      record.status = r.status;
      socket.end(rawRefusal(r));
      finished();
    };
    if (refusal instanceof Promise) void refusal.then(settle);
    else settle(refusal);
  }
}
