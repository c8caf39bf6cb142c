// Keep-alive connections to members over plain `net` sockets, one pool per member (keyed by
// member id, so pools survive a reload). A connection has one owner at a time, the exchange
// using it; its socket listeners are bound once, when it is created, and pass events on to
// whoever owns it now, so a request adds no listeners and no closures.
//
// The member timeout (no traffic either way for the member's `timeout`) is kept by the pools'
// sweep, not by a socket timer: a socket timer is moved in Node's timer lists by every read and
// every write. The sweep compares the bytes a connection has read and written with what it saw on
// its last tick: a connection whose owner waits fires its timeout between `timeout` and `timeout`
// plus two ticks after its last byte, never before (a tick is a quarter of the shortest timeout in
// use, between 50 ms and 1 s).
import net from 'node:net';
import { MEMBER_IDLE_MS } from '../pools.js';
import { sweepTickMs } from '../../util/sweep-tick.js';
import type { MemberState } from '../../balancer/member-state.js';
import { Outbox } from './outbox.js';

/** What a connection reports to the exchange that owns it. */
export interface ConnOwner {
  /** Connected (or handed over from the idle list): the request may be written. */
  onUpstreamReady(conn: UpstreamConn): void;
  /** Never connected: `code` is the error code (ERR_CONNECT_TIMEOUT for the connect timeout). */
  onUpstreamConnectFailed(conn: UpstreamConn, code: string): void;
  /** Bytes from the member, in the shared read buffer: valid only during the call. */
  onUpstreamData(buf: Buffer): void;
  /** The connection ended or broke after connecting; `code` is 'end', 'close' or an error code. */
  onUpstreamLost(code: string): void;
  onUpstreamDrain(): void;
  /** No traffic for the member's response timeout. */
  onUpstreamTimeout(): void;
  /** A bug of ours surfaced while handling this connection's events. */
  onInternalError(e: unknown): void;
}

/**
 * Idle pooled connections are closed within MEMBER_IDLE_MS, as the node:http engine's: the pools'
 * clock ticks once a second, so a connection is dropped when it has been idle one tick less.
 */
export const IDLE_MS = MEMBER_IDLE_MS - 1_000;

/** Largest answer head (and answer trailer section) accepted from a member. */
export function maxAnswerHead(maxHeaderSize: number): number {
  return Math.max(16_384, maxHeaderSize);
}

/**
 * Every member connection reads into this one buffer (`onread`), which spares an allocation and
 * the stream machinery per read. Its bytes are valid only while the owner's onUpstreamData runs:
 * the owner copies whatever it keeps or sends on (JavaScript runs one callback at a time).
 */
const READ_BUFFER = Buffer.allocUnsafe(65_536);

export class UpstreamConn {
  readonly socket: net.Socket;
  /** Gathers a request head and a short body into one write. */
  readonly out: Outbox;
  owner: ConnOwner | undefined;
  /** Answered at least one request before the current one. */
  reused = false;
  connected = false;
  /** Closed, broken or being closed: never handed out again. */
  dead = false;
  idleSince = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  private timeoutMs: number;
  /** When the sweep last saw traffic, on the pools' clock. */
  private activeAt = 0;
  /** Bytes read and written as of `activeAt`; -1 after a new owner took the connection. */
  private seenBytes = -1;

  constructor(
    readonly pool: MemberPool,
    owner: ConnOwner,
    connectTimeoutMs: number,
    timeoutMs: number,
  ) {
    this.owner = owner;
    this.timeoutMs = timeoutMs;
    this.socket = net.connect({ host: pool.host, port: pool.port, noDelay: true, onread: { buffer: READ_BUFFER, callback: this.onRead } });
    this.out = new Outbox(this.socket);
    this.socket.on('connect', this.onConnect);
    this.socket.on('end', this.onEnd);
    this.socket.on('error', this.onError);
    this.socket.on('close', this.onClose);
    this.socket.on('drain', this.onDrain);
    this.connectTimer = setTimeout(this.onConnectTimeout, connectTimeoutMs);
    pool.live.add(this);
  }

  /**
   * A new owner (with its member timeout) takes the connection: the next tick counts as traffic,
   * so the timeout runs from then (nothing is read from the socket on the request path).
   */
  useTimeout(ms: number): void {
    this.timeoutMs = ms;
    this.seenBytes = -1;
    this.pool.clock.watch(ms);
  }

