// A worker's line to the owner for the limits all workers share: its books (limit-book.ts), the
// needs and answers that travel, and the admissions waiting for an answer. An admission that waits
// is tried again after every message of the owner; one the owner does not answer within `waitMs`
// (a hung owner) is decided on this worker's own counts, as a single process would.
import type { Bucket } from '../edge/rate-limit.js';
import { GaugeBook, WindowBook } from './limit-book.js';
import type { LimitStart, LimitToOwner, LimitToWorker } from './protocol.js';

/** How often passed rate windows are forgotten. */
const PRUNE_MS = 10_000;

export interface Waiter {
  /** Tries again; true when the admission is decided. */
  retry(): boolean;
  /** Decides without the owner. */
  fallback(): void;
  deadline: number;
}

export interface LinkOptions {
  send(m: LimitToOwner): void;
  start: LimitStart;
  /** What the worker uses of a gauge key now (connections open). */
  gaugeUsed(key: string): number;
  /** The limit of a gauge key now. */
  gaugeLimit(key: string): number;
  /** The worker's bucket of a window key, moved on to `now`. */
  bucket(key: string, windowMs: number, now: number): Bucket;
  now?: () => number;
  waitMs?: number;
}

export class LimitLink {
  readonly gauges: GaugeBook;
  readonly windows: WindowBook;
  private waiters: Waiter[] = [];
  /** Gauge keys to look at again once no admission waits. */
  private readonly untidy = new Set<string>();
  private timer?: NodeJS.Timeout;
  private readonly pruner: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly waitMs: number;

  constructor(private readonly o: LinkOptions) {
    this.now = o.now ?? Date.now;
    this.waitMs = o.waitMs ?? 2000;
    this.gauges = new GaugeBook(o.start.units);
    this.windows = new WindowBook(o.start.units);
    for (const key of o.start.gauges) this.gauges.claim(key, 0);
    for (const w of o.start.windows) this.windows.claim(w.key, w.until, { w: w.windowMs, window: -1, prev: 0, curr: 0 });
    this.pruner = setInterval(() => this.windows.prune(this.now()), PRUNE_MS);
    this.pruner.unref();
  }

  /** Asks for more of a gauge key (once; a need on its way is not repeated). */
  askGauge(key: string, limit: number, used: number): void {
    if (this.gauges.ask(key, used)) this.o.send({ t: 'need', kind: 'gauge', key, limit, used, want: 1 });
  }

  askWindow(key: string, limit: number, b: Bucket): void {
    const r = this.windows.ask(key, b);
    if (r) this.o.send({ t: 'need', kind: 'window', key, limit, windowMs: b.w, ...r, want: 1 });
  }

  /**
   * Gives back what a key no longer uses, if its book says so. While admissions wait, a key
   * nothing uses keeps its lease (a waiting admission may be about to use it; giving it back and
   * asking again could go on for ever): it is looked at again once none waits.
   */
  closed(key: string, limit: number, used: number): void {
    const keep = this.waiters.length > 0;
    if (keep) this.untidy.add(key);
    const r = this.gauges.closed(key, limit, used, keep);
    if (r) this.o.send({ t: 'return', key, ...r });
  }

  /** Queues an admission until the owner's answer decides it. */
  wait(retry: () => boolean, fallback: () => void): void {
    this.waiters.push({ retry, fallback, deadline: this.now() + this.waitMs });
    if (!this.timer) {
      this.timer = setInterval(() => this.expire(), Math.max(10, Math.min(250, this.waitMs / 4)));
      this.timer.unref();
    }
  }

  get waiting(): number {
    return this.waiters.length;
  }

  receive(m: LimitToWorker): void {
    switch (m.t) {
      case 'grant':
        if (m.kind === 'gauge') this.gauges.granted(m.key, m.n);
        else this.windows.granted(m.key, m.window, m.lease);
        break;
      case 'refused':
        if (m.kind === 'gauge') this.gauges.refused(m.key);
        else this.windows.refused(m.key, m.window, m.until, m.prev, m.curr);
        break;
      case 'claim':
        if (m.kind === 'gauge') {
          const used = this.gauges.claim(m.key, this.o.gaugeUsed(m.key));
          this.o.send({ t: 'claimed', kind: 'gauge', key: m.key, round: m.round, used });
        } else {
          const r = this.windows.claim(m.key, m.until, this.o.bucket(m.key, m.windowMs, this.now()));
          this.o.send({ t: 'claimed', kind: 'window', key: m.key, round: m.round, ...r });
        }
        break;
      case 'full': {
        const n = this.gauges.full(m.key, this.o.gaugeUsed(m.key));
        if (n > 0) this.o.send({ t: 'return', key: m.key, n, implicit: false });
        break;
      }
      case 'room':
        this.gauges.room(m.key);
        break;
      case 'release':
        this.gauges.release(m.key);
        break;
      case 'share':
        this.gauges.units = m.units;
        this.windows.units = m.units;
        break;
    }
    this.retry();
    // A lease that came for admissions decided otherwise meanwhile (connections that closed while
    // the worker asked, the other limit refusing) goes back as a close would give it back.
    const gauge = m.t === 'full' || m.t === 'room' ? m.key : (m.t === 'grant' || m.t === 'refused') && m.kind === 'gauge' ? m.key : undefined;
    if (gauge !== undefined) this.closed(gauge, this.o.gaugeLimit(gauge), this.o.gaugeUsed(gauge));
  }

  /** Tries every waiting admission again, in the order they came. */
  private retry(): void {
    if (!this.waiters.length) return;
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) if (!w.retry()) this.waiters.push(w);
    this.idle();
  }

  private expire(): void {
    const now = this.now();
    const late = this.waiters.filter((w) => now >= w.deadline);
    if (late.length) {
      this.waiters = this.waiters.filter((w) => now < w.deadline);
      for (const w of late) w.fallback();
    }
    this.idle();
  }

  private idle(): void {
    if (this.waiters.length) return;
    if (this.untidy.size) {
      const keys = [...this.untidy];
      this.untidy.clear();
      for (const k of keys) this.closed(k, this.o.gaugeLimit(k), this.o.gaugeUsed(k));
    }
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    clearInterval(this.pruner);
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
