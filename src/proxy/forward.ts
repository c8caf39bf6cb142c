// The node:http transport of a proxied request: http.request to the member over a keep-alive
// agent, both bodies streamed with backpressure. Every decision (pick, failover, marking the
// member, settling the answer) is the failover core's (core/failover.ts); this file only moves
// bytes and reports how each attempt ended.
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse, ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { SiteModel } from '../config/model.js';
import type { AttemptFailure } from './core/decide.js';
import { Failover, type Step } from './core/failover.js';
import type { RequestRecord } from './core/record.js';
import { ProxyError, errorPage, reason } from './errors.js';
import { allowedTrailers, balancerHeaders, upstreamRequestHeaders, downstreamResponseHeaders, memberHostHeader } from './headers.js';
import { rewriteResponseHeaders } from './reverse-rewrite.js';
import { RequestBody } from './request-body.js';
import type { ServerHttp2Stream } from 'node:http2';
import { proxyCompatStream } from './h2/stream.js';
import { answerRefusal } from '../edge/node-gate.js';
import type { ReadTimeoutModel } from '../config/edge-model.js';
import type { Pools } from './pools.js';

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
}

/** How an attempt ended: relayed (or abandoned by the client), or failed before an answer head. */
type AttemptResult = { kind: 'done' } | { kind: 'failed'; failure: AttemptFailure };

const DONE: AttemptResult = { kind: 'done' };

const NO_BODY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

