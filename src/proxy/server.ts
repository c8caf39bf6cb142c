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
import { ProxyError, errorPage, rawErrorResponse } from './errors.js';
import { Pools } from './pools.js';
import { RecordStream, RequestRecord } from './core/record.js';
import { nodeRecord, settleNodeRecord, upgradeAsPlainRequest, isTunnel } from './node-record.js';
import { proxyUpgrade } from './websocket.js';
import type https from 'node:https';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { leanEngine, takeNodeHandler, type ListenerEntry } from './h1/engine.js';
import type { LeanPools } from './h1/pool.js';
import type { H2Front, H2Limits } from './h2/session.js';
import { httpsLocation, redirectFor } from './redirect.js';
import type { TlsFront } from '../tls/listener.js';
import { guardConnections } from './accept.js';
import { proxiedAddressOf } from './proxy-protocol.js';
import { Edge } from '../edge/gate.js';
import { applyRemoteIp, headerText } from '../edge/client.js';
import { admitThen, bodyCut, bodySlow, edgeAdmit, proxyUrlOf, rawRefusal, refuseHead, upgradeRefusal } from '../edge/node-gate.js';
import { CertificateStore } from '../tls/certificate-store.js';
import type { ChallengeAnswers } from '../acme/challenges.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { useHttp2 } from './forward.js';

/** HTTP/2's code, imported when a listener speaks it (h2 over TLS, h2c in the clear). */
interface H2Code {
  session: typeof import('./h2/session.js');
  dispatch: typeof import('./h2/dispatch.js');
}

/** The TLS listeners' code, imported when a listener is a TLS one. */
interface TlsCode {
  listener: typeof import('../tls/listener.js');
  files: typeof import('../tls/config-certificates.js');
  names: typeof import('../config/resolve-tls.js');
}

async function loadH2(): Promise<H2Code> {
  const [session, dispatch, stream] = await Promise.all([import('./h2/session.js'), import('./h2/dispatch.js'), import('./h2/stream.js')]);
  // HTTP/2 requests that take node:http's path (handlers, static files) are proxied by the HTTP/2 transport.
  useHttp2(stream.proxyCompatStream);
  return { session, dispatch };
}

async function loadTls(): Promise<TlsCode> {
  const [listener, files, names] = await Promise.all([import('../tls/listener.js'), import('../tls/config-certificates.js'), import('../config/resolve-tls.js')]);
  return { listener, files, names };
}

/** Whether a listener speaks HTTP/2: h2 by ALPN on a TLS listener, h2c (the preface) on a plain one. */
function speaksH2(l: ListenerModel): boolean {
  return (l.protocols ?? []).includes(l.tls ? 'h2' : 'h2c');
}

/** A listener as the server keeps it: its connection handling, and the sites of the current config. */
interface ServedListener extends ListenerEntry {
  /** Takes an HTTP/1.1 connection (plain, or TLS once decrypted). */
  serveH1: (socket: Socket) => void;
  /** The TLS side of a TLS listener. */
  front?: TlsFront;
  /** HTTP/2 sessions, on listeners that speak it. */
  h2?: H2Front;
}

/** The query of a request target, without the '?'. */
function queryOf(url: string | undefined): string | undefined {
  const q = url?.indexOf('?') ?? -1;
  return q < 0 ? undefined : url!.slice(q + 1);
}

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
  /** Requests finished, by HTTP version (`1.0`, `1.1`, `2`). */
  byVersion?: Record<string, number>;
  /** Requests finished that came over TLS. */
  tlsRequests?: number;
}

export class StickyServer extends EventEmitter {
  config: ConfigModel;
  readonly runtime: RuntimeState;
  readonly pools = new Pools();
  /** The lean engine's member pools (`engine: lean`): HTTP/2 streams use them too. */
  leanPools: LeanPools | undefined;
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
  /**
   * On close, idle keep-alive connections are closed once no request has been in flight for this
   * long (0: at once). Workers that drain for an upgrade or a reload set it (src/workers).
   */
  closeIdleAfterMs = 0;
  accessCheck?: AccessFn;
  /** Trusted proxies aside, everything the edge decides: access sections, limits, their counters. */
  readonly edge: Edge = new Edge(
    () => this.config,
    () => this.logger,
  );
  /** Answers to a CA's challenges (HTTP-01, TLS-ALPN-01), set while certificates are managed (src/acme). */
  challenges?: ChallengeAnswers;
  private servers: ServedListener[] = [];
  /** Loaded by listen() for the listeners that need them: a plain HTTP/1.1 balancer carries neither. */
  private h2Code?: H2Code;
  private tlsCode?: TlsCode;
  /** Names whose certificates came from the config's files. */
  private configCertificates = new Set<string>();
  private sockets = new Set<Socket>();
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  private requests = 0;
  private inFlight = 0;
  private closing = false;
  private readonly serverName: string;

