// The HTTP/2 transport of a proxied request: one client stream, sent to an HTTP/1.1 member over
// the lean engine's member pools (h1/pooled-request.ts) with `engine: lean`, else (and for members
// over TLS) through the member request of the node:http transport (member-request.ts), both
// bodies streamed with flow control (a stream that is not read stops the member's reads, and the other
// way round). Every decision (pick, failover, marking the member, settling the answer) is the
// failover core's (core/failover.ts); this file only moves bytes and reports how each attempt
// ended, as forward.ts does for node:http.
import http2 from 'node:http2';
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { SiteModel } from '../../config/model.js';
import { Failover, type Step } from '../core/failover.js';
import type { RequestRecord } from '../core/record.js';
import { driveFailover, type AttemptResult, type FailoverSteps } from '../core/run.js';
import { ProxyError, errorPage } from '../errors.js';
import { addBodyFraming, allowedTrailers, memberHeaders } from '../headers.js';
import { memberRequest, type ClientAnswer } from '../member-request.js';
import type { Pools } from '../pools.js';
import { maxAnswerHead, type LeanPools } from '../h1/pool.js';
import { pooledRequest } from '../h1/pooled-request.js';
import { NO_BODY, RequestBody, type Body, type BodySource } from '../request-body.js';
import { h2Request, h2ResponseHeaders, h2Trailers, type H2Request } from './fields.js';

export interface StreamContext {
  stream: http2.ServerHttp2Stream;
  request: H2Request;
  record: RequestRecord;
  site: SiteModel;
  balancer: BalancerState;
  /** Path (normalised) and query to send upstream, before the member's base path. */
  upstreamTarget: string;
  serverName: string;
  replayBuffer: number;
  pools: Pools;
  /** The lean engine's member pools (`engine: lean`): members over plain HTTP are reached through them. */
  leanPools?: LeanPools;
  /** The largest request head, which sizes the largest answer head. */
  maxHeaderSize?: number;
  /** LimitRequestBody (0: none), counted as the body streams. */
  bodyLimit?: number;
  /** Called once when the body grows past the limit. */
  onBodyOverLimit?: () => void;
  /** Called once the stream closed, after this transport's own work there (the record is complete). */
  onClosed?: () => void;
  /** Called once the request was answered, failed, or the client went away. */
  onOver?: () => void;
  /** Called if something of ours threw (a bug): the stream is the caller's to answer or reset. */
  onBroke?: (e: unknown) => void;
}

/** A client stream as a request body source: its data, and its trailers once they came. */
class StreamBody implements BodySource {
  rawTrailers: string[] = [];
  constructor(private readonly stream: http2.ServerHttp2Stream) {
    stream.once('trailers', (t: http2.IncomingHttpHeaders) => {
      const pairs: string[] = [];
      for (const [k, v] of Object.entries(t)) {
        if (k.charCodeAt(0) === 0x3a || v === undefined) continue;
        for (const x of Array.isArray(v) ? v : [v]) pairs.push(k, String(x));
      }
      this.rawTrailers = pairs;
    });
  }
  on(event: 'data' | 'end', fn: (...a: any[]) => void): this {
    this.stream.on(event, fn);
    return this;
  }
  pause(): this {
    this.stream.pause();
    return this;
  }
  resume(): this {
    this.stream.resume();
    return this;
  }
}

/** True once the stream cannot carry an answer any more (reset, closed, its session gone). */
function gone(stream: http2.ServerHttp2Stream): boolean {
  return stream.destroyed || stream.closed;
}

/**
 * Resets a stream whose answer cannot be completed (RST_STREAM INTERNAL_ERROR). Not close(code):
 * node:http2 first ends the writable side there, and once some of the answer went out that can
 * put END_STREAM on the wire ahead of the reset, so that the client takes a cut answer for a
 * whole one.
 */
export function cutStream(stream: http2.ServerHttp2Stream): void {
  if (!gone(stream)) stream.destroy(new Error('the answer was cut'));
}

