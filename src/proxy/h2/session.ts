// HTTP/2 connections of a listener: sessions set up on sockets the listener hands over (TLS with
// ALPN h2, or plain with the h2c preface), their limits (concurrent streams, header list size,
// session memory), the flood guards node:http2 lacks, and GOAWAY on shutdown and reload with the
// streams in flight allowed to finish. Streams go to the caller's handler.
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from '../../log/logger.js';
import { sweepTickMs } from '../../util/sweep-tick.js';

/** The client preface of HTTP/2 (RFC 9113 §3.4), which h2c with prior knowledge starts with. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface H2Limits {
  /** Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Largest header list of a request (SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113 sizes). */
  maxHeaderListSize: number;
  /** A connection goes away after this long without a frame. */
  idleTimeoutMs: number;
  /**
   * Flood guards, per connection and second: streams the client resets (rapid reset,
   * CVE-2023-44487), SETTINGS and PING frames. Beyond them the connection is closed with
   * ENHANCE_YOUR_CALM.
   */
  maxResetsPerSecond: number;
  maxSettingsPerSecond: number;
  maxPingsPerSecond: number;
}

export const DEFAULT_H2_LIMITS: Omit<H2Limits, 'maxHeaderListSize' | 'idleTimeoutMs'> = {
  maxConcurrentStreams: 100,
  maxResetsPerSecond: 100,
  maxSettingsPerSecond: 50,
  maxPingsPerSecond: 50,
};

/** Counts events in one-second windows. */
class Rate {
  private second = 0;
  private n = 0;
  /** Counts one; true when the second's count went over `max`. */
  hit(now: number, max: number): boolean {
    const s = Math.floor(now / 1000);
    if (s !== this.second) {
      this.second = s;
      this.n = 0;
    }
    return ++this.n > max;
  }
}

/**
 * One HTTP/2 connection: its session, the socket it was set up on (the TLS socket, or the plain
 * one for h2c; not node:http2's proxy of it, whose every method read makes a bound function), and
 * what the dispatcher keeps per connection (read once, not per stream).
 */
export class H2Connection<Facts = unknown> {
  /** Filled by the stream handler on the connection's first stream. */
  facts: Facts | undefined = undefined;
  /** Streams reset by the client before their answer (rapid reset), per second. */
  readonly resets = new Rate();
  /** Streams handed to the handler and not closed yet. */
  private readonly open = new Set<http2.ServerHttp2Stream>();
  /** When a stream last closed, or a PING or SETTINGS came (the front's coarse clock). */
  lastActive: number;

  constructor(
    readonly session: http2.ServerHttp2Session,
    readonly socket: Socket,
    readonly limits: H2Limits,
    private readonly clock: { now: number },
    private readonly calm: (what: string) => void,
  ) {
    this.lastActive = Date.now();
  }

  /** A stream on its way to the handler. */
  opened(stream: http2.ServerHttp2Stream): void {
    this.open.add(stream);
  }

  /** Streams in flight. */
  get busy(): boolean {
    return this.open.size > 0;
  }

  /** Something came from the client that keeps the connection in use (PING, SETTINGS). */
  touch(): void {
    this.lastActive = this.clock.now;
  }

  /**
   * To be called when a stream closed (from the stream's one 'close' listener, which the stream
   * handler adds; a second call does nothing): counts the streams the client reset before their
   * answer was done.
   */
  streamClosed(stream: http2.ServerHttp2Stream): void {
    if (!this.open.delete(stream)) return;
    this.lastActive = this.clock.now;
    if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR && !stream.sentHeaders) {
      const max = this.limits.maxResetsPerSecond;
      if (this.resets.hit(Date.now(), max)) this.calm(`more than ${max} streams reset in a second`);
    }
  }
}

/**
 * Serves one stream. The handler must see that `conn.streamClosed(stream)` is called when the
 * stream closes (the flood guard against rapid reset counts there).
 */
export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[], conn: H2Connection) => void;

export class H2Front {
  /** Never listens: sockets are handed to it with accept(). */
  private readonly server: http2.Http2Server;
  readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly conns = new Set<H2Connection>();
  private closing = false;
  /**
   * A coarse clock (ms), set by the idle sweep. The sweep closes connections without streams in
   * flight for the idle time, in place of a timer per session that node:http2 would refresh on
   * every frame read and written.
   */
  now = Date.now();
  private sweeper: NodeJS.Timeout | undefined;
  private tickMs = 0;
  /** The socket being handed to node:http2, whose session is being set up (see accept). */
  private accepting: Socket | undefined;

  constructor(
    private limits: H2Limits,
    private readonly onStream: StreamHandler,
    private readonly logger: () => Logger,
  ) {
    this.server = http2.createServer({
      settings: this.settings(),
      maxSessionMemory: 10,
      // Server push is never used; clients get it off in SETTINGS.
      peerMaxConcurrentStreams: limits.maxConcurrentStreams,
    });
    this.server.on('session', (s) => this.onSession(s));
  }

  private settings(): http2.Settings {
    return { maxConcurrentStreams: this.limits.maxConcurrentStreams, maxHeaderListSize: this.limits.maxHeaderListSize, enablePush: false };
  }

