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
import { newRequestInfo, type RequestInfo } from './request-info.js';
import { proxyUpgrade } from './websocket.js';
import { attachLeanEngine } from './h1/engine.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';

export interface HandlerContext {
  server: StickyServer;
  handler: HandlerModel;
  site: SiteModel;
  /** Normalised request path. */
  path: string;
  query?: string;
  info: RequestInfo;
}

/** A built-in handler (balancer-manager, server-status, metrics). */
export type HandlerFn = (req: http.IncomingMessage, res: http.ServerResponse, ctx: HandlerContext) => void | Promise<void>;

/** Serves a static file for a path no rule proxies; resolves false when it did not answer. */
export type StaticFn = (req: http.IncomingMessage, res: http.ServerResponse, site: SiteModel, path: string, info: RequestInfo) => boolean | Promise<boolean>;

/** Decides whether a handler may be used by this request (access rules, auth); answers if not. */
export type AccessFn = (req: http.IncomingMessage, res: http.ServerResponse, handler: HandlerModel) => boolean | Promise<boolean>;

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
  staticHandler?: StaticFn;
  accessCheck?: AccessFn;
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
        headersTimeout: Math.min(this.config.timeoutMs, 60_000),
        requireHostHeader: true,
      });
      const entry = { server, listener: l, sites: sitesFor(this.config.sites, l) };
      // The lean engine takes the connections first and hands what it does not forward to node:http.
      if (this.config.engine === 'lean') attachLeanEngine(this, entry);
      server.on('request', (req, res) => this.onRequest(req, res, entry.sites));
      server.on('checkContinue', (req, res) => this.onRequest(req, res, entry.sites));
      server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head, entry.sites));
      server.on('connect', (_req, socket: Socket) => {
        socket.end(rawErrorResponse(405, 'CONNECT is not supported: this server is not a forward proxy.'));
      });
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
      server.on('connection', (s: Socket) => {
        this.sockets.add(s);
        s.once('close', () => {
          this.sockets.delete(s);
          this.closedBytesIn += s.bytesRead;
          this.closedBytesOut += s.bytesWritten;
        });
      });
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
    return bound;
  }

  /** Counts a request the lean engine (src/proxy/h1) forwards, as onRequest counts its own. */
  requestStarted(): void {
    this.requests++;
    this.inFlight++;
  }

  requestFinished(): void {
    this.inFlight--;
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
    const info = newRequestInfo();
    this.requests++;
    this.inFlight++;
    let done = false;
    const settle = () => {
      if (done) return;
      done = true;
      this.inFlight--;
      if (info.status === undefined) info.status = res.statusCode;
      this.emit('request-done', req, res, info);
    };
    res.once('finish', settle);
    res.once('close', settle);
    if (this.closing) res.shouldKeepAlive = false;
    // Before anything is written, so the access log can count the body bytes.
    this.emit('request-start', req, res, info);
    try {
      const r = this.dispatch(req, res, sites, info);
      if (r) r.catch((e) => this.internalError(res, info, e));
    } catch (e) {
      this.internalError(res, info, e);
    }
  }

  private internalError(res: http.ServerResponse, info: RequestInfo, e: unknown): void {
    this.logger.error({ err: e }, 'internal error while handling a request');
    // Our failure, not the client's: 500, with the detail kept for the log only.
    sendError(res, info, new ProxyError('ERR_INTERNAL', (e as Error)?.message));
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

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse, sites: SiteModel[], info: RequestInfo): void | Promise<void> {
    const target = this.targetOf(req);
    if (target instanceof ProxyError) {
      info.kind = 'error';
      sendError(res, info, target);
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
      info.kind = 'error';
      // Paths that climb above the root are probes for files outside it: worth a warning.
      this.logger.warn({ client: req.socket.remoteAddress, target }, `refused request path ${JSON.stringify(target)}: ${(e as Error).message}`);
      sendError(res, info, new ProxyError('ERR_BAD_REQUEST', e instanceof BadPathError ? e.message : 'bad path'));
      return;
    }
    const site = selectSite(sites, req.headers.host);
    info.site = site;
    const m = matchRoute(site, path);
    if (m.kind === 'handler') {
      info.kind = 'handler';
      const fn = this.handlers.get(m.handler.handler);
      if (!fn) {
        sendError(res, info, new ProxyError('ERR_NOT_FOUND', `handler ${m.handler.handler} is not available`));
        return;
      }
      return this.runHandler(req, res, fn, { server: this, handler: m.handler, site, path, query, info });
    }
    if (m.kind === 'proxy') {
      const b = this.runtime.balancers.get(m.balancer);
      if (!b) {
        sendError(res, info, new ProxyError('ERR_NO_MEMBER', `balancer ${m.balancer} is gone`));
        return;
      }
      return forward({
        req,
        res,
        info,
        site,
        balancer: b,
        upstreamTarget: query === undefined ? m.upstreamPath : `${m.upstreamPath}?${query}`,
        serverName: site.serverName ?? this.serverName,
        replayBuffer: this.config.replayBuffer,
        pools: this.pools,
      });
    }
    info.kind = 'static';
    if (site.static && this.staticHandler) {
      return Promise.resolve(this.staticHandler(req, res, site, path, info)).then((answered) => {
        if (!answered) sendError(res, info, new ProxyError('ERR_NOT_FOUND'));
      });
    }
    sendError(res, info, new ProxyError('ERR_NOT_FOUND'));
  }

  private async runHandler(req: http.IncomingMessage, res: http.ServerResponse, fn: HandlerFn, ctx: HandlerContext): Promise<void> {
    if (this.accessCheck && !(await this.accessCheck(req, res, ctx.handler))) return;
    await fn(req, res, ctx);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer, sites: SiteModel[]): void {
    const info = newRequestInfo();
    info.kind = 'websocket';
    this.requests++;
    socket.on('error', () => socket.destroy());
    const site = selectSite(sites, req.headers.host);
    info.site = site;
    // Refused upgrades are answered and logged like any other request.
    const refuse = (status: number, text: string) => {
      info.status = status;
      socket.end(rawErrorResponse(status, text));
      this.emit('upgrade-done', req, info);
    };
    const target = this.targetOf(req);
    if (target instanceof ProxyError) return refuse(target.status, target.message);
    if (target === '*') return refuse(400, 'Bad target.');
    let path: string;
    let query: string | undefined;
    try {
      ({ path, query } = normaliseTarget(target));
    } catch {
      return refuse(400, 'Bad path.');
    }
    const m = matchRoute(site, path);
    if (m.kind !== 'proxy') return refuse(404, 'Not found.');
    const b = this.runtime.balancers.get(m.balancer);
    if (!b) return refuse(503, 'No member of the balancer is available.');
    proxyUpgrade({
      req,
      socket,
      head,
      info,
      site,
      balancer: b,
      upstreamTarget: query === undefined ? m.upstreamPath : `${m.upstreamPath}?${query}`,
      serverName: site.serverName ?? this.serverName,
      pools: this.pools,
    }).finally(() => this.emit('upgrade-done', req, info));
  }
}
