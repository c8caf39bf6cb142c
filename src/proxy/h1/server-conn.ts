// The per-connection loop of the lean engine: read request heads, route each request on its own
// (also on a reused keep-alive connection), forward proxied ones through an Exchange and answer
// pipelined requests one after the other, in order. Anything else (handlers, static files,
// WebSocket upgrades, Expect, absolute-form targets, error pages of the router) is handed to the
// node:http server of the listener together with the bytes already read, for the rest of the
// connection's life.
import type { Socket } from 'node:net';
import type { SiteModel } from '../../config/model.js';
import { ProxyError, rawErrorResponse } from '../errors.js';
import { normaliseTarget } from '../path.js';
import { matchRoute } from '../routes.js';
import { selectSite } from '../site.js';
import type { ClientSide } from './client-side.js';
import type { LeanEngine, ListenerEntry } from './engine.js';
import { Exchange } from './exchange.js';
import { recordTls } from '../../tls/info.js';
import { bareLf } from './fields.js';
import { Outbox } from './outbox.js';
import { ParseError } from './parse-error.js';
import { maxAnswerHead, type LeanPools } from './pool.js';
import { UPGRADE } from './head-fields.js';
import { plainAddress } from '../node-record.js';
import { proxiedAddressOf } from '../proxy-protocol.js';
import type { ReadTimeoutModel } from '../../config/edge-model.js';
import type { Verdict } from '../../edge/gate.js';
import { readDeadline } from '../../edge/read-timeout.js';
import { LeanEdgeState, headLimitReason, leanEdge, refusalAnswer, refusalRecord } from './edge-hook.js';
import { parseRequestHead, type RequestHead } from './request-head.js';
import { pushReads, readIntoBuffer } from './user-buffer.js';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** A bodyless request that asks to switch to WebSocket (node-record.ts's isTunnel, on a lean head). */
function isTunnel(head: RequestHead): boolean {
  if (head.chunked || head.contentLength > 0) return false;
  const f = head.fields;
  for (let i = 0; i < f.count; i++) if (f.kinds[i] === UPGRADE && /(^|,)\s*websocket\s*(,|$)/i.test(f.value(i))) return true;
  return false;
}
/** Reads up to this size are turned into one string before the head is looked for. */
const SHORT_READ = 16_384;

/**
 * Plain client connections read into this one buffer (user-buffer.ts), as member connections
 * read into theirs: bytes of it that are kept past the read (an unfinished head, pipelined
 * requests, a body) are copied by `own`.
 */
const CLIENT_READ = Buffer.allocUnsafe(65_536);

/** `b`, or a copy of it when it lies in the shared read buffer. */
function own(b: Buffer): Buffer {
  return b.buffer === CLIENT_READ.buffer ? Buffer.from(b) : b;
}

export class ServerConn implements ClientSide {
  readonly pools: LeanPools;
  readonly out: Outbox;
  /** Bytes read and not yet used: a head in the making, or pipelined requests. */
  private buf: Buffer | undefined;
  private exchange: Exchange | undefined;
  private paused = false;
  /** No further request is read (closing, closed or handed over). */
  private done = false;
  /** The client half-closed its side. */
  private ended = false;
  private processing = false;
  /** When the head now being received began to arrive (engine clock). */
  private headSince = 0;
  /** Last traffic or end of an answer (engine clock), for the keep-alive timeout. */
  private lastActive: number;
  /** The connection came over TLS (the socket is the decrypted side). */
  private readonly secure: boolean;
  /** The connection's other end: its PROXY header's address, else the socket's. */
  readonly peerAddress: string;
  readonly peerPort: number | undefined;
  /** The connection came with a PROXY header that gave an address. */
  private readonly proxied: boolean;
  /** Requests begun on this connection (MaxKeepAliveRequests). */
  private requests = 0;
  /** Waiting for the gate's answer on the request at the start of `buf`. */
  private waiting = false;
  /** The edge step's view of the connection (its answers for the request being routed). */
  private readonly edge: LeanEdgeState;
  /** When the body now arriving began to count against RequestReadTimeout, and its bytes then. */
  private bodySince = 0;
  private bodyBase = 0;
  /** The socket reads into CLIENT_READ (else it emits 'data' with buffers of its own). */
  private readonly lending: boolean;
  /** This end's port, once asked for (null: not yet). */
  private localPortNo: number | undefined | null = null;

  constructor(
    private readonly engine: LeanEngine,
    private readonly entry: ListenerEntry,
    readonly socket: Socket,
    private readonly nodeListener: (socket: Socket) => void,
  ) {
    this.pools = engine.pools;
    this.out = new Outbox(socket);
    this.lastActive = engine.now;
    this.secure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
    const proxied = proxiedAddressOf(socket);
    this.proxied = proxied !== undefined;
    this.peerAddress = proxied?.address ?? plainAddress(socket.remoteAddress) ?? '';
    this.peerPort = proxied?.port ?? socket.remotePort;
    this.edge = new LeanEdgeState(this.peerAddress, this.proxied, socket);
    // No socket timer: the engine's clock sweeps every connection (a socket timer would be
    // refreshed by every read and write).
    engine.conns.add(this);
    socket.setNoDelay(true);
    this.lending = !this.secure && readIntoBuffer(socket, CLIENT_READ, this.onRead);
    if (!this.lending) socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  /** The engine's clock ticked: close an idle keep-alive connection, answer 408 to a slow head. */
  sweep(now: number, keepAliveMs: number, headersMs: number, rt?: ReadTimeoutModel): void {
    if (this.done || this.waiting) return;
    const ex = this.exchange;
    if (ex !== undefined) {
      if (ex.bodyDone || rt === undefined || rt.bodyMs === 0) return;
      // RequestReadTimeout body=…: time spent while we do not read (a member not ready, its
      // backpressure) does not count against the client.
      if (this.paused || this.bodySince === 0) {
        this.bodySince = now;
        this.bodyBase = ex.bodyBytesIn;
        return;
      }
      if (now >= readDeadline(this.bodySince, ex.bodyBytesIn - this.bodyBase, rt.bodyMs, rt.bodyMaxMs, rt.bodyMinRate)) this.bodyTimedOut(ex);
      return;
    }
    if (this.buf !== undefined && this.headSince !== 0) {
      // RequestReadTimeout header=…, and never longer than the head timeout of before (Timeout).
      let deadline = this.headSince + headersMs;
      if (rt !== undefined && rt.headerMs > 0) deadline = Math.min(deadline, readDeadline(this.headSince, this.buf.length, rt.headerMs, rt.headerMaxMs, rt.headerMinRate));
      if (now >= deadline) {
        this.engine.server.edge.counters.headerTimeouts++;
        this.engine.server.logger.info({ client: this.peerAddress, bytes: this.buf.length }, `cut a request head that was too slow to arrive (RequestReadTimeout header=…): ${this.buf.length} bytes in ${now - this.headSince} ms`);
        this.done = true;
        this.buf = undefined;
        this.out.flushNow();
        this.socket.end(rawErrorResponse(408, 'The request took too long to arrive.'));
        this.socket.destroySoon();
      }
      return;
    }
    if (now - this.lastActive >= keepAliveMs) this.socket.destroy();
  }

  // ---- ClientSide ----

  maxHeaderSize(): number {
    return this.engine.server.config.maxHeaderSize;
  }

  maxAnswerHead(): number {
    return maxAnswerHead(this.engine.server.config.maxHeaderSize);
  }

  replayBuffer(): number {
    return this.engine.server.config.replayBuffer;
  }

  serverName(site: SiteModel): string {
    return site.serverName ?? this.engine.serverName;
  }

  mayKeepAlive(): boolean {
    const max = this.engine.server.config.edge.maxKeepAliveRequests;
    return !this.ended && !this.engine.server.isClosing && (max === 0 || this.requests < max);
  }

  keepAliveLines(): string {
    return this.engine.keepAliveLines();
  }

  dateLine(): string {
    return this.engine.dateLine();
  }

  pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resumeReading(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  exchangeFinished(ex: Exchange): void {
    this.report(ex);
    if (this.exchange !== ex) return;
    if (!ex.keepAlive) {
      this.exchange = undefined;
      this.finish();
      return;
    }
    if (!ex.bodyDone) {
      // Read the rest of the body and drop it, then go on with the next request.
      this.resumeReading();
      return;
    }
    this.exchange = undefined;
    this.lastActive = this.engine.now;
    this.next();
  }

  bodyFinished(ex: Exchange): void {
    if (this.exchange !== ex) return;
    this.exchange = undefined;
    // onData (the only caller's caller) goes on with the bytes after the body.
  }

  refuseBody(ex: Exchange, err: ParseError, answered: boolean): void {
    if (err.reason === 'body-too-large') {
      this.engine.server.edge.counters.bodyTooLarge++;
      this.engine.server.logger.warn({ client: ex.record.clientAddress, url: ex.record.target, limit: ex.bodyLimit }, `refused ${ex.record.method} ${ex.record.target} from ${ex.record.clientAddress}: the body grew larger than LimitRequestBody ${ex.bodyLimit}; the member never got the rest`);
    } else this.engine.server.logger.info({ client: this.socket.remoteAddress, code: err.reason, status: err.status }, `refused malformed request: ${err.text}`);
    this.exchange = undefined;
    this.done = true;
    this.buf = undefined;
    this.out.clear();
    if (answered || !this.socket.writable) this.socket.destroy();
    else {
      this.socket.end(rawErrorResponse(err.status, err.text));
      this.socket.destroySoon();
    }
    this.report(ex);
  }

  abandon(ex: Exchange): void {
    this.exchange = undefined;
    this.done = true;
    this.buf = undefined;
    this.out.clear();
    this.socket.destroy();
    this.report(ex);
  }

  /**
   * A bug of ours surfaced while serving this connection: log it, answer 500 when nothing of the
   * answer went out yet, and close the connection (its state cannot be trusted any more).
   */
  crashed(e: unknown): void {
    this.engine.server.logger.error({ err: e }, 'internal error while handling a request');
    const ex = this.exchange;
    this.exchange = undefined;
    this.done = true;
    this.buf = undefined;
    this.out.clear();
    if (ex !== undefined) {
      const answered = ex.headSent;
      try {
        ex.record.error = new ProxyError('ERR_INTERNAL', (e as Error)?.message);
        ex.record.status = 500;
        ex.abort();
      } catch {
        // Closing the connection below is all that is left to do.
      }
      if (!answered && this.socket.writable) {
        this.socket.end(rawErrorResponse(500, 'The request could not be handled.'));
        this.socket.destroySoon();
      } else this.socket.destroy();
      this.report(ex);
      return;
    }
    this.socket.destroy();
  }

  localAddress(): string | undefined {
    return this.edge.local;
  }

  localPort(): number | undefined {
    if (this.localPortNo === null) this.localPortNo = this.socket.localPort;
    return this.localPortNo;
  }

  // ---- Reading ----

  private onData = (chunk: Buffer): void => {
    if (this.done) return;
    this.lastActive = this.engine.now;
    try {
      this.read(chunk);
    } catch (e) {
      this.crashed(e);
    }
  };

  /** A read into CLIENT_READ: its bytes are valid until this returns. */
  private onRead = (n: number, shared: Buffer): boolean => {
    if (this.done) return true;
    this.lastActive = this.engine.now;
    try {
      this.read(shared.subarray(0, n));
      // What is kept for later must not stay in the shared buffer.
      if (this.buf !== undefined) this.buf = own(this.buf);
    } catch (e) {
      this.crashed(e);
    }
    return true;
  };

  private read(chunk: Buffer): void {
    let data: Buffer | undefined = chunk;
    const ex = this.exchange;
    if (ex !== undefined && !ex.bodyDone) {
      // A body is kept (for a replay, or until the member takes it).
      const body = own(chunk);
      const used = ex.feedBody(body, 0);
      if (used < 0) return;
      data = used < body.length ? body.subarray(used) : undefined;
    }
    if (data !== undefined) {
      this.buf = this.buf === undefined ? data : Buffer.concat([this.buf, data]);
      if (this.exchange !== undefined && this.buf.length > this.maxHeaderSize()) this.pauseReading();
    }
    if (this.exchange === undefined) this.next();
  }

  /** Goes on with the next request, if its head is here; otherwise waits for it. */
  private next(): void {
    if (this.done || this.waiting) return;
    if (this.buf !== undefined) this.processBuffer();
    if (this.done || this.exchange !== undefined) return;
    if (this.ended) {
      this.finish();
      return;
    }
    this.resumeReading();
  }

  private processBuffer(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.done && !this.waiting && this.exchange === undefined && this.buf !== undefined) {
        if (!this.startRequest(this.buf)) break;
      }
    } finally {
      this.processing = false;
    }
  }

  /** Handles the request at the start of `b`. Returns false when its head is incomplete. */
  private startRequest(b: Buffer): boolean {
    let pos = 0;
    // RFC 9112 §2.2: empty lines before a request line are ignored.
    while (pos + 1 < b.length && b[pos] === 0x0d && b[pos + 1] === 0x0a) pos += 2;
    if (pos === b.length) {
      this.buf = undefined;
      return false;
    }
    const limit = this.maxHeaderSize();
    // A short read (the usual whole request) is searched and parsed as one latin1 string.
    const text = b.length <= SHORT_READ ? b.latin1Slice(0, b.length) : undefined;
    const end = text !== undefined ? text.indexOf('\r\n\r\n', pos) : b.indexOf(HEAD_END, pos);
    if (end < 0) {
      if (b.length - pos > limit) return this.refuse(new ParseError('head-too-large'));
      if (bareLf(b, pos) >= 0) return this.refuse(new ParseError('bare-lf'));
      if (this.headSince === 0) this.headSince = this.engine.now;
      this.buf = pos === 0 ? b : b.subarray(pos);
      return false;
    }
    const headEnd = end + 4;
    if (headEnd - pos > limit) return this.refuse(new ParseError('head-too-large'));
    this.headSince = 0;
    // The head as a string of its own: a slice of a larger string reads slower, char by char.
    const head = parseRequestHead(text !== undefined && pos === 0 && headEnd === text.length ? text : b.latin1Slice(pos, headEnd), b, pos);
    if (head instanceof ParseError) return this.refuse(head);
    if (head.method === 'CONNECT') {
      this.done = true;
      this.buf = undefined;
      this.out.flushNow();
      this.socket.end(rawErrorResponse(405, 'CONNECT is not supported: this server is not a forward proxy.'));
      return false;
    }
    // Only origin-form requests to a ProxyPass rule take the lean path; a WebSocket handshake is
    // tunnelled by node:http. Any other Upgrade is hop-by-hop: dropped, the request goes on.
    if ((head.upgrade && isTunnel(head)) || head.expect || head.target.charCodeAt(0) !== 0x2f) return this.handOff(b, pos);
    let path: string;
    let query: string | undefined;
    try {
      ({ path, query } = normaliseTarget(head.target));
    } catch {
      return this.handOff(b, pos);
    }
    const site = selectSite(this.entry.sites, head.host);
    // A site that moves plain HTTP to HTTPS answers with the redirect through node:http.
    if (!this.secure && site.redirectToHttps !== undefined) return this.handOff(b, pos);
    const m = matchRoute(site, path, this.engine.server.challenges);
    if (m.kind !== 'proxy') return this.handOff(b, pos);
    const server = this.engine.server;
    const balancer = server.runtime.balancers.get(m.balancer);
    if (!balancer) return this.handOff(b, pos);
    // Members over TLS are reached through the node engine.
    for (const mem of balancer.members) if (mem.protocol !== 'http:') return this.handOff(b, pos);
    const tooLong = headLimitReason(head, server);
    if (tooLong !== undefined) {
      server.edge.counters.headLimits++;
      return this.refuse(new ParseError(tooLong));
    }

    // The edge: the real client, the gate and the body limit, on the sites that have them.
    const st = this.edge;
    const refused = leanEdge(server, st, site, head, path, m.balancer, m.upstreamPath);
    if (refused !== undefined) return refused instanceof Promise ? this.await(refused, b, pos) : this.deny(refused, head, site, st.client, b, headEnd);
    const client = st.client;
    const bodyLimit = st.bodyLimit;
    if (bodyLimit > 0 && head.contentLength > bodyLimit) {
      server.edge.counters.bodyTooLarge++;
      server.logger.warn({ client, url: head.target, limit: bodyLimit }, `refused ${head.method} ${head.target} from ${client}: a body of ${head.contentLength} bytes is larger than LimitRequestBody ${bodyLimit}`);
      return this.deny({ ok: false, status: 413, text: 'The request body is larger than this server accepts.', reason: 'LimitRequestBody' }, head, site, client, b, headEnd);
    }

    if (this.secure) head.secure = true;
    const ex = new Exchange(this, head, site, balancer, query === undefined ? m.upstreamPath : `${m.upstreamPath}?${query}`);
    if (this.secure) recordTls(ex.record, this.socket);
    this.exchange = ex;
    this.requests++;
    this.bodySince = 0;
    if (client !== this.peerAddress) ex.record.clientAddress = client;
    ex.record.viaProxy = st.viaProxy;
    if (st.user !== undefined) ex.record.user = st.user;
    ex.bodyLimit = bodyLimit;
    server.requestStarted();
    let rest: Buffer | undefined = headEnd < b.length ? b.subarray(headEnd) : undefined;
    this.buf = undefined;
    if (rest !== undefined && !ex.bodyDone) {
      rest = own(rest);
      const used = ex.feedBody(rest, 0);
      if (used < 0) return false;
      rest = used < rest.length ? rest.subarray(used) : undefined;
    }
    this.buf = rest;
    ex.pick();
    return true;
  }

  /** Waits for the gate's answer on the request at `b[pos..]`, reading nothing more meanwhile. */
  private await(p: Promise<Verdict>, b: Buffer, pos: number): boolean {
    this.waiting = true;
    this.buf = pos === 0 ? b : b.subarray(pos);
    this.pauseReading();
    p.then(
      (v) => {
        this.waiting = false;
        if (this.done) return;
        this.edge.verdict = v;
        try {
          this.next();
        } catch (e) {
          this.crashed(e);
        }
      },
      (e) => {
        this.waiting = false;
        this.crashed(e);
      },
    );
    return false;
  }

  /**
   * Answers a request the edge refused (401, 403, 413, 429) without forwarding anything. A
   * request without a body leaves the connection open for the next one; one with a body closes
   * it after the answer, its body unread.
   */
  private deny(v: Verdict & { ok: false }, head: RequestHead, site: SiteModel, client: string, b: Buffer, headEnd: number): boolean {
    const server = this.engine.server;
    if (v.status !== 413) server.logger[v.status >= 500 ? 'error' : 'warn']({ client, status: v.status, url: head.target }, `refused ${head.method} ${head.target} from ${client}: ${v.reason}`);
    this.requests++;
    const keep = !head.chunked && head.contentLength <= 0 && head.keepAlive && this.mayKeepAlive();
    const answer = refusalAnswer(v, keep ? this.keepAliveLines() : undefined, this.dateLine());
    this.out.add(answer.text);
    this.out.flush();
    const record = refusalRecord(head, site, { clientAddress: client, peerAddress: this.peerAddress, peerPort: this.peerPort, localAddress: this.localAddress(), localPort: this.localPort() }, v.status, answer);
    record.keepAlive = keep;
    server.requestStarted();
    server.requestFinished(record);
    this.lastActive = this.engine.now;
    if (keep) {
      this.buf = headEnd < b.length ? b.subarray(headEnd) : undefined;
      return true;
    }
    this.done = true;
    this.buf = undefined;
    this.out.flushNow();
    this.socket.end();
    // The client may still be sending the body: let it, for a while, so that it reads the answer.
    setTimeout(() => this.socket.destroy(), 5_000).unref();
    return false;
  }

  /** RequestReadTimeout body=…: the body came too slowly; the member never sees its end. */
  private bodyTimedOut(ex: Exchange): void {
    const server = this.engine.server;
    server.edge.counters.bodyTimeouts++;
    server.logger.info({ client: ex.record.clientAddress, url: ex.record.target, bytes: ex.bodyBytesIn }, `cut a request body that was too slow to arrive (RequestReadTimeout body=…): ${ex.record.method} ${ex.record.target} after ${ex.bodyBytesIn} bytes`);
    const answered = ex.headSent;
    ex.record.error = new ProxyError('ERR_BAD_REQUEST', 'the request body took too long to arrive');
    if (!answered) ex.record.status = 408;
    ex.abort();
    this.exchange = undefined;
    this.done = true;
    this.buf = undefined;
    this.out.clear();
    if (!answered && this.socket.writable) {
      this.socket.end(rawErrorResponse(408, 'The request body took too long to arrive.'));
      this.socket.destroySoon();
    } else this.socket.destroy();
    this.report(ex);
  }

  /** A malformed head: answer it and close; nothing was forwarded. */
  private refuse(err: ParseError): boolean {
    this.engine.server.logger.info({ client: this.socket.remoteAddress, code: err.reason, status: err.status }, `refused malformed request: ${err.text}`);
    this.done = true;
    this.buf = undefined;
    this.out.flushNow();
    this.socket.end(rawErrorResponse(err.status, err.text));
    this.socket.destroySoon();
    return false;
  }

  /** Gives the connection, with the bytes from `pos` on, to the listener's node:http server. */
  private handOff(b: Buffer, pos: number): boolean {
    this.done = true;
    this.buf = undefined;
    // Answers of earlier pipelined requests leave before anything node:http writes.
    this.out.flushNow();
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    s.off('drain', this.onDrain);
    this.engine.conns.delete(this);
    // node:http reads 'data': reads into CLIENT_READ are copied and pushed from now on.
    if (this.lending) pushReads(s);
    s.unshift(own(pos === 0 ? b : b.subarray(pos)));
    this.nodeListener.call(this.entry.server, s);
    s.resume();
    return false;
  }

  private finish(): void {
    this.done = true;
    this.buf = undefined;
    this.out.flushNow();
    if (!this.socket.destroyed) this.socket.end();
  }

  private report(ex: Exchange): void {
    if (ex.reported) return;
    ex.reported = true;
    const r = ex.record;
    r.bodyBytesIn = ex.bodyBytesIn;
    if (!ex.finished || r.aborted) r.keepAlive = false;
    this.engine.server.requestFinished(r);
  }

  private onEnd = (): void => {
    this.ended = true;
    const ex = this.exchange;
    if (ex !== undefined) {
      if (!ex.bodyDone) {
        // The body broke off: never a complete request upstream.
        ex.abort();
        this.abandon(ex);
      }
      return;
    }
    if (!this.done) this.next();
  };

  private onError = (): void => {
    // 'close' follows.
  };

  private onClose = (): void => {
    this.done = true;
    this.engine.conns.delete(this);
    this.buf = undefined;
    const ex = this.exchange;
    this.exchange = undefined;
    if (ex !== undefined) {
      ex.abort();
      this.report(ex);
    }
  };

  private onDrain = (): void => {
    this.exchange?.onClientDrain();
  };
}
