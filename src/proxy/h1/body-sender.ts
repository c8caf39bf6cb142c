// The request body of one lean-engine exchange on its way to the member: taken from the client as
// it arrives (Content-Length or chunked, decoded and checked), written to the current member
// connection when that connection can take it (held back while none is ready or while it has not
// drained), and kept within the replay buffer, so that an attempt that fails before the member
// answers can send it again on the next connection.
//
// An exchange is one object (the hot path allocates nothing more per request), made of three
// layers in three files: this one, the answer reader (answer-reader.ts) on top of it, and the
// coordinator (exchange.ts), which talks to the failover core and owns the attempts. A layer
// asks the one above it through the abstract methods it declares.
import { forbiddenTrailer } from '../headers.js';
import { ChunkedDecoder } from './chunked.js';
import type { ClientSide } from './client-side.js';
import { requestBody, type RequestBodyMode } from './framing.js';
import type { Outbox } from './outbox.js';
import { ParseError } from './parse-error.js';
import type { UpstreamConn } from './pool.js';
import type { RequestHead } from './request-head.js';

export const CRLF = '\r\n';
export const LAST_CHUNK = '0\r\n\r\n';

/** Payload slices of one decode call, used and emptied before the call returns. */
const SCRATCH: Buffer[] = [];

/** Trailer field lines (each ending in CRLF), without the fields no trailer may carry. */
export function trailerBlock(pairs: string[]): string {
  let s = '';
  for (let i = 0; i < pairs.length; i += 2) if (!forbiddenTrailer(pairs[i])) s += `${pairs[i]}: ${pairs[i + 1]}\r\n`;
  return s;
}

export abstract class BodySender {
  /** The whole request body was received (or there is none). */
  bodyDone: boolean;
  /** LimitRequestBody of the request (0: none): a chunked body that grows past it is refused with 413. */
  bodyLimit = 0;
  /**
   * The member connection of the current attempt, set and cleared by the coordinator: the body is
   * written to it and the answer read from it.
   */
  protected up: UpstreamConn | undefined = undefined;

  private readonly reqMode: RequestBodyMode;
  private reqRemaining: number;
  private decoder: ChunkedDecoder | undefined = undefined;
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

  constructor(
    protected readonly client: ClientSide,
    head: RequestHead,
  ) {
    this.reqMode = requestBody(head);
    this.reqRemaining = head.contentLength > 0 ? head.contentLength : 0;
    this.bodyDone = this.reqMode === 'none';
    if (this.reqMode === 'chunked') this.decoder = new ChunkedDecoder(4096, client.maxHeaderSize());
  }

  /** The body was malformed or too large: the member must never see a complete request. */
  protected abstract bodyError(err: ParseError): void;

  /** The rest of a body that nobody wanted any more has been read. */
  protected abstract bodyDiscarded(): void;

  /** Request body payload bytes received from the client. */
  get bodyBytesIn(): number {
    return this.bodyBytes;
  }

  /**
   * Takes body bytes from `buf[start..]`. Returns the index just past the body (the rest is
   * the next request), `buf.length` when more body is to come, or -1 when the body was
   * malformed (the client has been answered and the connection is closing).
   */
  feedBody(buf: Buffer, start: number): number {
    if (this.reqMode === 'length') {
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

  /** The member connection drained: write what was held back, then read the client again. */
  onUpstreamDrain(): void {
    if (!this.waitUpDrain) return;
    this.waitUpDrain = false;
    if (!this.up) return;
    this.sendBody(this.up.out);
  }

  // ---- For the coordinator ----

  /**
   * Adds what is held back of the body (and its end, once received) to `o`, after the head the
   * coordinator put there, and writes it all; then waits for the member connection to drain, or
   * reads more of the client's body.
   */
  protected sendBody(o: Outbox): void {
    this.addPending(o);
    if (o.flush()) this.upBackpressure();
    else if (!this.bodyDone) this.client.resumeReading();
  }

  /** A new attempt begins: what went to the connection that failed goes again, first. */
  protected rewindBody(): void {
    if (this.sent.length) {
      this.pending = this.sent.concat(this.pending);
      this.sent = [];
    }
    this.sentBytes = 0;
    this.bodyWritten = false;
  }

  /** What was sent of the body can all be sent again (it is still in the replay buffer). */
  protected get replayable(): boolean {
    return !this.sentOverflow;
  }

  /** The member answered: nothing will be replayed any more. */
  protected forgetSent(): void {
    if (this.sent.length) this.sent = [];
    this.sentOverflow = true;
  }

  /** The whole body, with its end, went to the current member connection. */
  protected get bodySent(): boolean {
    return this.bodyWritten;
  }

  /** The exchange is over before the body: read the rest of it and drop it. */
  protected dropBody(): void {
    if (!this.bodyDone) {
      this.discard = true;
      this.pending = [];
      this.sent = [];
    }
  }

  // ---- Body bytes ----

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
    if (this.reqMode === 'chunked') {
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
      this.bodyDiscarded();
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
    if (this.reqMode === 'chunked') {
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
}
