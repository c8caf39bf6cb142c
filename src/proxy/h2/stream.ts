// The HTTP/2 transport of a proxied request: one client stream, sent to an HTTP/1.1 member with
// http.request over the keep-alive pools, both bodies streamed with flow control (a stream that
// is not read stops the member's reads, and the other way round). Every decision (pick,
// failover, marking the member, settling the answer) is the failover core's
// (core/failover.ts); this file only moves bytes and reports how each attempt ended, as
// forward.ts does for node:http.
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { SiteModel } from '../../config/model.js';
import type { AttemptFailure } from '../core/decide.js';
import { Failover, type Step } from '../core/failover.js';
import type { RequestRecord } from '../core/record.js';
import { ProxyError, errorPage } from '../errors.js';
import { allowedTrailers, balancerHeaders, downstreamResponseHeaders, memberHostHeader, upstreamRequestHeaders } from '../headers.js';
import type { Pools } from '../pools.js';
import { RequestBody, type BodySource } from '../request-body.js';
import { rewriteResponseHeaders } from '../reverse-rewrite.js';
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
  clientIp: string;
  /** LimitRequestBody (0: none), counted as the body streams. */
  bodyLimit?: number;
  /** Called once when the body grows past the limit. */
  onBodyOverLimit?: () => void;
}

type AttemptResult = { kind: 'done' } | { kind: 'failed'; failure: AttemptFailure };

const DONE: AttemptResult = { kind: 'done' };