  /** Takes a connection that speaks HTTP/2 (TLS with ALPN h2, or plain after the h2c preface). */
  accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    // node:http2 sets the session up and says 'session' before emit() returns.
    this.accepting = socket;
    try {
      this.server.emit('connection', socket);
    } finally {
      this.accepting = undefined;
    }
  }

  /** New limits (a reload): for connections made from now on. */
  update(limits: H2Limits): void {
    this.limits = limits;
    this.server.updateSettings(this.settings());
    if (this.sweeper !== undefined) {
      this.stopSweep();
      this.startSweep();
    }
  }

  /** Ticks often enough for the idle time (a quarter of the shortest, 50 ms to 1 s). */
  private startSweep(): void {
    let idle = this.limits.idleTimeoutMs;
    for (const c of this.conns) idle = Math.min(idle, c.limits.idleTimeoutMs);
    const ms = (this.tickMs = sweepTickMs(idle));
    this.now = Date.now();
    this.sweeper = setInterval(() => this.sweep(), ms);
    this.sweeper.unref();
  }

  private stopSweep(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /**
   * Idle: nothing in flight for the idle time (the coarse clock may be a tick behind: never
   * sooner, at most two ticks later). GOAWAY, then node:http2 closes the connection.
   */
  private sweep(): void {
    const now = (this.now = Date.now());
    for (const c of this.conns) {
      if (c.busy) c.lastActive = now;
      else if (now - c.lastActive >= c.limits.idleTimeoutMs + this.tickMs && !c.session.closed && !c.session.destroyed) c.session.close();
    }
  }

  /**
   * Says GOAWAY on every connection: streams in flight finish, new ones go to a new connection. A
   * stream the client sent while the GOAWAY was on its way is refused unprocessed (REFUSED_STREAM,
   * or above the GOAWAY's last stream), which RFC 9113 §8.7 makes safe to retry, as browsers do.
   */
  goaway(): void {
    for (const s of this.sessions) if (!s.closed && !s.destroyed) s.close();
  }

  /** Shutdown: GOAWAY now; destroy() cuts what is left. */
  close(): void {
    this.closing = true;
    this.goaway();
  }

  destroy(): void {
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
    this.conns.clear();
    this.stopSweep();
  }

  private stream(conn: H2Connection, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    // A stream of a session that is already gone (closed for a flood) is not served, nor one
    // destroyed before it got here (counted at once if the client reset it: its 'close' may be gone).
    conn.opened(stream);
    if (conn.session.destroyed || stream.destroyed) {
      conn.streamClosed(stream);
      stream.destroy();
      return;
    }
    try {
      this.onStream(stream, headers, rawHeaders, conn);
    } catch (e) {
      // A bug of ours: this stream is reset, the process and the other streams go on.
      this.logger().error({ err: e }, 'internal error while handling an HTTP/2 stream');
      stream.on('close', () => conn.streamClosed(stream));
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  }

  private onSession(s: http2.ServerHttp2Session): void {
    const socket = this.accepting ?? (s.socket as unknown as Socket);
    const client = socket.remoteAddress;
    const settings = new Rate();
    const pings = new Rate();
    const calm = (what: string) => {
      if (s.destroyed) return;
      this.logger().warn({ client }, `closed an HTTP/2 connection from ${client}: ${what} (a flood)`);
      // A number as the reason: GOAWAY carries it (node:http2's destroy(code)).
      (s.destroy as unknown as (code: number) => void).call(s, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    };
    const limits = this.limits;
    if (this.sweeper === undefined) this.startSweep();
    const conn = new H2Connection(s, socket, limits, this, calm);
    this.sessions.add(s);
    this.conns.add(conn);
    s.once('close', () => {
      this.sessions.delete(s);
      this.conns.delete(conn);
      if (this.conns.size === 0) this.stopSweep();
    });
    s.on('error', () => undefined);
    s.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => this.stream(conn, stream, headers, rawHeaders));
    s.on('remoteSettings', () => {
      conn.touch();
      if (settings.hit(Date.now(), limits.maxSettingsPerSecond)) calm(`more than ${limits.maxSettingsPerSecond} SETTINGS frames in a second`);
    });
    s.on('ping', () => {
      conn.touch();
      if (pings.hit(Date.now(), limits.maxPingsPerSecond)) calm(`more than ${limits.maxPingsPerSecond} PING frames in a second`);
    });
    if (this.closing) s.close();
  }
}

/**
 * Reads a plain connection's first bytes to tell h2c with prior knowledge (the HTTP/2 preface)
 * from HTTP/1.1, then hands the connection to one of them with the bytes put back.
 */
export function sniffPreface(socket: Socket, h2: (s: Socket) => void, h1: (s: Socket) => void, timeoutMs: number): void {
  let buf: Buffer = Buffer.alloc(0);
  // A client that says nothing is cut after the header time, as on any other connection.
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  socket.once('close', () => clearTimeout(timer));
  const onData = (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const n = Math.min(buf.length, H2_PREFACE.length);
    const like = buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (like && buf.length < H2_PREFACE.length) return;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.pause();
    socket.unshift(buf);
    if (like) h2(socket);
    else {
      h1(socket);
      socket.resume();
    }
  };
  const onEnd = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    if (buf.length) socket.unshift(buf);
    h1(socket);
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
}
