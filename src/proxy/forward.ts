// The node:http transport of a proxied request: the member request (member-request.ts, shared
// with the HTTP/2 transport) written to a node:http response, both bodies streamed with
// backpressure. Every decision (pick, failover, marking the member, settling the answer) is the
// failover core's (core/failover.ts); this file only moves bytes and reports how each attempt
// ended.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { SiteModel } from '../config/model.js';
import { Failover } from './core/failover.js';
import type { RequestRecord } from './core/record.js';
import { runFailover } from './core/run.js';
import { ProxyError, errorPage, reason } from './errors.js';
import { addBodyFraming, allowedTrailers, memberHeaders } from './headers.js';
import { memberRequest, type ClientAnswer } from './member-request.js';
import { RequestBody } from './request-body.js';
import type { ServerHttp2Stream } from 'node:http2';
import type { proxyCompatStream } from './h2/stream.js';
import { answerRefusal } from '../edge/node-gate.js';
import type { ReadTimeoutModel } from '../config/edge-model.js';
import type { Pools } from './pools.js';
import type { LeanPools } from './h1/pool.js';

export interface ForwardContext {
  req: IncomingMessage;
  res: ServerResponse;
  record: RequestRecord;
  site: SiteModel;
  balancer: BalancerState;
  /** Path (normalised) and query to send upstream, before the member's base path. */
  upstreamTarget: string;
  serverName: string;
  replayBuffer: number;
  pools: Pools;
  /** LimitRequestBody for this request (0 or absent: none); a longer body is cut and answered 413. */
  bodyLimit?: number;
  /** Told when the body was cut for LimitRequestBody (the server counts and logs it). */
  onBodyOverLimit?: () => void;
  /** RequestReadTimeout: a body slower than this is cut and answered 408. */
  readTimeout?: ReadTimeoutModel;
  onBodyTooSlow?: () => void;
  /** For HTTP/2 streams that take this path (h2/stream.ts): the lean engine's member pools, if any. */
  leanPools?: LeanPools;
  /** For HTTP/2 streams: the largest request head, which sizes the largest answer head. */
  maxHeaderSize?: number;
}

/** The HTTP/2 transport's entry (h2/stream.ts): set by the server once a listener speaks HTTP/2. */
let compatStream: typeof proxyCompatStream | undefined;

/** HTTP/2 requests that come this way (node:http2's compatibility objects) go to `fn`. */
export function useHttp2(fn: typeof proxyCompatStream): void {
  compatStream = fn;
}

export async function forward(ctx: ForwardContext): Promise<void> {
  const { req, res, record, balancer, site } = ctx;
  // An HTTP/2 stream on the ordinary path: the HTTP/2 transport answers on the stream itself.
  const stream = (req as unknown as { stream?: ServerHttp2Stream }).stream;
  if (stream !== undefined) {
    return compatStream!({ ...ctx, stream, rawHeaders: req.rawHeaders });
  }
  const body = new RequestBody(req, ctx.replayBuffer, ctx.bodyLimit ?? 0, () => bodyOverLimit(ctx));
  const rt = ctx.readTimeout;
  if (rt) body.setReadTimeout(rt.bodyMs, rt.bodyMaxMs, rt.bodyMinRate, () => bodyTooSlow(ctx));
  const fo = new Failover(balancer, record, { target: req.url ?? '/', cookie: req.headers.cookie });
  const client = responseAnswer(req, res);
  const method = req.method ?? 'GET';
  await runFailover(fo, {
    gone: () => res.destroyed,
    fail: (error) => {
      // Giving up on a request also reads and drops the rest of its body: a body left paused
      // half-way would leave the client's connection hanging for its next request.
      body.discard();
      sendError(res, record, error);
    },
    replayable: () => body.bytes === 0 || body.replayable,
    attempt: (step) => {
      const headers = memberHeaders(req.rawHeaders, { record, site, balancer, pick: step.pick, host: req.headers.host, serverName: ctx.serverName });
      addBodyFraming(headers, method, req.headers['transfer-encoding'] !== undefined, req.headers['content-length'] !== undefined);
      return memberRequest({ fo, step, record, site, method, path: step.member.basePath + ctx.upstreamTarget, headers, body, pools: ctx.pools, host: req.headers.host }, client);
    },
  });
}

/** A node:http response as the client side of member answers. */
function responseAnswer(req: IncomingMessage, res: ServerResponse): ClientAnswer {
  return {
    get gone() {
      return res.destroyed;
    },
    get finished() {
      return res.writableFinished;
    },
    onClose: (fn) => res.on('close', fn),
    offClose: (fn) => res.off('close', fn),
    onBodyError: (fn) => req.once('error', fn),
    continue: () => {
      if (!res.headersSent) res.writeContinue();
    },
    interim: (status, links) => {
      if (res.headersSent) return;
      if (status === 102) res.writeProcessing();
      else res.writeEarlyHints({ link: links });
    },
    head: (status, message, pairs) => {
      res.writeHead(status, message, pairs);
    },
    write: (chunk) => res.write(chunk),
    onceDrain: (fn) => res.once('drain', fn),
    end: (rawTrailers) => {
      if (rawTrailers.length) res.addTrailers(allowedTrailers(rawTrailers));
      res.end();
    },
    cut: () => res.destroy(),
  };
}

/** The body came too slowly: 408 (or a cut connection once the answer began). */
function bodyTooSlow(ctx: ForwardContext): void {
  const { req, res, record } = ctx;
  ctx.onBodyTooSlow?.();
  if (res.headersSent) {
    record.aborted = true;
    res.destroy();
    return;
  }
  record.status = 408;
  answerRefusal(res, { status: 408, text: 'The request body took too long to arrive.', close: true });
  res.once('finish', () => req.socket.destroySoon?.());
}

/** A chunked body grew past LimitRequestBody: 413 (or a cut connection once the answer began). */
function bodyOverLimit(ctx: ForwardContext): void {
  const { req, res, record } = ctx;
  record.aborted = res.headersSent;
  ctx.onBodyOverLimit?.();
  if (res.headersSent) {
    res.destroy();
    return;
  }
  record.status = 413;
  answerRefusal(res, { status: 413, text: 'The request body is larger than this server accepts.', close: true });
  res.once('finish', () => req.socket.destroySoon?.());
}

/** Answers with an error page, or cuts the connection when the answer already began. */
export function sendError(res: ServerResponse, record: RequestRecord, err: ProxyError): void {
  record.error = err;
  if (res.headersSent) {
    record.aborted = true;
    res.destroy();
    return;
  }
  record.status = err.status;
  const body = errorPage(err.status, err.text);
  // HTTP/2 answers have no reason phrase (node:http2 warns about one).
  res.writeHead(err.status, (res as { stream?: unknown }).stream === undefined ? reason(err.status) : undefined, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