const NO_BODY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

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
export function proxyCompatStream(ctx: Omit<StreamContext, 'request' | 'clientIp'> & { rawHeaders: string[] }): Promise<void> {
  const request = h2Request(ctx.rawHeaders);
  if ('status' in request) {
    ctx.record.status = request.status;
    answerStream(ctx.stream, ctx.record, request.status, 'The request could not be parsed.');
    return Promise.resolve();
  }
  ctx.stream.removeAllListeners('wantTrailers');
  return proxyStream({ ...ctx, request, clientIp: ctx.record.clientAddress ?? '' });
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
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
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

/** Resolves when the stream's request was answered, failed, or the client went away. */
export async function proxyStream(ctx: StreamContext): Promise<void> {
  const { stream, record, balancer, request } = ctx;
  if (ctx.bodyLimit && request.contentLength > ctx.bodyLimit) {
    ctx.onBodyOverLimit?.();
    record.status = 413;
    answerStream(stream, record, 413, 'The request body is larger than this server accepts.');
    return;
  }
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
  const fo = new Failover(balancer, record, { target: request.target, cookie: request.cookie });
  // The body's bytes, counted as they are read (whoever reads them).
  stream.once('close', () => {
    record.bodyBytesIn = body.bytes;
  });
  let step = fo.pick();
  for (;;) {
    if (gone(stream)) {
      record.aborted = true;
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
      body.discard();
      sendStreamError(stream, record, step.error);
      return;
    }
    const result = await attempt(ctx, fo, step, body);
    if (result.kind === 'done') return;
    step = fo.failed(result.failure, body.bytes === 0 || body.replayable);
  }
}

function attempt(ctx: StreamContext, fo: Failover, step: Step & { kind: 'attempt' }, body: RequestBody): Promise<AttemptResult> {
  const { stream, record, site, request } = ctx;
  const { member, fresh } = step;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let ready = false;
    let responded = false;
    let bytesFrom = 0;
    let connectTimer: NodeJS.Timeout | undefined;
    const finish = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      if (connectTimer) clearTimeout(connectTimer);
      stream.off('close', onClientClose);
      if (r.kind === 'done') fo.done(responded ? body.bytes : 0, bytesFrom);
      resolve(r);
    };
    const failed = (failure: AttemptFailure) => finish({ kind: 'failed', failure });

    const headers = upstreamRequestHeaders(request.pairs, {
      clientIp: ctx.clientIp,
      host: request.host,
      upstreamHost: site.preserveHost && request.host ? request.host : memberHostHeader(member),
      serverName: ctx.serverName,
      proto: record.scheme,
      extra: balancerHeaders(ctx.balancer, step.pick),
    });
    // HTTP/2 frames the body itself: without a Content-Length it goes to the member chunked.
    if (request.contentLength < 0) {
      if (!stream.endAfterHeaders) headers.push('Transfer-Encoding', 'chunked');
      else if (!NO_BODY_DEFAULT.has(request.method)) headers.push('Content-Length', '0');
    }

    const lib = member.protocol === 'https:' ? https : http;
    let preq: ClientRequest;
    try {
      preq = lib.request({
        host: member.hostname,
        port: member.port,
        method: request.method,
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
      // The client reset the stream or went away: the member request is of no use any more.
      if (!stream.writableFinished || !responded) {
        record.aborted = true;
        preq.destroy();
      }
      finish(DONE);
    };
    stream.on('close', onClientClose);

    const onReady = () => {
      ready = true;
      if (connectTimer) clearTimeout(connectTimer);
      body.pipeTo(preq);
    };

    preq.on('socket', (sock: Socket) => {
      if ((sock as Socket & { connecting?: boolean }).connecting) {
        connectTimer = setTimeout(() => {
          const e = new Error('connect timeout') as NodeJS.ErrnoException;
          e.code = 'ERR_CONNECT_TIMEOUT';
          preq.destroy(e);
        }, member.model.connectTimeoutMs);
        sock.once(member.protocol === 'https:' ? 'secureConnect' : 'connect', onReady);
      } else {
        onReady();
      }
    });

    preq.setTimeout(member.model.timeoutMs, () => {
      const e = new Error('response timeout') as NodeJS.ErrnoException;
      e.code = 'ERR_UPSTREAM_TIMEOUT';
      preq.destroy(e);
    });

    preq.on('continue', () => {
      if (!stream.headersSent && !gone(stream)) stream.additionalHeaders({ ':status': 100 });
    });
    preq.on('information', (i) => {
      if (stream.headersSent || gone(stream) || i.statusCode === 100 || i.statusCode === 101) return;
      // 102 and 103 pass on (103 with its Link fields), as over HTTP/1.1.
      if (i.statusCode === 102) stream.additionalHeaders({ ':status': 102 });
      else if (i.statusCode === 103) {
        const links: string[] = [];
        for (let k = 0; k < i.rawHeaders.length; k += 2) if (i.rawHeaders[k].toLowerCase() === 'link') links.push(i.rawHeaders[k + 1]);
        if (links.length) stream.additionalHeaders({ ':status': 103, link: links });
      }
    });

    preq.on('response', (pres) => {
      responded = true;
      const status = pres.statusCode ?? 502;
      const cookie = fo.answered(status, pres.rawHeaders);
      const h = downstreamResponseHeaders(pres.rawHeaders);
      rewriteResponseHeaders(site, h, request.host, record.scheme);
      if (cookie) h.push('Set-Cookie', cookie);
      if (record.scheme === 'https' && site.hsts !== undefined && pres.headers['strict-transport-security'] === undefined) h.push('Strict-Transport-Security', site.hsts);
      record.responsePairs = h;
      if (gone(stream)) {
        pres.destroy();
        record.aborted = true;
        finish(DONE);
        return;
      }
      // Trailers can only follow a chunked answer; the stream waits for them then.
      const te = pres.headers['transfer-encoding'];
      const trailers = typeof te === 'string' && /chunked/i.test(te);
      try {
        stream.respond(h2ResponseHeaders(h, status), { waitForTrailers: trailers });
      } catch (e) {
        pres.destroy();
        record.status = undefined;
        failed({ kind: 'bad-answer', detail: (e as Error).message });
        return;
      }
      if (trailers) {
        stream.once('wantTrailers', () => {
          const t = pres.rawTrailers.length ? h2Trailers(allowedTrailers(pres.rawTrailers)) : {};
          try {
            stream.sendTrailers(t);
          } catch {
            stream.close();
          }
        });
      }
      pres.on('data', (chunk: Buffer) => {
        bytesFrom += chunk.length;
        record.bodyBytesOut += chunk.length;
        if (!stream.write(chunk)) {
          pres.pause();
          stream.once('drain', () => pres.resume());
        }
      });
      pres.on('end', () => {
        stream.end();
        if (!body.complete) {
          // The member answered before taking the whole body: stop sending it, drop the rest.
          body.discard();
          preq.destroy();
        }
        finish(DONE);
      });
      pres.on('error', () => {
        record.error = new ProxyError('ERR_UPSTREAM_RESET', `${member.url}: connection lost while streaming the answer`);
        record.aborted = true;
        if (!gone(stream)) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        finish(DONE);
      });
    });

    preq.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      body.detach();
      if (responded) {
        record.aborted = true;
        if (!gone(stream)) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        finish(DONE);
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
      if (!fresh && preq.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE' || err.message === 'socket hang up')) {
        failed({ kind: 'stale' });
        return;
      }
      if (code?.startsWith('HPE_')) failed({ kind: 'bad-answer', detail: code });
      else failed({ kind: 'reset', detail: code ?? err.message });
    });
  });
}
