// One proxied request on the lean engine: get a member connection, write the head and stream the
// body, parse the answer and stream it back. Picking, failing over, marking the member and
// settling the answer are the failover core's (core/failover.ts): this class reports how each
// attempt ended and does what the core says. The client body is not read further until a member
// connection is ready, so a connect failure fails over with the body intact.
import { STATUS_CODES } from 'node:http';
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { MemberState } from '../../balancer/member-state.js';
import type { SiteModel } from '../../config/model.js';
import type { AttemptFailure } from '../core/decide.js';
import { Failover, type MemberPick, type Step } from '../core/failover.js';
import { plainAddress } from '../node-record.js';
import { RequestRecord } from '../core/record.js';
import { ProxyError, errorPage, reason } from '../errors.js';
import { forbiddenTrailer } from '../headers.js';
import { rewriteResponseHeaders } from '../reverse-rewrite.js';
import { ChunkedDecoder } from './chunked.js';
import type { ClientSide } from './client-side.js';
import { bareLf } from './fields.js';
import { BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE, answerBody, clientFraming, requestBody } from './framing.js';
import { SMALL_BODY } from './latin1.js';
import { downstreamHeaders, downstreamLines } from './lean-headers.js';
import type { Outbox } from './outbox.js';
import { ParseError } from './parse-error.js';
import type { ConnOwner, MemberPool, UpstreamConn } from './pool.js';
import type { RequestHead } from './request-head.js';
import { parseResponseHead, type ResponseHead } from './response-head.js';
import { upstreamHead } from './upstream-head.js';

const CRLF = '\r\n';
/** Reads up to this size are turned into one string before the head is looked for. */
const SHORT_READ = 16_384;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const LAST_CHUNK = '0\r\n\r\n';

/** Payload slices of one decode call, used and emptied before the call returns. */
const SCRATCH: Buffer[] = [];

const RESP_HEAD = 0;
const RESP_BODY = 1;
const RESP_DONE = 2;

/** Header pairs of error pages (Content-Length is added per page). */
const ERROR_PAIRS = ['Content-Type', 'text/html; charset=utf-8', 'Cache-Control', 'no-store'];

function trailerBlock(pairs: string[]): string {
  let s = '';
  for (let i = 0; i < pairs.length; i += 2) if (!forbiddenTrailer(pairs[i])) s += `${pairs[i]}: ${pairs[i + 1]}\r\n`;
  return s;
}

function retryPick(ex: Exchange): void {
  ex.pick();
}

export class Exchange implements ConnOwner {
  readonly record = new RequestRecord('h1-lean');
  /** The answer's head went to the client's outbox. */
  headSent = false;
  /** The whole request body was received (or there is none). */
  bodyDone: boolean;
  /** The answer (or an error page) was sent completely, or the exchange was abandoned. */
  finished = false;
  /** The connection may carry another request after this one. */
  keepAlive: boolean;
  /** 'request-done' was emitted. */
  reported = false;
  /** LimitRequestBody of the request (0: none): a chunked body that grows past it is refused with 413. */
  bodyLimit = 0;

  private readonly fo: Failover;
  private member: MemberState | undefined;
  private outcome: MemberPick | undefined;
  private pool: MemberPool | undefined;
  private up: UpstreamConn | undefined;
  private fresh = false;
  /** The connection in use was taken from the idle list (it may have died while idle). */
  private usedReused = false;
  /** Answer body bytes read from the member (Apache's "From"). */
  private bytesFrom = 0;
  /** The answer's header pairs, when they were built (ProxyPassReverse, error pages). */
  private answerPairs: string[] | undefined;
  /** The member's answer fields, when its lines were copied as they came. */
  private answerFields: ResponseHead['fields'] | undefined;
  /** A route cookie added to copied lines. */
  private addedCookie: string | undefined;
  private headText = '';
  private headFor: MemberState | undefined;
  private timer: NodeJS.Timeout | undefined;

  // Request body.
  private readonly reqMode: number;
  private reqRemaining: number;
  private decoder: ChunkedDecoder | undefined;
  /** Payload received but not yet written to the current member connection. */
  private pending: Buffer[] = [];
  /** Payload written to the current member connection, kept for one replay. */
  private sent: Buffer[] = [];
  private sentBytes = 0;
  private sentOverflow = false;
  /** Payload bytes received from the client. */
  private bodyBytes = 0;
  /** The answer is done; the rest of the body is read and dropped to keep the connection in step. */
  private discard = false;
  /** The whole body (and its end) went to the current member connection. */
  private bodyWritten = false;
  private waitUpDrain = false;