/** Answers a stream with a short error page (nothing of the answer was sent yet). */
function answerStream(stream: http2.ServerHttp2Stream, record: RequestRecord, status: number, text: string): void {
  if (gone(stream) || stream.headersSent) return;
  const body = errorPage(status, text);
  stream.respond({ ':status': status, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  record.bodyBytesOut = Buffer.byteLength(body);
  stream.end(body);
}

/**
 * An HTTP/2 request that took the ordinary request path (node:http2's compatibility objects: a
 * gate, forwarding-header rules) goes to its member here, on the stream itself. The compatibility
 * response stays unused: its trailer handling is taken off the stream.
 */
export function proxyCompatStream(ctx: Omit<StreamContext, 'request'> & { rawHeaders: string[] }): Promise<void> {
  const request = h2Request(ctx.rawHeaders);
  if ('status' in request) {
    ctx.record.status = request.status;
    answerStream(ctx.stream, ctx.record, request.status, 'The request could not be parsed.');
    return Promise.resolve();
  }
  ctx.stream.removeAllListeners('wantTrailers');
  return new Promise<void>((resolve, reject) => proxyStream({ ...ctx, request, onOver: resolve, onBroke: reject }));
}

/** Answers a stream with an error page, or resets it when the answer already began. */
export function sendStreamError(stream: http2.ServerHttp2Stream, record: RequestRecord, err: ProxyError, extra: Record<string, string> = {}): void {
  record.error = err;
  if (gone(stream)) {
    record.aborted = true;
    return;
  }
  if (stream.headersSent) {
    record.aborted = true;
    cutStream(stream);
    return;
  }
  record.status = err.status;
  const body = errorPage(err.status, err.text);
  const headers = { ':status': err.status, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra };
  record.responsePairs = Object.entries(headers)
    .filter(([k]) => k[0] !== ':')
    .flatMap(([k, v]) => [k, String(v)]);
  stream.respond(headers);
  record.bodyBytesOut = Buffer.byteLength(body);
  stream.end(body);
}

/**
 * Proxies the stream's request; `ctx.onOver` is called when it was answered, failed, or the client
 * went away, `ctx.onBroke` if something of ours threw instead.
 */
export function proxyStream(ctx: StreamContext): void {
  new StreamExchange(ctx).start();
}

/** One proxied stream: the failover loop's steps (core/run.ts), written to the stream. */
class StreamExchange implements FailoverSteps {
  private readonly body: Body;
  private readonly client: StreamAnswer;
  private fo: Failover | undefined = undefined;

  constructor(private readonly ctx: StreamContext) {
    const stream = ctx.stream;
    // A stream that ended with its headers has no body to read, keep or replay.
    this.body = stream.endAfterHeaders ? NO_BODY : streamBody(ctx);
    this.client = new StreamAnswer(stream, ctx.record);
    stream.on('close', this.onStreamClose);
  }

  start(): void {
    const { stream, record, request, balancer } = this.ctx;
    if (this.ctx.bodyLimit && request.contentLength > this.ctx.bodyLimit) {
      this.ctx.onBodyOverLimit?.();
      record.status = 413;
      answerStream(stream, record, 413, 'The request body is larger than this server accepts.');
      this.over();
      return;
    }
    this.fo = new Failover(balancer, record, { target: request.target, cookie: request.cookie });
    driveFailover(this.fo, this);
  }

  /** The stream's one 'close' listener: the attempt in flight first, then the body's count, then the caller. */
  private readonly onStreamClose = (): void => {
    this.client.closed();
    if (this.body !== NO_BODY) this.ctx.record.bodyBytesIn = this.body.bytes;
    this.ctx.onClosed?.();
  };

  // ---- FailoverSteps ----

  gone(): boolean {
    return gone(this.ctx.stream);
  }

  fail(error: ProxyError): void {
    this.body.discard();
    sendStreamError(this.ctx.stream, this.ctx.record, error);
  }

  replayable(): boolean {
    return this.body.bytes === 0 || this.body.replayable;
  }

  attempt(step: Step & { kind: 'attempt' }, ended: (r: AttemptResult) => void): void {
    const { ctx, body, fo } = this;
    const { record, site, balancer, request } = ctx;
    const headers = memberHeaders(request.pairs, { record, site, balancer, pick: step.pick, host: request.host, serverName: ctx.serverName });
    // HTTP/2 frames the body itself: without a Content-Length it goes to the member chunked.
    const chunked = request.contentLength < 0 && body !== NO_BODY;
    addBodyFraming(headers, request.method, chunked, request.contentLength >= 0);
    const path = step.member.basePath + ctx.upstreamTarget;
    // The lean engine's pools where there are some (members over TLS are reached through node:http).
    if (ctx.leanPools !== undefined && step.member.protocol === 'http:') {
      const maxHead = maxAnswerHead(ctx.maxHeaderSize ?? 0);
      pooledRequest({ fo: fo!, step, record, site, method: request.method, path, headers, chunked, body, pools: ctx.leanPools, host: request.host, maxAnswerHead: maxHead, hsts: true }, this.client, ended, this.broken);
      return;
    }
    memberRequest({ fo: fo!, step, record, site, method: request.method, path, headers, body, pools: ctx.pools, host: request.host, hsts: true }, this.client).then(ended, this.broken);
  }

  over(): void {
    this.ctx.onOver?.();
  }

  broke(e: unknown): void {
    const on = this.ctx.onBroke;
    if (on !== undefined) on(e);
    else throw e;
  }

  private readonly broken = (e: unknown): void => this.broke(e);
}

/** The stream's request body, replayable within the replay buffer and held to LimitRequestBody. */
function streamBody(ctx: StreamContext): RequestBody {
  const { stream, record } = ctx;
  const body = new RequestBody(new StreamBody(stream), ctx.replayBuffer, ctx.bodyLimit ?? 0, () => {
    // A body without Content-Length grew past LimitRequestBody: 413, or a reset once answered.
    ctx.onBodyOverLimit?.();
    if (stream.headersSent) {
      record.aborted = true;
      if (!gone(stream)) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    record.status = 413;
    answerStream(stream, record, 413, 'The request body is larger than this server accepts.');
  });
  return body;
}

/** An HTTP/2 stream as the client side of member answers. */
class StreamAnswer implements ClientAnswer {
  /** The member's trailers, sent when the stream asks for them. */
  private trailers: string[] = [];
  /** The attempt in flight's 'close' handler (one attempt at a time). */
  private closeFn: (() => void) | undefined = undefined;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly record: RequestRecord,
  ) {}

  get gone(): boolean {
    return gone(this.stream);
  }

  get finished(): boolean {
    return this.stream.writableFinished;
  }

  onClose(fn: () => void): void {
    this.closeFn = fn;
  }

  offClose(fn: () => void): void {
    if (this.closeFn === fn) this.closeFn = undefined;
  }

  /** The stream closed (called by its one 'close' listener). */
  closed(): void {
    const fn = this.closeFn;
    this.closeFn = undefined;
    fn?.();
  }

  continue(): void {
    const stream = this.stream;
    if (!stream.headersSent && !gone(stream)) stream.additionalHeaders({ ':status': 100 });
  }

  interim(status: 102 | 103, links: string[]): void {
    const stream = this.stream;
    if (stream.headersSent || gone(stream)) return;
    stream.additionalHeaders(status === 103 ? { ':status': 103, link: links } : { ':status': status });
  }

  head(status: number, _message: string | undefined, pairs: string[], withTrailers: boolean): void {
    // Trailers can only follow a chunked answer; the stream waits for them then.
    this.stream.respond(h2ResponseHeaders(pairs, status), { waitForTrailers: withTrailers });
    if (withTrailers) this.stream.once('wantTrailers', this.sendTrailers);
  }

  write(chunk: Buffer): boolean {
    this.record.bodyBytesOut += chunk.length;
    return this.stream.write(chunk);
  }

  onceDrain(fn: () => void): void {
    this.stream.once('drain', fn);
  }

  end(rawTrailers: string[]): void {
    this.trailers = rawTrailers;
    this.stream.end();
  }

  cut(): void {
    cutStream(this.stream);
  }

  private readonly sendTrailers = (): void => {
    const t = this.trailers.length ? h2Trailers(allowedTrailers(this.trailers)) : {};
    try {
      this.stream.sendTrailers(t);
    } catch {
      this.stream.close();
    }
  };
}
