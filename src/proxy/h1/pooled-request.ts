// One attempt on a member over the lean engine's connection pools (pool.ts), for a transport that
// writes the answer itself through a ClientAnswer (HTTP/2 streams): the request head written in
// one write, the body (RequestBody, replayable) framed onto the member connection, the answer
// head parsed with the lean engine's strict parser and its body decoded (Content-Length,
// chunked with trailers, or until close). The counterpart of member-request.ts, without
// http.request and its agent; the outcomes and their meaning are the same, so the failover core
// decides alike whichever of the two carried the attempt.
import type { MemberState } from '../../balancer/member-state.js';
import type { AttemptFailure } from '../core/decide.js';
import { DONE, type AttemptResult } from '../core/run.js';
import { ProxyError } from '../errors.js';
import { answerPairs, type AttemptOptions, type ClientAnswer } from '../member-request.js';
import type { BodyTarget } from '../request-body.js';
import { hasHsts } from './answer-reader.js';
import { ChunkedDecoder } from './chunked.js';
import { bareLf } from './fields.js';
import { answerBody, type BodyMode } from './framing.js';
import { ParseError } from './parse-error.js';
import type { ConnOwner, LeanPools, MemberPool, UpstreamConn } from './pool.js';
import { parseResponseHead, type ResponseHead } from './response-head.js';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Payload slices of one decode call, used and emptied before the call returns. */
const SCRATCH: Buffer[] = [];

export interface PooledRequestOptions extends AttemptOptions {
  pools: LeanPools;
  /** The body goes chunked (it has no Content-Length). */
  chunked: boolean;
  /** Largest answer head (and trailer section) accepted from the member. */
  maxAnswerHead: number;
}

/**
 * Sends the request to the step's member over a pooled connection; `ended` is called once when
 * the attempt ended, or `broke` if something of ours threw.
 */
export function pooledRequest(o: PooledRequestOptions, client: ClientAnswer, ended: (r: AttemptResult) => void, broke: (e: unknown) => void): void {
  new PooledAttempt(o, client, ended, broke).start();
}

class PooledAttempt implements ConnOwner, BodyTarget {
  private readonly member: MemberState;
  private pool: MemberPool | undefined;
  private up: UpstreamConn | undefined;
  private settled = false;
  private responded = false;
  /** The connection was taken from the idle list (it may have died while idle). */
  private usedReused = false;
  /** The request's head, body and end went to the member. */
  private bodySent = false;
  private trailers: [string, string][] = [];
  private drainFn: (() => void) | undefined;
  /** The start of an answer head, when a read ended within it. */
  private partial: Buffer | undefined;
  private mode: BodyMode = 'none';
  private remaining = 0;
  private decoder: ChunkedDecoder | undefined;
  private reusable = false;
  private bytesFrom = 0;

  constructor(
    private readonly o: PooledRequestOptions,
    private readonly client: ClientAnswer,
    private readonly resolve: (r: AttemptResult) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.member = o.step.member;
  }

  start(): void {
    this.client.onClose(this.onClientClose);
    this.pool = this.o.pools.get(this.member);
    const c = this.pool.acquire(this, this.member, this.o.step.fresh);
    if (c) this.onUpstreamReady(c);
  }

  // ---- ConnOwner ----

  onUpstreamReady(c: UpstreamConn): void {
    if (this.settled) {
      // The client went away while we connected: keep the connection for someone else.
      c.pool.release(c, true);
      return;
    }
    this.up = c;
    this.usedReused = c.reused;
    const o = this.o;
    let s = `${o.method} ${o.path} HTTP/1.1\r\n`;
    const h = o.headers;
    for (let i = 0; i < h.length; i += 2) s += `${h[i]}: ${h[i + 1]}\r\n`;
    s += c.pool.reuse ? 'Connection: keep-alive\r\n\r\n' : 'Connection: close\r\n\r\n';
    c.out.add(s);
    // The body (what was kept of it first) follows the head, in the same write where it fits.
    o.body.pipeTo(this);
    if (this.up === c) c.out.flush();
  }

  onUpstreamConnectFailed(_c: UpstreamConn, code: string): void {
    this.up = undefined;
    this.failed({ kind: 'connect-failed', code });
  }

  onUpstreamData(buf: Buffer): void {
    if (this.settled) return;
    if (this.responded) this.answerBody(buf, 0);
    else this.answerHead(buf);
  }

