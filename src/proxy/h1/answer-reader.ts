// The member's answer in one lean-engine exchange: its head found and parsed in the member
// connection's reads (interim 1xx answers passed on or dropped), the head written for the client
// (the member's lines as they came, or rewritten for ProxyPassReverse, with the route cookie), and
// the body streamed to the client as it arrives, re-framed where the client needs it (chunked for
// HTTP/1.1, close-delimited for HTTP/1.0), with backpressure both ways.
//
// The middle layer of an exchange (see body-sender.ts): the coordinator (exchange.ts) starts and
// ends attempts, settles the answer with the failover core and decides what a failure means.
import { STATUS_CODES } from 'node:http';
import type { SiteModel } from '../../config/model.js';
import type { RequestRecord } from '../core/record.js';
import { rewriteResponseHeaders } from '../reverse-rewrite.js';
import { BodySender, CRLF, LAST_CHUNK, trailerBlock } from './body-sender.js';
import { ChunkedDecoder } from './chunked.js';
import type { ClientSide } from './client-side.js';
import { bareLf } from './fields.js';
import { answerBody, clientFraming, type BodyMode } from './framing.js';
import { SMALL_BODY } from './latin1.js';
import { downstreamHeaders, downstreamLines } from './lean-headers.js';
import { ParseError } from './parse-error.js';
import type { RequestHead } from './request-head.js';
import { parseResponseHead, type ResponseHead } from './response-head.js';

/** Reads up to this size are turned into one string before the head is looked for. */
const SHORT_READ = 16_384;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Payload slices of one decode call, used and emptied before the call returns. */
const SCRATCH: Buffer[] = [];

/** The member sent its own Strict-Transport-Security (it wins over the site's). */
export function hasHsts(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 25 && raw[i].toLowerCase() === 'strict-transport-security') return true;
  return false;
}

/** Where the answer of the current attempt is: its head awaited, its body streaming, or over. */
export type AnswerState = 'head' | 'body' | 'done';

export abstract class AnswerReader extends BodySender {
  /** The answer's head went to the client's outbox. */
  headSent = false;
  /** The connection may carry another request after this one. */
  keepAlive: boolean;

  /** Set by the coordinator too: an attempt begins at 'head', a refused or finished exchange is 'done'. */
  protected answerState: AnswerState = 'head';
  /** Some of the answer went to the client's socket (until then a failure can still be a 502). */
  protected answerFlushed = false;
  /** Answer body bytes read from the member (Apache's "From"). */
  protected bytesFrom = 0;
  /** The answer's header pairs, when they were built (ProxyPassReverse, error pages). */
  protected answerPairs: string[] | undefined = undefined;
  /** The member's answer fields, when its lines were copied as they came. */
  private answerFields: ResponseHead['fields'] | undefined = undefined;
  /** A route cookie added to copied lines. */
  private addedCookie: string | undefined = undefined;
  /** The site's Strict-Transport-Security added to copied lines (answers over TLS). */
  private addedHsts: string | undefined = undefined;
  /** The start of an answer head, when a read ended within it. */
  private respBuf: Buffer | undefined = undefined;
  private respMode: BodyMode = 'none';
  private clientMode: BodyMode = 'none';
  private respRemaining = 0;
  private respDecoder: ChunkedDecoder | undefined = undefined;
  /** The member may be asked again on this connection once the answer is read. */
  private upReusable = false;
  private waitClientDrain = false;

  protected abstract readonly record: RequestRecord;

  constructor(
    client: ClientSide,
    readonly head: RequestHead,
    protected readonly site: SiteModel,
  ) {
    super(client, head);
    this.keepAlive = head.keepAlive;
  }

  /** The member answered with a final head: settle it (failover core); returns the route cookie to add, if any. */
  protected abstract answered(status: number, fields: ResponseHead['fields']): string | undefined;

  /** The member's answer cannot be used (malformed head): 502 before anything went out. */
  protected abstract badAnswer(why: string): void;

  /** The answer broke off after its head: a 502 while nothing went out, a cut connection after. */
  protected abstract brokenAnswer(why: string): void;

  /** The exchange with the member is over (counted and ended with the failover core). */
  protected abstract endAttempt(): void;

  /** The answer went out completely. */
  protected abstract complete(): void;

  /** The answer's header pairs as sent (the record asks for them only when an observer does). */
  pairs(): readonly string[] {
    if (this.answerPairs !== undefined) return this.answerPairs;
    if (this.answerFields === undefined) return [];
    const pairs = downstreamHeaders(this.answerFields.pairs()).slice();
    if (this.addedCookie !== undefined) pairs.push('Set-Cookie', this.addedCookie);
    if (this.addedHsts !== undefined) pairs.push('Strict-Transport-Security', this.addedHsts);
    return pairs;
  }