export async function forward(ctx: ForwardContext): Promise<void> {
  const { req, res, record, balancer } = ctx;
  // An HTTP/2 stream on the ordinary path: the HTTP/2 transport answers on the stream itself.
  const stream = (req as unknown as { stream?: ServerHttp2Stream }).stream;
  if (stream !== undefined) {
    return proxyCompatStream({ ...ctx, stream, rawHeaders: req.rawHeaders });
  }
  const body = new RequestBody(req, ctx.replayBuffer, ctx.bodyLimit ?? 0, () => bodyOverLimit(ctx));
  const rt = ctx.readTimeout;
  if (rt) body.setReadTimeout(rt.bodyMs, rt.bodyMaxMs, rt.bodyMinRate, () => bodyTooSlow(ctx));
  const fo = new Failover(balancer, record, { target: req.url ?? '/', cookie: req.headers.cookie });
  let step = fo.pick();
  for (;;) {
    if (res.destroyed) {
      fo.done(0, 0);
      return;
    }
    if (step.kind === 'wait') {
      const ms = step.ms;
      await new Promise((r) => setTimeout(r, ms));
      step = fo.pick();
      continue;
    }
    if (step.kind === 'fail') {
      // Giving up on a request also reads and drops the rest of its body: a body left paused
      // half-way would leave the client's connection hanging for its next request.
      body.discard();
      sendError(res, record, step.error);
      return;
    }
    const result = await attempt(ctx, fo, step, body);
    if (result.kind === 'done') return;
    step = fo.failed(result.failure, body.bytes === 0 || body.replayable);
  }
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

function attempt(ctx: ForwardContext, fo: Failover, step: Step & { kind: 'attempt' }, body: RequestBody): Promise<AttemptResult> {
  const { req, res, record, site } = ctx;
  const { member, fresh } = step;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let ready = false;
    let responded = false;
    let bytesFrom = 0;
    let connectTimer: NodeJS.Timeout | undefined;
    // The member connection and its read count when this request got it: a pooled connection
    // that closes after sending part of an answer did not die while idle.
    let sock: Socket | undefined;
    let readAtStart = 0;
    let timedOut = false;
    const finish = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      if (connectTimer) clearTimeout(connectTimer);
      res.off('close', onClientClose);
      if (r.kind === 'done') fo.done(responded ? body.bytes : 0, bytesFrom);
      resolve(r);
    };
    const failed = (failure: AttemptFailure) => finish({ kind: 'failed', failure });

    const raw = req.rawHeaders;
    const headers = upstreamRequestHeaders(raw, {
      clientIp: record.peerAddress ?? '',
      viaProxy: record.viaProxy,
      forwarded: site.forwarded,
      host: req.headers.host,
      upstreamHost: site.preserveHost && req.headers.host ? req.headers.host : memberHostHeader(member),
      serverName: ctx.serverName,
      proto: record.scheme,
      extra: balancerHeaders(ctx.balancer, step.pick),
    });
    const te = req.headers['transfer-encoding'];
    if (te !== undefined) headers.push('Transfer-Encoding', 'chunked');
    else if (req.headers['content-length'] === undefined && !NO_BODY_DEFAULT.has(req.method ?? 'GET')) headers.push('Content-Length', '0');

    const lib = member.protocol === 'https:' ? https : http;
    let preq: ClientRequest;
    try {
      preq = lib.request({
        host: member.hostname,
        port: member.port,
        method: req.method,
        path: member.basePath + ctx.upstreamTarget,
        headers: headers as unknown as http.OutgoingHttpHeaders,
        agent: fresh ? false : ctx.pools.agent(member),
        setHost: false,
      });
    } catch (e) {
      failed({ kind: 'bad-answer', detail: (e as Error).message });
      return;
    }

    const onClientClose = () => {
      // The client went away: stop talking to the member.
      if (!res.writableFinished) {
        record.aborted = true;
        preq.destroy();
      }
      finish(DONE);
    };
    res.on('close', onClientClose);

    /** The member broke off or went quiet mid-answer: the client cannot get a whole response. */
    const answerBroke = () => {
      if (settled) return;
      record.error = new ProxyError('ERR_UPSTREAM_RESET', `${member.url}: ${timedOut ? 'no traffic within the member timeout' : 'connection lost while streaming the answer'}`);
      record.aborted = true;
      res.destroy();
      finish(DONE);
    };

    const onReady = () => {
      ready = true;
      if (connectTimer) clearTimeout(connectTimer);
      body.pipeTo(preq);
    };

    preq.on('socket', (s) => {
      sock = s;
      readAtStart = s.bytesRead;
      if ((s as any).connecting) {
        connectTimer = setTimeout(() => {
          const e = new Error('connect timeout') as NodeJS.ErrnoException;
          e.code = 'ERR_CONNECT_TIMEOUT';
          preq.destroy(e);
        }, member.model.connectTimeoutMs);
        s.once(member.protocol === 'https:' ? 'secureConnect' : 'connect', onReady);
      } else {
        onReady();
      }
    });

    preq.setTimeout(member.model.timeoutMs, () => {
      timedOut = true;
      const e = new Error('response timeout') as NodeJS.ErrnoException;
      e.code = 'ERR_UPSTREAM_TIMEOUT';
      preq.destroy(e);
    });

    preq.on('continue', () => {
      if (!res.headersSent) res.writeContinue();
    });
    preq.on('information', (i) => {
      if (res.headersSent) return;
      if (i.statusCode === 102) res.writeProcessing();
      else if (i.statusCode === 103) {
        const links: string[] = [];
        for (let k = 0; k < i.rawHeaders.length; k += 2) if (i.rawHeaders[k].toLowerCase() === 'link') links.push(i.rawHeaders[k + 1]);
        if (links.length) res.writeEarlyHints({ link: links });
      }
    });

    preq.on('response', (pres) => {
      responded = true;
      const status = pres.statusCode ?? 502;
      const cookie = fo.answered(status, pres.rawHeaders);
      const h = downstreamResponseHeaders(pres.rawHeaders);
      rewriteResponseHeaders(site, h, req.headers.host, record.scheme);
      if (cookie) h.push('Set-Cookie', cookie);
      record.responsePairs = h;
      try {
        res.writeHead(status, pres.statusMessage, h);
      } catch (e) {
        pres.destroy();
        record.status = undefined;
        failed({ kind: 'bad-answer', detail: (e as Error).message });
        return;
      }
      pres.on('data', (chunk: Buffer) => {
        bytesFrom += chunk.length;
        if (!res.write(chunk)) {
          pres.pause();
          res.once('drain', () => pres.resume());
        }
      });
      pres.on('end', () => {
        const t = pres.rawTrailers;
        if (t.length) res.addTrailers(allowedTrailers(t));
        res.end();
        if (!body.complete) {
          // The member answered before taking the whole body: stop sending it, drop the rest, and
          // close the member connection, which still expects the unfinished request body.
          body.discard();
          preq.destroy();
        }
        finish(DONE);
      });
      pres.on('error', answerBroke);
    });

    preq.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      if (body.overLimit || body.tooSlow) {
        // Cut by us for LimitRequestBody: not the member's failure.
        finish(DONE);
        return;
      }
      body.detach();
      if (responded) {
        answerBroke();
        return;
      }
      const code = err.code;
      if (!ready) {
        failed({ kind: 'connect-failed', code: code ?? err.message });
        return;
      }
      if (code === 'ERR_UPSTREAM_TIMEOUT') {
        failed({ kind: 'timed-out' });
        return;
      }
      const nothingRead = sock === undefined || sock.bytesRead === readAtStart;
      if (!fresh && preq.reusedSocket && nothingRead && (code === 'ECONNRESET' || code === 'EPIPE' || err.message === 'socket hang up')) {
        failed({ kind: 'stale' });
        return;
      }
      if (code?.startsWith('HPE_')) failed({ kind: 'bad-answer', detail: code });
      else failed({ kind: 'reset', detail: code ?? err.message });
    });

    // The client's body broke off (bad chunk, reset): never let a partial request through.
    req.once('error', () => preq.destroy());
  });
}