  onUpstreamLost(code: string): void {
    this.up = undefined;
    if (this.settled) return;
    if (!this.responded) {
      // A pooled connection that closed before any byte of an answer: the member dropped it while
      // it was idle (its keep-alive timeout), not because of this request.
      const stale = !this.o.step.fresh && this.usedReused && this.partial === undefined && (code === 'end' || code === 'close' || code === 'ECONNRESET' || code === 'EPIPE');
      this.failed(stale ? { kind: 'stale' } : { kind: 'reset', detail: code === 'end' || code === 'close' ? 'socket hang up' : code });
      return;
    }
    if (this.mode === 'close' && code === 'end') {
      this.answerEnd([]);
      return;
    }
    this.answerBroke('connection lost while streaming the answer');
  }

  onUpstreamDrain(): void {
    const fn = this.drainFn;
    this.drainFn = undefined;
    fn?.();
  }

  onUpstreamTimeout(): void {
    if (this.settled) return;
    if (!this.responded) {
      this.dropUpstream(false);
      this.failed({ kind: 'timed-out' });
      return;
    }
    this.answerBroke('no traffic within the member timeout');
  }

  onInternalError(e: unknown): void {
    if (this.settled) return;
    this.settle();
    this.reject(e);
  }

  // ---- BodyTarget: the request body onto the member connection ----

  write(chunk: Buffer): boolean {
    const c = this.up;
    if (c === undefined) return true;
    const out = c.out;
    if (this.o.chunked) {
      out.add(`${chunk.length.toString(16)}\r\n`);
      out.addBytes(chunk);
      out.add('\r\n');
    } else out.addBytes(chunk);
    return !out.flush();
  }

  once(_event: 'drain', fn: () => void): this {
    this.drainFn = fn;
    return this;
  }

  get writableNeedDrain(): boolean {
    return this.up?.socket.writableNeedDrain ?? false;
  }

  addTrailers(pairs: readonly [string, string][]): void {
    this.trailers = pairs as [string, string][];
  }

  end(): void {
    const c = this.up;
    if (c === undefined) return;
    if (this.o.chunked) {
      let s = '0\r\n';
      for (const [n, v] of this.trailers) s += `${n}: ${v}\r\n`;
      c.out.add(`${s}\r\n`);
    }
    this.bodySent = true;
    c.out.flush();
  }

  /** The body was cut by us (LimitRequestBody): not the member's failure; the attempt is over. */
  destroy(): void {
    this.dropUpstream(false);
    this.finish(DONE);
  }

  // ---- The answer ----

  private answerHead(buf: Buffer): void {
    const o = this.o;
    let b = buf;
    let from = 0;
    if (this.partial) {
      from = Math.max(0, this.partial.length - 3);
      b = Buffer.concat([this.partial, buf]);
      this.partial = undefined;
    }
    let offset = 0;
    for (;;) {
      const end = b.indexOf(HEAD_END, Math.max(offset, from));
      if (end < 0) {
        if (b.length - offset > o.maxAnswerHead) return this.badAnswer('the answer head is too large');
        if (bareLf(b, offset) >= 0) return this.badAnswer('bare-lf');
        // A copy: `buf` is the member connection's shared read buffer.
        this.partial = Buffer.from(offset === 0 ? b : b.subarray(offset));
        return;
      }
      const r = parseResponseHead(b.latin1Slice(offset, end + 4), b, offset);
      if (r instanceof ParseError) return this.badAnswer(r.reason);
      offset = end + 4;
      if (r.status >= 200) {
        if (!this.finalHead(r)) return;
        if (this.mode === 'none') {
          // Bytes after an answer without a body: the member is out of step.
          if (offset < b.length) this.reusable = false;
          this.answerEnd([]);
        } else if (offset < b.length) this.answerBody(b, offset);
        return;
      }
      if (r.status === 101) return this.badAnswer('101 Switching Protocols to a request that asked for no upgrade');
      this.interim(r);
      if (offset === b.length) return;
    }
  }

  /** 100 Continue, 102 and 103 (with its Link fields) go to the client; other 1xx are dropped. */
  private interim(r: ResponseHead): void {
    if (r.status === 100) this.client.continue();
    else if (r.status === 102) this.client.interim(102, []);
    else if (r.status === 103) {
      const links: string[] = [];
      for (let i = 0; i < r.raw.length; i += 2) if (r.raw[i].toLowerCase() === 'link') links.push(r.raw[i + 1]);
      if (links.length) this.client.interim(103, links);
    }
  }