  // Answer.
  private respState = RESP_HEAD;
  private respBuf: Buffer | undefined;
  private respMode = BODY_NONE;
  private clientMode = BODY_NONE;
  private respRemaining = 0;
  private respDecoder: ChunkedDecoder | undefined;
  /** The member may be asked again on this connection once the answer is read. */
  private upReusable = false;
  private waitClientDrain = false;
  /** Some of the answer went to the client's socket (until then a failure can still be a 502). */
  private answerFlushed = false;

  constructor(
    private readonly client: ClientSide,
    readonly head: RequestHead,
    private readonly site: SiteModel,
    private readonly balancer: BalancerState,
    private readonly upstreamTarget: string,
  ) {
    const r = this.record;
    const sock = client.socket;
    r.method = head.method;
    r.target = head.target;
    r.httpVersion = head.minor === 1 ? '1.1' : '1.0';
    r.clientAddress = r.peerAddress = client.peerAddress;
    r.clientPort = client.peerPort;
    r.localAddress = plainAddress(sock.localAddress);
    r.localPort = sock.localPort;
    r.requestPairs = head.fields;
    r.requestContentLength = head.contentLength;
    r.requestChunked = head.chunked;
    r.headBytesIn = head.length;
    r.site = site;
    r.responsePairs = this;
    this.fo = new Failover(balancer, r, { target: head.target, cookie: head.cookie });
    this.keepAlive = head.keepAlive;
    this.reqMode = requestBody(head);
    this.reqRemaining = head.contentLength > 0 ? head.contentLength : 0;
    this.bodyDone = this.reqMode === BODY_NONE;
    if (this.reqMode === BODY_CHUNKED) this.decoder = new ChunkedDecoder(4096, client.maxHeaderSize());
  }

  /** Request body payload bytes received from the client. */
  get bodyBytesIn(): number {
    return this.bodyBytes;
  }

  /** The answer's header pairs as sent (the record asks for them only when an observer does). */
  pairs(): readonly string[] {
    if (this.answerPairs !== undefined) return this.answerPairs;
    if (this.answerFields === undefined) return [];
    const pairs = downstreamHeaders(this.answerFields.pairs()).slice();
    if (this.addedCookie !== undefined) pairs.push('Set-Cookie', this.addedCookie);
    return pairs;
  }

  // ---- Request body from the client ----

  /**
   * Takes body bytes from `buf[start..]`. Returns the index just past the body (the rest is
   * the next request), `buf.length` when more body is to come, or -1 when the body was
   * malformed (the client has been answered and the connection is closing).
   */
  feedBody(buf: Buffer, start: number): number {
    if (this.reqMode === BODY_LENGTH) {
      const n = Math.min(this.reqRemaining, buf.length - start);
      if (n > 0) this.payload(start === 0 && n === buf.length ? buf : buf.subarray(start, start + n));
      this.reqRemaining -= n;
      if (this.reqRemaining === 0) this.bodyEnd();
      return start + n;
    }
    const out = SCRATCH;
    const end = this.decoder!.decode(buf, start, out);
    if (end < 0) {
      out.length = 0;
      this.bodyError(this.decoder!.error!);
      return -1;
    }
    for (let i = 0; i < out.length; i++) this.bodyBytes += out[i].length;
    if (this.bodyLimit > 0 && this.bodyBytes > this.bodyLimit) {
      out.length = 0;
      this.bodyError(new ParseError('body-too-large'));
      return -1;
    }
    if (out.length && !this.discard) {
      if (this.up && !this.waitUpDrain && this.pending.length === 0) {
        const o = this.up.out;
        this.addPayload(o, out);
        if (o.flush()) this.upBackpressure();
      } else for (let i = 0; i < out.length; i++) this.pending.push(out[i]);
    }
    out.length = 0;
    if (this.decoder!.done) this.bodyEnd();
    return end;
  }

  private payload(b: Buffer): void {
    this.bodyBytes += b.length;
    if (this.discard) return;
    if (this.up && !this.waitUpDrain && this.pending.length === 0) {
      const o = this.up.out;
      o.addBytes(b);
      this.keep(b);
      if (o.flush()) this.upBackpressure();
    } else {
      this.pending.push(b);
    }
  }