  /** The sweep's tick: traffic since the last one, or the member timeout (only while owned). */
  checkTimeout(now: number): void {
    if (!this.connected || this.dead) return;
    const bytes = this.socket.bytesRead + (this.socket.bytesWritten ?? 0);
    if (bytes !== this.seenBytes) {
      this.seenBytes = bytes;
      this.activeAt = now;
    } else if (this.owner !== undefined && this.timeoutMs > 0 && now - this.activeAt >= this.timeoutMs) {
      this.activeAt = now;
      try {
        this.owner.onUpstreamTimeout();
      } catch (e) {
        const o = this.owner;
        this.destroy();
        o?.onInternalError(e);
      }
    }
  }

  destroy(): void {
    this.dead = true;
    this.owner = undefined;
    this.socket.destroy();
  }

  private onConnect = (): void => {
    this.connected = true;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.useTimeout(this.timeoutMs);
    const o = this.owner;
    if (!o) {
      this.pool.release(this, true);
      return;
    }
    try {
      o.onUpstreamReady(this);
    } catch (e) {
      this.destroy();
      o.onInternalError(e);
    }
  };

  private onConnectTimeout = (): void => {
    this.connectTimer = undefined;
    if (this.connected) return;
    const o = this.owner;
    this.destroy();
    o?.onUpstreamConnectFailed(this, 'ERR_CONNECT_TIMEOUT');
  };

  private onRead = (n: number, buf: Uint8Array): boolean => {
    const o = this.owner;
    if (o) {
      try {
        o.onUpstreamData((buf as Buffer).subarray(0, n));
      } catch (e) {
        this.destroy();
        o.onInternalError(e);
      }
    }
    // Bytes on an idle connection answer nothing we asked: the connection is out of step.
    else this.destroy();
    return true;
  };

  private onEnd = (): void => {
    this.lost('end');
  };

  private onError = (err: NodeJS.ErrnoException): void => {
    const code = err.code ?? 'ERR_SOCKET';
    if (!this.connected) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      const o = this.owner;
      this.destroy();
      o?.onUpstreamConnectFailed(this, code);
      return;
    }
    this.lost(code);
  };

  private onClose = (): void => {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (!this.connected && this.owner) {
      const o = this.owner;
      this.destroy();
      this.pool.removed(this);
      o.onUpstreamConnectFailed(this, 'ECONNRESET');
      return;
    }
    this.lost('close');
    this.pool.removed(this);
  };

  private onDrain = (): void => {
    this.owner?.onUpstreamDrain();
  };

  private lost(code: string): void {
    const o = this.owner;
    this.dead = true;
    this.owner = undefined;
    if (!this.socket.destroyed) this.socket.destroy();
    o?.onUpstreamLost(code);
  }
}

/** The connections of one member. */
export class MemberPool {
  readonly host: string;
  readonly port: number;
  /** Connections may be kept for another request (keepalive on, disablereuse off). */
  reuse: boolean;
  max: number;
  private readonly idle: UpstreamConn[] = [];
  /** Connections alive: connecting, in use or idle (fresh replay connections not counted). */
  private total = 0;
  private readonly counted = new WeakSet<UpstreamConn>();
  private readonly waiting: { owner: ConnOwner; connectTimeoutMs: number; timeoutMs: number }[] = [];
  /** Every connection not closed yet (connecting, in use or idle), for the timeout sweep. */
  readonly live = new Set<UpstreamConn>();

  constructor(
    m: MemberState,
    readonly clock: PoolClock,
  ) {
    this.host = m.hostname;
    this.port = m.port;
    this.reuse = m.model.keepalive && !m.model.disablereuse;
    this.max = m.model.max;
  }