  /** ServerName of requests whose site has none (the first site's, else the machine's name). */
  get defaultServerName(): string {
    return this.serverName;
  }
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
    if (this.config.listeners.some(speaksH2)) this.h2Code ??= await loadH2();
    if (this.config.listeners.some((l) => l.tls)) {
      this.tlsCode ??= await loadTls();
      // A certificate file that cannot be served stops the start, with the reason.
      const certs = this.tlsCode.files.loadConfigCertificates(this.config, this.certificates);
      if (certs.errors.length) throw new Error(`cannot serve TLS: ${certs.errors.join('; ')}`);
      this.configCertificates = certs.names;
      for (const c of certs.loaded) for (const w of c.certificates.flatMap((x) => x.warnings)) this.logger.warn(w);
      // A certificate put later (ACME, a reload) may be a listener's default.
      this.certificates.on('change', () => this.refreshTls());
    }
    for (const l of this.config.listeners) {
      const server = this.listenerServer(l, {
        maxHeaderSize: this.config.maxHeaderSize,
        keepAliveTimeout: this.config.keepAliveTimeoutMs,
        requestTimeout: Math.max(this.config.timeoutMs * 5, 300_000),
        headersTimeout: this.config.edge.readTimeout.headerMaxMs || this.config.edge.readTimeout.headerMs || Math.min(this.config.timeoutMs, 60_000),
        requireHostHeader: true,
      });
      server.maxRequestsPerSocket = this.config.edge.maxKeepAliveRequests;
      // Heads and requests that take too long are looked for every second (node's default: 30 s).
      (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 1000;
      const entry = this.connections({ server, listener: l, sites: sitesFor(this.config.sites, l) });
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
      guardConnections(server, { config: () => this.config, edge: this.edge, logger: () => this.logger, listener: l, plainHttp: !l.tls });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : l.port;
      bound.push({ host: l.host, port, ...(l.tls ? { tls: l.tls, protocols: l.protocols } : {}) });
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
    this.byVersion[record.httpVersion] = (this.byVersion[record.httpVersion] ?? 0) + 1;
    if (record.scheme === 'https') this.tlsRequests++;
    this.records.publish(record);
  }

  private readonly byVersion: Record<string, number> = {};
  private tlsRequests = 0;

  /**
   * The server of a listener: node:http's, or on a TLS listener an https.Server behind a TLS
   * front (plain HTTP refused, stalled handshakes cut, SNI from the certificate store).
   */
  private listenerServer(l: ListenerModel, options: http.ServerOptions): http.Server | https.Server {
    if (!l.tls) return http.createServer(options);
    const front = new this.tlsCode!.listener.TlsFront(options, this.tlsOptions(l));
    this.fronts.set(front.server, front);
    return front.server;
  }

  private readonly fronts = new Map<http.Server | https.Server, TlsFront>();

  private tlsOptions(l: ListenerModel) {
    return {
      policy: l.tls!,
      protocols: l.protocols ?? ['h2', 'http/1.1'],
      store: this.certificates,
      defaultNames: this.defaultNames(l),
      // The header timeout of the listener's HTTP/1.1 side covers the handshake as well.
      handshakeTimeoutMs: this.headerTimeoutMs(),
      logger: this.logger,
      challenges: () => this.challenges,
    };
  }

  /** The longest a request head may take (RequestReadTimeout's header time, else Timeout up to 60 s). */
  private headerTimeoutMs(): number {
    return this.config.edge.readTimeout.headerMaxMs || this.config.edge.readTimeout.headerMs || Math.min(this.config.timeoutMs, 60_000);
  }

  /** Names of a listener's default certificate: its first site's (clients without SNI get it). */
  private defaultNames(l: ListenerModel): string[] {
    const sites = sitesFor(this.config.sites, l);
    const first = sites.find((s) => s.tls?.certificates.length) ?? sites[0];
    return first ? this.tlsCode!.names.siteNames(first) : [];
  }

  private h2Limits(): H2Limits {
    return { ...this.h2Code!.session.DEFAULT_H2_LIMITS, maxHeaderListSize: this.config.maxHeaderSize, idleTimeoutMs: Math.max(this.config.keepAliveTimeoutMs, 1_000) };
  }

  /**
   * The one place a listener's connections are taken: every raw connection comes here first
   * (anything to do before TLS or HTTP goes in front of this listener), then TLS connections go
   * through the handshake, and each connection ends with the HTTP/1.1 engine (lean or node:http)
   * or an HTTP/2 session (ALPN h2, or the h2c preface where the listener takes it).
   */
  private connections(e: ListenerEntry): ServedListener {
    const front = this.fronts.get(e.server);
    const node = takeNodeHandler(e, front ? 'secureConnection' : 'connection');
    const entry: ServedListener = { ...e, front, serveH1: (s) => node.call(e.server, s) };
    if (this.config.engine === 'lean') {
      const lean = leanEngine(this);
      entry.serveH1 = lean.handler(entry, node);
      this.leanPools = lean.pools;
    }
    const h2Code = this.h2Code;
    if (h2Code && speaksH2(e.listener)) {
      entry.h2 = new h2Code.session.H2Front(
        this.h2Limits(),
        (stream, headers, raw, conn) =>
          h2Code.dispatch.dispatchStream(this, { sites: entry.sites, maxHeaderListSize: this.config.maxHeaderSize }, stream, headers, raw, conn, (req, res) => this.handleRequest(req, res, entry.sites)),
        () => this.logger,
      );
    }
    const h2 = entry.h2;
    if (front) {
      e.server.on('connection', (raw: Socket) => front.accept(raw));
      e.server.on('secureConnection', (s: TLSSocket) => {
        front.secured(s);
        if (h2 && s.alpnProtocol === 'h2') h2.accept(s);
        else entry.serveH1(s);
      });
    } else if (h2) {
      e.server.on('connection', (s: Socket) => h2Code!.session.sniffPreface(s, (x) => h2.accept(x), (x) => entry.serveH1(x), this.headerTimeoutMs()));
    } else {
      e.server.on('connection', (s: Socket) => entry.serveH1(s));
    }
    return entry;
  }

  /** New default certificates and TLS policies on the TLS listeners (a reload, or the store changed). */
  private refreshTls(): void {
    for (const e of this.servers) e.front?.refresh(this.tlsOptions(e.listener));
  }

  /** The HTTP/1.1 handler of a listener's server, for connections given back to it. */
  private h1Of(server: http.Server | https.Server): (s: Socket) => void {
    const e = this.servers.find((x) => x.server === server);
    return e ? e.serveH1 : (s) => s.destroy();
  }

  /** A request through the ordinary path (HTTP/2 streams that are not plain proxied requests). */
  handleRequest(req: http.IncomingMessage | Http2ServerRequest, res: http.ServerResponse | Http2ServerResponse, sites: SiteModel[]): void {
    this.onRequest(req as http.IncomingMessage, res as unknown as http.ServerResponse, sites);
  }

  /** Answers a plain-HTTP request of a site with redirectToHttps with its https:// URL. */
  private toHttps(req: http.IncomingMessage, res: http.ServerResponse, site: SiteModel, record: RequestRecord): void {
    const location = httpsLocation(site, req.headers.host, req.url ?? '/');
    if (location === undefined) {
      sendError(res, record, new ProxyError('ERR_BAD_REQUEST', 'no host to redirect to'));
      return;
    }
    record.kind = 'handler';
    this.answerRedirect(res, record, site.redirectToHttps!.status, location);
  }

  private answerRedirect(res: http.ServerResponse, record: RequestRecord, status: number, location: string | undefined): void {
    record.status = status;
    const body = location === undefined ? errorPage(status) : errorPage(status, `Moved to ${location}`);
    const headers: Record<string, string> = { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) };
    if (location !== undefined) headers.Location = location;
    res.writeHead(status, headers);
    res.end(body);
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
    return {
      startedAt: this.startedAt,
      requests: this.requests,
      inFlight: this.inFlight,
      connections: this.sockets.size,
      bytesIn,
      bytesOut,
      byVersion: { ...this.byVersion },
      tlsRequests: this.tlsRequests,
    };
  }