  /** Bytes from the member (in its connection's shared read buffer: valid only during the call). */
  onUpstreamData(buf: Buffer): void {
    if (this.answerState === 'body') {
      this.answerBody(buf, 0);
      return;
    }
    if (this.answerState !== 'head') {
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

  /** The client's socket drained: read from the member again. */
  onClientDrain(): void {
    if (!this.waitClientDrain) return;
    this.waitClientDrain = false;
    this.up?.socket.resume();
  }

  // ---- For the coordinator ----

  /** A new attempt begins: its answer is awaited from the start. */
  protected awaitAnswer(): void {
    this.answerState = 'head';
    this.respBuf = undefined;
  }

  /** Part of an answer head was read on the current connection (it did not close unasked). */
  protected get headBegun(): boolean {
    return this.respBuf !== undefined;
  }

  /** The answer is delimited by the member closing the connection. */
  protected get endsWithClose(): boolean {
    return this.respMode === 'close';
  }

  /** Takes back an answer head that never left the outbox (the client gets a 502 instead). */
  protected retractHead(): void {
    this.client.out.clear();
    this.headSent = false;
    this.record.bodyBytesOut = 0;
    this.answerPairs = undefined;
    this.answerFields = undefined;
    this.addedCookie = undefined;
    this.addedHsts = undefined;
  }

  /** The answer is complete: its end goes to the client and the member connection back to its pool. */
  protected answerEnd(): void {
    const o = this.client.out;
    if (this.clientMode === 'chunked') {
      const t = this.respDecoder?.trailers;
      o.add(t && t.length ? `0\r\n${trailerBlock(t)}\r\n` : LAST_CHUNK);
    }
    o.flush();
    this.answerFlushed = true;
    this.endAttempt();
    this.answerState = 'done';
    const up = this.up;
    this.up = undefined;
    if (up) {
      if (this.waitClientDrain) {
        this.waitClientDrain = false;
        up.socket.resume();
      }
      up.pool.release(up, this.upReusable && this.bodySent);
    }
    this.complete();
  }

  // ---- The answer ----

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
    this.answerState = 'body';
    const routeCookie = this.answered(status, r.fields);
    const site = this.site;
    let lines: string;
    if (site.reverse.length || site.cookiePath.length || site.cookieDomain.length) {
      // ProxyPassReverse rules may rewrite values: work on name/value pairs.
      const h = downstreamHeaders(r.raw.slice());
      rewriteResponseHeaders(site, h, this.head.host, this.head.secure ? 'https' : 'http');
      if (routeCookie) h.push('Set-Cookie', routeCookie);
      if (this.head.secure && site.hsts !== undefined && !hasHsts(r.raw)) h.push('Strict-Transport-Security', site.hsts);
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
      if (this.head.secure && site.hsts !== undefined && !hasHsts(r.raw)) {
        lines += `Strict-Transport-Security: ${site.hsts}\r\n`;
        this.addedHsts = site.hsts;
      }
      this.answerFields = r.fields;
    }

    this.respMode = answerBody(this.head.method === 'HEAD', status, r);
    this.upReusable = r.keepAlive && this.respMode !== 'close';
    this.respRemaining = r.contentLength;
    if (this.respMode === 'chunked') this.respDecoder = new ChunkedDecoder(4096, this.client.maxAnswerHead());
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
    if (this.respMode === 'none') {
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
    if (mode === 'length') {
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
    } else if (mode === 'chunked') {
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
        if (this.clientMode === 'chunked') o.add(`${n.toString(16)}\r\n`);
        for (let i = 0; i < out.length; i++) o.addBytes(out[i], true);
        if (this.clientMode === 'chunked') o.add(CRLF);
      }
      out.length = 0;
      if (this.respDecoder!.done) {
        if (end < buf.length) this.upReusable = false;
        this.answerEnd();
        return;
      }
    } else if (mode === 'close') {
      const piece = start === 0 ? buf : buf.subarray(start);
      this.bytesFrom += piece.length;
      this.record.bodyBytesOut += piece.length;
      if (this.clientMode === 'chunked') o.add(`${piece.length.toString(16)}\r\n`);
      o.addBytes(piece, true);
      if (this.clientMode === 'chunked') o.add(CRLF);
    }
    this.clientFlush();
  }
}
