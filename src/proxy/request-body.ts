// The client's request body as a replayable source. Nothing is read before a member connection
// is ready, so a connect failure fails over with the body untouched, whatever its size. Once
// reading began, the first `limit` bytes are kept so that a request sent on a pooled connection
// that turns out dead can be sent once more on a fresh one.
import { allowedTrailers } from './headers.js';

/**
 * Where a body comes from: an IncomingMessage (HTTP/1.1), or an HTTP/2 stream with its trailers
 * (h2/stream.ts).
 */
export interface BodySource {
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  /** Trailer fields as flat name/value pairs, once the body ended. */
  readonly rawTrailers: string[];
}

/**
 * Where a body goes: a member request (node:http's ClientRequest), or a pooled member connection
 * (h1/pooled-request.ts).
 */
export interface BodyTarget {
  /** False when the next bytes should wait for 'drain'. */
  write(chunk: Buffer): boolean;
  once(event: 'drain', fn: () => void): unknown;
  readonly writableNeedDrain: boolean;
  addTrailers(pairs: readonly [string, string][]): void;
  end(): void;
  /** The body was cut by us: the member must never take the request as complete. */
  destroy(): void;
}

/** A request body as the attempts on members use it. */
export interface Body {
  /** Bytes read from the client so far. */
  readonly bytes: number;
  /** What was read can all be sent again. */
  readonly replayable: boolean;
  /** The client's whole body has been read. */
  readonly complete: boolean;
  /** Cut by us: LimitRequestBody, RequestReadTimeout. */
  readonly overLimit: boolean;
  readonly tooSlow: boolean;
  pipeTo(target: BodyTarget): void;
  detach(): void;
  discard(): void;
}

/** The body of a request that has none (an HTTP/2 stream that ended with its headers). */
export const NO_BODY: Body = {
  bytes: 0,
  replayable: true,
  complete: true,
  overLimit: false,
  tooSlow: false,
  pipeTo: (target) => target.end(),
  detach: () => undefined,
  discard: () => undefined,
};

export class RequestBody implements Body {
  private target?: BodyTarget;
  private chunks: Buffer[] = [];
  private size = 0;
  private overflow = false;
  private ended = false;
  private listening = false;
  /** Bytes read from the client so far. */
  bytes = 0;
  /** The body grew past `maxBytes`: what was not yet sent never will be. */
  overLimit = false;
  /** The body came too slowly (RequestReadTimeout body=…): what was not yet sent never will be. */
  tooSlow = false;
  private readTimeout?: { ms: number; maxMs: number; minRate: number; onSlow: () => void };
  private clock?: NodeJS.Timeout;
  private since = 0;
  private base = 0;

  constructor(
    private readonly req: BodySource,
    private readonly limit: number,
    /** LimitRequestBody (0: none), counted as the body streams (chunked bodies too). */
    private readonly maxBytes = 0,
    /** Called once when the body grows past `maxBytes`; the member connection is already cut. */
    private readonly onOverLimit?: () => void,
  ) {}

  /** True until more than `limit` bytes have been read. */
  get replayable(): boolean {
    return !this.overflow;
  }

  /** Streams the body (buffered part first) into `preq`, with backpressure. */
  pipeTo(preq: BodyTarget): void {
    this.target = preq;
    for (const c of this.chunks) preq.write(c);
    if (this.ended) {
      this.finish(preq);
      return;
    }
    if (!this.listening) {
      this.listening = true;
      this.req.on('data', this.onData);
      this.req.on('end', this.onEnd);
      this.startClock();
    }
    this.req.resume();
  }

  /** True once the client's whole body has been read. */
  get complete(): boolean {
    return this.ended;
  }

  /** Stops feeding the current target (it failed); the body stays where it is. */
  detach(): void {
    this.target = undefined;
    if (!this.ended) this.req.pause();
  }

  /**
   * The member answered without reading the whole body: reads the rest from the client and drops
   * it, as Node's server does for bodies nobody reads, so the client connection can carry its
   * next request instead of hanging paused.
   */
  discard(): void {
    this.target = undefined;
    this.overflow = true;
    this.chunks = [];
    if (!this.ended) this.req.resume();
  }

  private onData = (chunk: Buffer) => {
    if (this.overLimit) return;
    this.bytes += chunk.length;
    if (this.maxBytes > 0 && this.bytes > this.maxBytes) {
      // The member never sees the rest, nor the end, of a body over the limit.
      this.overLimit = true;
      const t = this.target;
      this.target = undefined;
      this.chunks = [];
      this.req.pause();
      t?.destroy();
      this.onOverLimit?.();
      return;
    }
    if (!this.overflow) {
      if (this.size + chunk.length <= this.limit) {
        this.chunks.push(chunk);
        this.size += chunk.length;
      } else {
        this.overflow = true;
        this.chunks = [];
      }
    }
    const t = this.target;
    if (!t) return;
    if (!t.write(chunk)) {
      this.req.pause();
      t.once('drain', () => {
        if (this.target === t) this.req.resume();
      });
    }
  };

  /** Cuts a body that arrives slower than `minRate` bytes a second allows (mod_reqtimeout's body stage). */
  setReadTimeout(ms: number, maxMs: number, minRate: number, onSlow: () => void): void {
    if (ms > 0) this.readTimeout = { ms, maxMs, minRate, onSlow };
  }

  private startClock(): void {
    const rt = this.readTimeout;
    if (rt === undefined || this.ended) return;
    this.since = Date.now();
    this.base = this.bytes;
    this.clock = setInterval(() => {
      const now = Date.now();
      const t = this.target;
      // Time spent waiting for the member (no connection yet, or its backpressure) is ours.
      if (t === undefined || t.writableNeedDrain) {
        this.since = now;
        this.base = this.bytes;
        return;
      }
      let d = rt.ms + (rt.minRate > 0 ? Math.floor((this.bytes - this.base) / rt.minRate) * 1000 : 0);
      if (rt.maxMs > 0 && d > rt.maxMs) d = rt.maxMs;
      if (now < this.since + d) return;
      this.tooSlow = true;
      this.stopClock();
      this.target = undefined;
      this.req.pause();
      t.destroy();
      rt.onSlow();
    }, Math.min(1000, Math.max(50, Math.floor(rt.ms / 4))));
    this.clock.unref();
  }

  private stopClock(): void {
    if (this.clock) clearInterval(this.clock);
    this.clock = undefined;
  }

  private onEnd = () => {
    this.stopClock();
    this.ended = true;
    if (this.target) this.finish(this.target);
  };

  private finish(preq: BodyTarget): void {
    const t = this.req.rawTrailers;
    if (t.length) preq.addTrailers(allowedTrailers(t));
    preq.end();
  }
}