  /** Adds payload slices to the member's outbox: as they are, or as one chunk. */
  private addPayload(o: Outbox, slices: Buffer[]): void {
    if (this.reqMode === BODY_CHUNKED) {
      let n = 0;
      for (let i = 0; i < slices.length; i++) n += slices[i].length;
      if (n === 0) return;
      o.add(`${n.toString(16)}\r\n`);
      for (let i = 0; i < slices.length; i++) {
        o.addBytes(slices[i]);
        this.keep(slices[i]);
      }
      o.add(CRLF);
      return;
    }
    for (let i = 0; i < slices.length; i++) {
      o.addBytes(slices[i]);
      this.keep(slices[i]);
    }
  }

  /** Keeps a slice sent to the member for one replay, within the replay buffer. */
  private keep(b: Buffer): void {
    if (this.sentOverflow) return;
    this.sentBytes += b.length;
    if (this.sentBytes > this.client.replayBuffer()) {
      this.sentOverflow = true;
      this.sent = [];
    } else {
      this.sent.push(b);
    }
  }

  private upBackpressure(): void {
    this.waitUpDrain = true;
    this.client.pauseReading();
  }

  private bodyEnd(): void {
    this.bodyDone = true;
    if (this.discard) {
      if (this.finished) this.client.bodyFinished(this);
      return;
    }
    if (this.up && this.pending.length === 0 && !this.waitUpDrain) {
      const o = this.up.out;
      this.addBodyEnd(o);
      if (o.flush()) this.upBackpressure();
    }
  }

  /** Adds the end of the body (the last chunk and trailers when chunked). */
  private addBodyEnd(o: Outbox): void {
    if (this.bodyWritten) return;
    if (this.reqMode === BODY_CHUNKED) {
      const t = this.decoder!.trailers;
      o.add(t.length ? `0\r\n${trailerBlock(t)}\r\n` : LAST_CHUNK);
    }
    this.bodyWritten = true;
  }

  /** Adds what was held back while the member connection was not ready or not draining. */
  private addPending(o: Outbox): void {
    const p = this.pending;
    if (p.length) {
      this.pending = [];
      this.addPayload(o, p);
    }
    if (this.bodyDone) this.addBodyEnd(o);
  }

  /** A malformed body: the member must never see a complete request. */
  private bodyError(err: ParseError): void {
    this.record.error = new ProxyError('ERR_BAD_REQUEST', err.text);
    this.record.status = err.status;
    if (this.up) {
      this.up.destroy();
      this.up = undefined;
    }
    this.cancelWait();
    this.endAttempt();
    this.keepAlive = false;
    const answered = this.headSent;
    this.finished = true;
    this.respState = RESP_DONE;
    this.client.refuseBody(this, err, answered);
  }

  // ---- Choosing a member and connecting ----

  pick(): void {
    this.timer = undefined;
    if (this.finished) return;
    this.run(this.fo.pick());
  }

  /** Does what the failover core decided. */
  private run(step: Step): void {
    if (step.kind === 'attempt') {
      this.outcome = step.pick;
      this.member = step.member;
      this.attempt(step.fresh);
    } else if (step.kind === 'wait') this.timer = setTimeout(retryPick, step.ms, this);
    else this.fail(step.error);
  }

  /** The attempt ended without an answer head: the core decides what comes next. */
  private failed(failure: AttemptFailure): void {
    this.dropUpstream();
    this.run(this.fo.failed(failure, !this.sentOverflow));
  }

  private attempt(fresh: boolean): void {
    const m = this.member!;
    // What went to a connection that failed goes again, first.
    if (this.sent.length) {
      this.pending = this.sent.concat(this.pending);
      this.sent = [];
    }
    this.sentBytes = 0;
    this.fresh = fresh;
    this.bodyWritten = false;
    this.respState = RESP_HEAD;
    this.respBuf = undefined;
    this.pool = this.client.pools.get(m);
    const c = this.pool.acquire(this, m, fresh);
    if (c) this.onUpstreamReady(c);
    else if (!this.bodyDone) this.client.pauseReading();
  }

  /** The exchange with the member is over: its traffic is counted and the attempt ends. */
  private endAttempt(): void {
    if (!this.fo.attempting) return;
    this.fo.done(this.respState === RESP_HEAD ? 0 : this.bodyBytes, this.bytesFrom);
    this.bytesFrom = 0;
  }