  /**
   * A connection for `owner`: an idle one is returned at once (the caller goes on with it);
   * otherwise undefined, and `owner` hears onUpstreamReady or onUpstreamConnectFailed later.
   * `fresh` skips the idle list and the connection limit (the one retry after a dead pooled
   * connection).
   */
  acquire(owner: ConnOwner, m: MemberState, fresh: boolean): UpstreamConn | undefined {
    const timeoutMs = m.model.timeoutMs;
    if (!fresh) {
      const now = this.clock.now;
      for (let c = this.idle.pop(); c; c = this.idle.pop()) {
        if (c.dead || c.socket.destroyed || now - c.idleSince > IDLE_MS) {
          c.destroy();
          continue;
        }
        c.owner = owner;
        c.useTimeout(timeoutMs);
        return c;
      }
      if (this.total >= this.max) {
        this.waiting.push({ owner, connectTimeoutMs: m.model.connectTimeoutMs, timeoutMs });
        return undefined;
      }
      this.total++;
      const c = new UpstreamConn(this, owner, m.model.connectTimeoutMs, timeoutMs);
      this.counted.add(c);
      return undefined;
    }
    new UpstreamConn(this, owner, m.model.connectTimeoutMs, timeoutMs);
    return undefined;
  }

  /** Stops waiting for a connection (the client went away). */
  cancel(owner: ConnOwner): void {
    const i = this.waiting.findIndex((w) => w.owner === owner);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /**
   * The owner is done with `c`. `reusable` says the exchange left it in a clean state (whole
   * request written, whole answer read, member keeps it open).
   */
  release(c: UpstreamConn, reusable: boolean): void {
    c.owner = undefined;
    if (!reusable || !this.reuse || c.dead || c.socket.destroyed || !this.counted.has(c)) {
      c.destroy();
      return;
    }
    c.reused = true;
    const w = this.waiting.shift();
    if (w) {
      c.owner = w.owner;
      c.useTimeout(w.timeoutMs);
      w.owner.onUpstreamReady(c);
      return;
    }
    c.idleSince = this.clock.now;
    this.idle.push(c);
  }

  /** A connection closed: forget it, and start one for a waiting request if there is room. */
  removed(c: UpstreamConn): void {
    this.live.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (!this.counted.has(c)) return;
    this.counted.delete(c);
    this.total--;
    const w = this.total < this.max ? this.waiting.shift() : undefined;
    if (w) {
      this.total++;
      this.counted.add(new UpstreamConn(this, w.owner, w.connectTimeoutMs, w.timeoutMs));
    }
  }

  /** Closes idle connections older than IDLE_MS; times out owned ones without traffic. */
  sweep(now: number): void {
    for (const c of this.live) c.checkTimeout(now);
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i];
      if (now - c.idleSince > IDLE_MS) {
        this.idle.splice(i, 1);
        c.destroy();
      }
    }
  }

  destroy(): void {
    for (const c of this.idle.splice(0)) c.destroy();
    this.waiting.length = 0;
  }
}

/** The pools' coarse clock, set on every tick of their sweep. */
export interface PoolClock {
  now: number;
  /** A connection uses this member timeout: the sweep ticks often enough for it. */
  watch(timeoutMs: number): void;
}

/** Every member's pool, and the sweep that closes idle connections and times out silent ones. */
export class LeanPools implements PoolClock {
  private readonly pools = new Map<string, MemberPool>();
  private timer: NodeJS.Timeout | undefined;
  private tickMs = 0;
  /** A clock set on every tick (at most a second apart), for idle ages and member timeouts. */
  now = Date.now();

  constructor() {
    this.setTick(1_000);
  }

  watch(timeoutMs: number): void {
    if (timeoutMs > 0) {
      const ms = sweepTickMs(timeoutMs);
      if (ms < this.tickMs) this.setTick(ms);
    }
  }

  private setTick(ms: number): void {
    if (this.timer) clearInterval(this.timer);
    this.tickMs = ms;
    this.timer = setInterval(() => {
      const now = (this.now = Date.now());
      for (const p of this.pools.values()) p.sweep(now);
    }, ms);
    this.timer.unref();
  }

  get(m: MemberState): MemberPool {
    let p = this.pools.get(m.id);
    if (!p) {
      p = new MemberPool(m, this);
      this.pools.set(m.id, p);
    } else {
      // Settings a reload may have changed.
      p.reuse = m.model.keepalive && !m.model.disablereuse;
      p.max = m.model.max;
    }
    return p;
  }

  /** Closes the pools of members that no longer exist. */
  retain(ids: Set<string>): void {
    for (const [id, p] of this.pools) {
      if (!ids.has(id)) {
        p.destroy();
        this.pools.delete(id);
      }
    }
  }

  destroy(): void {
    if (this.timer) clearInterval(this.timer);
    for (const p of this.pools.values()) p.destroy();
    this.pools.clear();
  }
}