  /** Settles the answer head and writes it to the client; false when the attempt ended instead. */
  private finalHead(r: ResponseHead): boolean {
    const o = this.o;
    const { record, site } = o;
    const status = r.status;
    this.responded = true;
    const h = answerPairs(o.fo, site, status, r.raw, o.host, r.fields);
    if (r.contentLength >= 0) h.push('Content-Length', String(r.contentLength));
    if (o.hsts && record.scheme === 'https' && site.hsts !== undefined && !hasHsts(r.raw)) h.push('Strict-Transport-Security', site.hsts);
    record.responsePairs = h;
    this.mode = answerBody(o.method === 'HEAD', status, r);
    this.reusable = r.keepAlive && this.mode !== 'close';
    if (this.client.gone) {
      record.aborted = true;
      this.finish(DONE);
      return false;
    }
    try {
      this.client.head(status, r.reason, h, this.mode === 'chunked');
    } catch (e) {
      record.status = undefined;
      this.badAnswer((e as Error).message);
      return false;
    }
    this.remaining = r.contentLength;
    if (this.mode === 'chunked') this.decoder = new ChunkedDecoder(4096, o.maxAnswerHead);
    return true;
  }

  /** Body bytes from `buf[start..]` (the shared read buffer: what goes on is copied). */
  private answerBody(buf: Buffer, start: number): void {
    const mode = this.mode;
    let piece: Buffer | undefined;
    let ended = false;
    let extra = false;
    if (mode === 'length') {
      const n = Math.min(this.remaining, buf.length - start);
      piece = Buffer.from(buf.subarray(start, start + n));
      this.remaining -= n;
      ended = this.remaining === 0;
      extra = start + n < buf.length;
    } else if (mode === 'chunked') {
      const out = SCRATCH;
      const end = this.decoder!.decode(buf, start, out);
      if (end < 0) {
        out.length = 0;
        this.answerBroke(`invalid chunked body: ${this.decoder!.error!.reason}`);
        return;
      }
      if (out.length === 1) piece = Buffer.from(out[0]);
      else if (out.length > 1) piece = Buffer.concat(out);
      out.length = 0;
      ended = this.decoder!.done;
      extra = end < buf.length;
    } else if (mode === 'close') {
      piece = Buffer.from(start === 0 ? buf : buf.subarray(start));
    } else {
      this.reusable = false;
      return;
    }
    if (piece !== undefined && piece.length > 0) {
      this.bytesFrom += piece.length;
      if (!this.client.write(piece) && !ended) {
        const c = this.up;
        c?.socket.pause();
        this.client.onceDrain(() => c?.socket.resume());
      }
    }
    if (ended) {
      if (extra) this.reusable = false;
      this.answerEnd(this.decoder?.trailers ?? []);
    }
  }

  /** The answer is complete: its end goes to the client and the connection back to its pool. */
  private answerEnd(rawTrailers: string[]): void {
    this.client.end(rawTrailers);
    const body = this.o.body;
    if (!body.complete) {
      // The member answered before taking the whole body: stop sending it, drop the rest, and
      // close the member connection, which still expects the unfinished request body.
      body.discard();
      this.dropUpstream(false);
    } else this.dropUpstream(this.reusable && this.bodySent);
    this.finish(DONE);
  }

  /** The member's answer cannot be used (malformed head): the attempt failed. */
  private badAnswer(why: string): void {
    this.dropUpstream(false);
    this.failed({ kind: 'bad-answer', detail: why });
  }

  /** The member broke off or went quiet mid-answer: the client cannot get a whole response. */
  private answerBroke(why: string): void {
    const record = this.o.record;
    record.error = new ProxyError('ERR_UPSTREAM_RESET', `${this.member.url}: ${why}`);
    record.aborted = true;
    this.dropUpstream(false);
    this.client.cut();
    this.finish(DONE);
  }

  // ---- Ending ----

  private readonly onClientClose = (): void => {
    if (this.settled) return;
    // The client reset the stream or went away: the member request is of no use any more.
    if (!this.responded || !this.client.finished) {
      this.o.record.aborted = true;
      this.dropUpstream(false);
    }
    this.finish(DONE);
  };

  private dropUpstream(reusable: boolean): void {
    const up = this.up;
    this.up = undefined;
    if (up) {
      up.socket.resume();
      up.pool.release(up, reusable);
    } else if (!this.settled) this.pool?.cancel(this);
  }

  private failed(failure: AttemptFailure): void {
    this.o.body.detach();
    this.finish({ kind: 'failed', failure });
  }

  private settle(): void {
    this.settled = true;
    this.client.offClose(this.onClientClose);
    this.drainFn = undefined;
  }

  private finish(r: AttemptResult): void {
    if (this.settled) return;
    this.settle();
    if (this.up) this.dropUpstream(false);
    if (r.kind === 'done') this.o.fo.done(this.responded ? this.o.body.bytes : 0, this.bytesFrom);
    this.resolve(r);
  }
}