  private cancelWait(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.up && this.fo.attempting) this.pool?.cancel(this);
  }

  onUpstreamReady(c: UpstreamConn): void {
    if (this.finished) {
      // The client went away while we connected: keep the connection for someone else.
      c.pool.release(c, true);
      return;
    }
    this.up = c;
    this.usedReused = c.reused;
    const m = this.member!;
    if (this.headFor !== m) {
      this.headText = upstreamHead({
        head: this.head,
        balancer: this.balancer,
        out: this.outcome!,
        upstreamTarget: this.upstreamTarget,
        clientIp: this.client.peerAddress,
        viaProxy: this.record.viaProxy,
        forwarded: this.site.forwarded,
        serverName: this.client.serverName(this.site),
        preserveHost: this.site.preserveHost,
        keepAlive: c.pool.reuse,
      });
      this.headFor = m;
    }
    const o = c.out;
    o.add(this.headText);
    this.addPending(o);
    if (o.flush()) this.upBackpressure();
    else if (!this.bodyDone) this.client.resumeReading();
  }

  onUpstreamConnectFailed(_c: UpstreamConn, code: string): void {
    if (this.finished) return;
    this.up = undefined;
    this.failed({ kind: 'connect-failed', code });
  }

  onUpstreamDrain(): void {
    if (!this.waitUpDrain) return;
    this.waitUpDrain = false;
    if (!this.up) return;
    const o = this.up.out;
    this.addPending(o);
    if (o.flush()) this.upBackpressure();
    else if (!this.bodyDone) this.client.resumeReading();
  }

  onUpstreamTimeout(): void {
    if (this.finished) return;
    if (this.respState === RESP_HEAD) {
      this.failed({ kind: 'timed-out' });
      return;
    }
    this.brokenAnswer('no traffic within the member timeout');
  }

  onUpstreamLost(code: string): void {
    if (this.finished) return;
    this.up = undefined;
    if (this.respState === RESP_HEAD) {
      // A pooled connection that closed before any byte of an answer: the member dropped it while
      // it was idle (its keep-alive timeout), not because of this request.
      const stale = !this.fresh && this.usedReused && this.respBuf === undefined && (code === 'end' || code === 'close' || code === 'ECONNRESET' || code === 'EPIPE');
      this.failed(stale ? { kind: 'stale' } : { kind: 'reset', detail: code === 'end' || code === 'close' ? 'socket hang up' : code });
      return;
    }
    if (this.respMode === BODY_CLOSE && code === 'end') {
      this.answerEnd();
      return;
    }
    this.brokenAnswer('connection lost while streaming the answer');
  }

  // ---- The answer ----

  onUpstreamData(buf: Buffer): void {
    if (this.respState === RESP_BODY) {
      this.answerBody(buf, 0);
      return;
    }
    if (this.respState !== RESP_HEAD) {
      // Bytes after a complete answer: the member is out of step.
      this.upReusable = false;
      return;
    }
    let b = buf;
    let from = 0;
    if (this.respBuf) {
      from = Math.max(0, this.respBuf.length - 3);
      b = Buffer.concat([this.respBuf, buf]);
      this.respBuf = undefined;
    }
    let offset = 0;
    // A short read (the usual whole answer) is searched and parsed as one latin1 string, which
    // also serves as the copy of a short body.
    const text = b.length <= SHORT_READ ? b.latin1Slice(0, b.length) : undefined;
    for (;;) {
      const end = text !== undefined ? text.indexOf('\r\n\r\n', Math.max(offset, from)) : b.indexOf(HEAD_END, Math.max(offset, from));
      if (end < 0) {
        if (b.length - offset > this.client.maxAnswerHead()) {
          this.badAnswer('the answer head is too large');
          return;
        }
        if (bareLf(b, offset) >= 0) {
          this.badAnswer('bare-lf');
          return;
        }
        // A copy: `buf` is the member connection's shared read buffer.
        this.respBuf = Buffer.from(offset === 0 ? b : b.subarray(offset));
        return;
      }
      // The head as a string of its own: a slice of a larger string reads slower, char by char.
      const r = parseResponseHead(text !== undefined && offset === 0 && end + 4 === text.length ? text : b.latin1Slice(offset, end + 4), b, offset);
      if (r instanceof ParseError) {
        this.badAnswer(r.reason);
        return;
      }
      offset = end + 4;
      if (r.status >= 200) {
        this.answerHead(r, b, offset, text);
        return;
      }
      if (r.status === 101) {
        this.badAnswer('101 Switching Protocols to a request that asked for no upgrade');
        return;
      }
      this.interim(r);
      if (offset === b.length) return;
    }
  }

  /** 102 and 103 go to HTTP/1.1 clients (103 with its Link headers only); other 1xx are dropped. */
  private interim(r: ResponseHead): void {
    if (this.head.minor !== 1 || this.headSent) return;
    if (r.status === 102) this.client.out.add('HTTP/1.1 102 Processing\r\n\r\n');
    else if (r.status === 103) {
      let s = '';
      for (let i = 0; i < r.raw.length; i += 2) if (r.raw[i].toLowerCase() === 'link') s += `Link: ${r.raw[i + 1]}\r\n`;
      if (s) this.client.out.add(`HTTP/1.1 103 Early Hints\r\n${s}\r\n`);
    }
    this.client.out.flush();
  }

  private answerHead(r: ResponseHead, buf: Buffer, offset: number, text: string | undefined): void {
    const status = r.status;
    this.respState = RESP_BODY;
    // Nothing will be replayed once the member answered.
    this.sent = [];
    this.sentOverflow = true;
    const routeCookie = this.fo.answered(status, r.fields);
    const site = this.site;
    let lines: string;
    if (site.reverse.length || site.cookiePath.length || site.cookieDomain.length) {
      // ProxyPassReverse rules may rewrite values: work on name/value pairs.
      const h = downstreamHeaders(r.raw.slice());
      rewriteResponseHeaders(site, h, this.head.host);
      if (routeCookie) h.push('Set-Cookie', routeCookie);
      lines = '';
      for (let i = 0; i < h.length; i += 2) lines += `${h[i]}: ${h[i + 1]}\r\n`;
      this.answerPairs = h;
    } else {
      // The member's lines go on as they came.
      lines = downstreamLines(r.fields);
      if (routeCookie) {
        lines += `Set-Cookie: ${routeCookie}\r\n`;
        this.addedCookie = routeCookie;
      }
      this.answerFields = r.fields;
    }

    this.respMode = answerBody(this.head.method === 'HEAD', status, r);
    this.upReusable = r.keepAlive && this.respMode !== BODY_CLOSE;
    this.respRemaining = r.contentLength;
    if (this.respMode === BODY_CHUNKED) this.respDecoder = new ChunkedDecoder(4096, this.client.maxAnswerHead());
    const cf = clientFraming(this.respMode, r.contentLength, this.head.minor, this.keepAlive && this.client.mayKeepAlive(), this.client.keepAliveLines());
    this.clientMode = cf.mode;
    this.keepAlive = cf.keepAlive;

    let s = `HTTP/1.1 ${status} ${r.reason || STATUS_CODES[status] || ''}\r\n${lines}`;
    if (!r.hasDate) s += this.client.dateLine();
    s += cf.lines;
    s += CRLF;
    this.headSent = true;
    this.record.headBytesOut = s.length;

    this.client.out.add(s);
    if (this.respMode === BODY_NONE) {
      if (offset < buf.length) this.upReusable = false;
      this.answerEnd();
    } else if (offset < buf.length) this.answerBody(buf, offset, text);
    else this.clientFlush();
  }

  /** Writes what was gathered for the client; waits for 'drain' before reading more answer. */
  private clientFlush(): void {
    this.answerFlushed = true;
    if (this.client.out.flush() && this.up) {
      this.waitClientDrain = true;
      this.up.socket.pause();
    }
  }

  /** Body bytes from `buf[start..]`; `text` is the whole of `buf` as latin1 when it was made. */
  private answerBody(buf: Buffer, start: number, text?: string): void {
    const mode = this.respMode;
    const o = this.client.out;
    if (mode === BODY_LENGTH) {
      const n = Math.min(this.respRemaining, buf.length - start);
      const piece = start === 0 && n === buf.length ? buf : buf.subarray(start, start + n);
      this.respRemaining -= n;
      this.bytesFrom += n;
      this.record.bodyBytesOut += n;
      if (text !== undefined && n <= SMALL_BODY) o.add(text.slice(start, start + n));
      else o.addBytes(piece, true);
      if (this.respRemaining === 0) {
        if (start + n < buf.length) this.upReusable = false;
        this.answerEnd();
        return;
      }
    } else if (mode === BODY_CHUNKED) {
      const out = SCRATCH;
      const end = this.respDecoder!.decode(buf, start, out);
      if (end < 0) {
        out.length = 0;
        this.brokenAnswer(`invalid chunked body: ${this.respDecoder!.error!.reason}`);
        return;
      }
      let n = 0;
      for (let i = 0; i < out.length; i++) n += out[i].length;
      if (n > 0) {
        this.bytesFrom += n;
        this.record.bodyBytesOut += n;
        if (this.clientMode === BODY_CHUNKED) o.add(`${n.toString(16)}\r\n`);
        for (let i = 0; i < out.length; i++) o.addBytes(out[i], true);
        if (this.clientMode === BODY_CHUNKED) o.add(CRLF);
      }
      out.length = 0;
      if (this.respDecoder!.done) {
        if (end < buf.length) this.upReusable = false;
        this.answerEnd();
        return;
      }
    } else if (mode === BODY_CLOSE) {
      const piece = start === 0 ? buf : buf.subarray(start);
      this.bytesFrom += piece.length;
      this.record.bodyBytesOut += piece.length;
      if (this.clientMode === BODY_CHUNKED) o.add(`${piece.length.toString(16)}\r\n`);
      o.addBytes(piece, true);
      if (this.clientMode === BODY_CHUNKED) o.add(CRLF);
    }
    this.clientFlush();
  }

  /** The client's socket drained: read from the member again. */
  onClientDrain(): void {
    if (!this.waitClientDrain) return;
    this.waitClientDrain = false;
    this.up?.socket.resume();
  }

  private answerEnd(): void {
    const o = this.client.out;
    if (this.clientMode === BODY_CHUNKED) {
      const t = this.respDecoder?.trailers;
      o.add(t && t.length ? `0\r\n${trailerBlock(t)}\r\n` : LAST_CHUNK);
    }
    o.flush();
    this.answerFlushed = true;
    this.endAttempt();
    this.respState = RESP_DONE;
    const up = this.up;
    this.up = undefined;
    if (up) {
      if (this.waitClientDrain) {
        this.waitClientDrain = false;
        up.socket.resume();
      }
      up.pool.release(up, this.upReusable && this.bodyWritten);
    }
    this.complete();
  }

  /** The member's answer cannot be used: 502 before the head went out, a cut connection after. */
  private badAnswer(why: string): void {
    this.failed({ kind: 'bad-answer', detail: why });
  }

  /** The answer broke off after its head was sent: the client cannot get a whole response. */
  private brokenAnswer(why: string): void {
    if (!this.answerFlushed) {
      // Nothing of the answer left yet (it broke off within the read that brought its head):
      // the client can still get a clean 502 instead of a cut connection.
      this.client.out.clear();
      this.headSent = false;
      this.record.bodyBytesOut = 0;
      this.answerPairs = undefined;
      this.answerFields = undefined;
      this.addedCookie = undefined;
      this.badAnswer(why);
      return;
    }
    this.record.error = new ProxyError('ERR_UPSTREAM_RESET', `${this.member!.url}: ${why}`);
    this.dropUpstream();
    this.endAttempt();
    this.keepAlive = false;
    this.finished = true;
    this.respState = RESP_DONE;
    this.record.aborted = true;
    this.client.out.clear();
    this.client.abandon(this);
  }

  private dropUpstream(): void {
    const up = this.up;
    this.up = undefined;
    if (up) up.pool.release(up, false);
  }

  /** Answers with an error page (or cuts the connection when the answer already began). */
  fail(err: ProxyError): void {
    this.record.error = err;
    this.dropUpstream();
    this.cancelWait();
    this.endAttempt();
    if (this.headSent) {
      this.brokenAnswer(err.message);
      return;
    }
    const page = Buffer.from(errorPage(err.status, err.text));
    this.keepAlive = this.keepAlive && this.client.mayKeepAlive();
    const h = `HTTP/1.1 ${err.status} ${reason(err.status)}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${page.length}\r\nCache-Control: no-store\r\n${this.client.dateLine()}${this.keepAlive ? this.client.keepAliveLines() : 'Connection: close\r\n'}\r\n`;
    const r = this.record;
    r.status = err.status;
    r.headBytesOut = h.length;
    r.bodyBytesOut = page.length;
    this.answerPairs = [...ERROR_PAIRS, 'Content-Length', String(page.length)];
    this.headSent = true;
    const o = this.client.out;
    o.add(h);
    o.addBytes(page);
    o.flush();
    this.respState = RESP_DONE;
    this.complete();
  }

  private complete(): void {
    this.finished = true;
    this.record.keepAlive = this.keepAlive;
    if (!this.bodyDone) {
      this.discard = true;
      this.pending = [];
      this.sent = [];
    }
    this.client.exchangeFinished(this);
  }

  onInternalError(e: unknown): void {
    this.client.crashed(e);
  }

  /** The client went away: stop talking to the member. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.respState = RESP_DONE;
    this.record.aborted = true;
    this.cancelWait();
    this.dropUpstream();
    this.endAttempt();
  }
}