  /** Swaps in a new config: new requests use it; in-flight ones finish on the old one. */
  reload(config: ConfigModel): void {
    this.config = config;
    this.runtime.reload(config);
    for (const entry of this.servers) {
      entry.sites = sitesFor(config.sites, entry.listener);
      // The listener's settings of the new config (the address stays as it was bound).
      const l = config.listeners.find((x) => x.port === entry.listener.port && x.host === entry.listener.host);
      if (l) entry.listener = { ...l, port: entry.listener.port };
      entry.h2?.update(this.h2Limits());
      // HTTP/2 clients finish their streams and come back on a new connection.
      entry.h2?.goaway();
    }
    if (this.tlsCode && this.servers.some((e) => e.front)) {
      // Certificates are read again; one that cannot be served keeps the old one in service.
      const certs = this.tlsCode.files.loadConfigCertificates(config, this.certificates, this.configCertificates);
      this.configCertificates = certs.names;
      for (const err of certs.errors) this.logger.error(`reload: ${err}; the certificate in service stays`);
      for (const c of certs.loaded) for (const w of c.certificates.flatMap((x) => x.warnings)) this.logger.warn(w);
      this.refreshTls();
    }
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
    // HTTP/2: GOAWAY now, the streams in flight finish within the grace time.
    for (const e of this.servers) e.h2?.close();
    const closed = Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
    const deadline = Date.now() + graceMs;
    if (this.closeIdleAfterMs > 0) await this.quiesce(deadline);
    for (const { server } of this.servers) server.closeIdleConnections();
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const { server } of this.servers) server.closeAllConnections();
    for (const e of this.servers) e.h2?.destroy();
    for (const s of this.sockets) s.destroy();
    await closed;
    this.pools.destroy();
    this.emit('closed');
  }

  /**
   * Waits until no request has been in flight for closeIdleAfterMs (or the deadline): a keep-alive
   * client may be sending its next request right now, which is answered (with Connection: close)
   * rather than cut off with its connection.
   */
  private async quiesce(deadline: number): Promise<void> {
    let quietSince = 0;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      if (this.inFlight > 0) quietSince = 0;
      else if (quietSince === 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= this.closeIdleAfterMs) return;
      await new Promise((r) => setTimeout(r, 20));
    }
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
    if (record.scheme === 'https' && site.hsts !== undefined) res.setHeader('Strict-Transport-Security', site.hsts);
    else if (site.redirectToHttps && record.scheme === 'http') return this.toHttps(req, res, site, record);
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
        leanPools: this.leanPools,
        maxHeaderSize: this.config.maxHeaderSize,
      });
      return admitThen(edgeAdmit(this, req, res, record, site, path, proxyUrlOf(this, m.balancer, m.upstreamPath)), proceed);
    }
    record.kind = 'static';
    return admitThen(edgeAdmit(this, req, res, record, site, path, undefined), () => this.serveStatic(req, res, site, path, record));
  }

  private serveStatic(req: http.IncomingMessage, res: http.ServerResponse, site: SiteModel, path: string, record: RequestRecord): void | Promise<void> {
    const redirect = site.redirects?.length ? redirectFor(site, path, queryOf(req.url)) : undefined;
    if (redirect !== undefined) {
      record.kind = 'handler';
      this.answerRedirect(res, record, redirect.status, redirect.location);
      return;
    }
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

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer, sites: SiteModel[], server: http.Server | https.Server): void {
    if (!isTunnel(req)) {
      // Only a bodyless WebSocket handshake is tunnelled. Any other Upgrade (h2c, TLS) is
      // hop-by-hop: the request goes on as a plain one without it, body and all, as nginx,
      // HAProxy and Apache forward it.
      upgradeAsPlainRequest(req, socket, head);
      this.h1Of(server)(socket);
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
