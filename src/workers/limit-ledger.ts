// The owner's side of the limits all workers share (docs/workers.md, "Limits across workers"): for
// each key some worker asked about, what every worker may hold, kept so that all of it together
// never exceeds the limit. A worker that holds a key plainly counts as its whole share; a leased
// one as its lease. When a worker needs more than is free, the owner first claims the others'
// unused leases (a round: every worker reports what it uses and keeps only that), then grants or
// refuses. Pure: messages go out through `send`, time comes from `now`, and `tick` runs timeouts.
//
// Gauges (connections) are leased lazily: only the worker that asked holds a lease until the
// others are claimed. Windows (rate limits) are claimed from every worker before the first grant
// of each stretch of windows, so that all of them ask for everything until window `until` has
// passed; in that window nobody has been granted anything, so when they all hold their plain
// shares again the balancer's estimate is what their shares allow.
import { retryAfterMs } from '../edge/rate-limit.js';
import type { LimitStart, LimitToOwner, LimitToWorker } from './protocol.js';
import { gaugeAllowance, SHARE_UNITS, windowAllowance } from './limit-share.js';

export interface LedgerOptions {
  send(worker: number, m: LimitToWorker): void;
  now?: () => number;
  /** A worker that does not answer a claim within this is taken to hold what it held before. */
  roundTimeoutMs?: number;
}

interface Participant {
  id: number;
  units: number;
  alive: boolean;
  /** A worker that died: its share is kept until then, for the rate counts it took with it. */
  reservedUntil: number;
}

interface Round {
  id: number;
  pending: Set<number>;
  deadline: number;
  /** The window the round was started in (windows only). */
  window: number;
}

interface GaugeNeed {
  worker: number;
  want: number;
}

interface GaugeState {
  limit: number;
  /** Leases of workers that lease the key; the others hold their share. */
  leases: Map<number, number>;
  full: boolean;
  round?: Round;
  queue: GaugeNeed[];
}

interface Counts {
  /** Count (granted or reported) by fixed window. */
  byWindow: Map<number, number>;
  /** Claimed but not answered yet: may also hold its whole share. */
  pending: boolean;
}

interface WindowState {
  limit: number;
  windowMs: number;
  /** Every worker asks for everything through this window. */
  until: number;
  counts: Map<number, Counts>;
  round?: Round;
  queue: GaugeNeed[];
  /** The window whose counts are exact (a round ended in it and nothing was granted since). */
  exact: number;
}

/** A grant is at least what was asked for, and a part of what is free (fewer round trips near the limit). */
function chunk(free: number, want: number, workers: number): number {
  return Math.min(free, Math.max(want, Math.ceil(free / (2 * Math.max(1, workers)))));
}

export class LimitLedger {
  private readonly participants = new Map<number, Participant>();
  private readonly gauges = new Map<string, GaugeState>();
  private readonly windows = new Map<string, WindowState>();
  private readonly send: LedgerOptions['send'];
  private readonly now: () => number;
  private readonly roundTimeoutMs: number;
  private rounds = 0;

  constructor(o: LedgerOptions) {
    this.send = o.send;
    this.now = o.now ?? Date.now;
    this.roundTimeoutMs = o.roundTimeoutMs ?? 1000;
  }

  /** Keys being leased now (for tests and the manager). */
  get contested(): { gauges: number; windows: number } {
    return { gauges: this.gauges.size, windows: this.windows.size };
  }

  /** Share units not given to any worker, living or reserved. */
  get freeUnits(): number {
    let used = 0;
    for (const p of this.participants.values()) used += p.units;
    return SHARE_UNITS - used;
  }

  /** Workers gone whose shares are still kept (for tests and the manager). */
  get reserved(): number {
    let n = 0;
    for (const p of this.participants.values()) if (!p.alive && this.now() < p.reservedUntil) n++;
    return n;
  }

  unitsOf(worker: number): number {
    return this.participants.get(worker)?.units ?? 0;
  }

  /**
   * A worker starts: it gets `target` units if they are free (else what is), and leases of 0 for
   * the keys leased now, so it asks for those.
   */
  join(worker: number, target: number): LimitStart {
    const units = Math.max(0, Math.min(target, this.freeUnits));
    this.participants.set(worker, { id: worker, units, alive: true, reservedUntil: 0 });
    for (const s of this.gauges.values()) s.leases.set(worker, 0);
    const windows: LimitStart['windows'] = [];
    for (const [key, s] of this.windows) {
      s.counts.set(worker, { byWindow: new Map(), pending: false });
      windows.push({ key, windowMs: s.windowMs, until: s.until });
    }
    return { units, gauges: [...this.gauges.keys()], windows };
  }

  /**
   * A worker is gone. Its connections closed with it; the rate counts it took are covered by
   * keeping its share for `reserveMs` (two of the longest rate window).
   */
  leave(worker: number, reserveMs: number): void {
    const p = this.participants.get(worker);
    if (!p) return;
    p.alive = false;
    p.reservedUntil = this.now() + reserveMs;
    if (reserveMs <= 0) this.participants.delete(worker);
    for (const [key, s] of this.gauges) {
      s.leases.delete(worker);
      s.queue = s.queue.filter((q) => q.worker !== worker);
      if (s.round?.pending.delete(worker) && s.round.pending.size === 0) this.endGaugeRound(key, s);
      else if (!s.round) this.settleGauge(key, s);
    }
    for (const [key, s] of this.windows) {
      s.queue = s.queue.filter((q) => q.worker !== worker);
      // What it counted on its share alone (it held the key plainly), or had not reported yet
      // (pending): its whole share stands for that while it is kept, besides its known counts.
      const c = s.counts.get(worker);
      if (c && Math.floor(this.now() / s.windowMs) > s.until) c.pending = true;
      if (s.round?.pending.delete(worker) && s.round.pending.size === 0) this.endWindowRound(key, s);
    }
  }

  receive(worker: number, m: LimitToOwner): void {
    const p = this.participants.get(worker);
    if (!p?.alive) return;
    switch (m.t) {
      case 'need':
        if (m.kind === 'gauge') return this.gaugeNeed(worker, m);
        return this.windowNeed(worker, m);
      case 'claimed':
        if (m.kind === 'gauge') return this.gaugeClaimed(worker, m);
        return this.windowClaimed(worker, m);
      case 'return':
        return this.gaugeReturn(worker, m);
    }
  }

  /** Runs late rounds, forgets reserved shares and finished windows, and raises shares towards `target`. */
  tick(target: number): void {
    const now = this.now();
    for (const [key, s] of this.gauges) {
      if (s.round && now >= s.round.deadline) this.endGaugeRound(key, s);
      else this.settleGauge(key, s);
    }
    for (const [key, s] of this.windows) {
      if (s.round && now >= s.round.deadline) this.endWindowRound(key, s);
      else if (!s.round && !s.queue.length && Math.floor(now / s.windowMs) > s.until) this.windows.delete(key);
    }
    for (const p of [...this.participants.values()]) {
      if (!p.alive && now >= p.reservedUntil) {
        this.participants.delete(p.id);
        for (const s of this.windows.values()) s.counts.delete(p.id);
      }
    }
    for (const p of this.participants.values()) if (p.alive && p.units < target) this.raise(p, Math.min(target, p.units + this.freeUnits));
  }

  // ---- Gauges ----

  private gaugeTotal(s: GaugeState): number {
    let sum = 0;
    for (const p of this.participants.values()) {
      if (!p.alive) continue;
      const l = s.leases.get(p.id);
      sum += l ?? gaugeAllowance(s.limit, p.units);
    }
    return sum;
  }

  private gaugeNeed(worker: number, m: Extract<LimitToOwner, { t: 'need'; kind: 'gauge' }>): void {
    let s = this.gauges.get(m.key);
    if (!s) this.gauges.set(m.key, (s = { limit: m.limit, leases: new Map(), full: false, queue: [] }));
    s.limit = m.limit;
    // The worker holds what it uses from now on.
    s.leases.set(worker, m.used);
    s.queue.push({ worker, want: Math.max(1, m.want) });
    if (!s.round) this.serveGauge(m.key, s, false);
  }

  private serveGauge(key: string, s: GaugeState, afterRound: boolean): void {
    while (s.queue.length) {
      const q = s.queue[0];
      const free = s.limit - this.gaugeTotal(s);
      if (free >= 1) {
        if (s.full) this.broadcastGauge(key, s, 'room');
        const g = chunk(free, q.want, this.alive());
        s.leases.set(q.worker, (s.leases.get(q.worker) ?? 0) + g);
        this.send(q.worker, { t: 'grant', kind: 'gauge', key, n: g });
      } else if (s.full || afterRound) {
        // Every worker holds only what it uses: the limit is reached for the balancer.
        if (!s.full) this.broadcastGauge(key, s, 'full');
        this.send(q.worker, { t: 'refused', kind: 'gauge', key });
      } else {
        this.claimGauge(key, s, [...this.participants.values()]);
        return;
      }
      s.queue.shift();
    }
  }

  /** Claims `who` (the living among them): each reports what it uses and keeps only that. */
  private claimGauge(key: string, s: GaugeState, who: Participant[]): void {
    s.round = this.startRound(0);
    for (const p of who) {
      if (!p.alive) continue;
      s.round.pending.add(p.id);
      this.send(p.id, { t: 'claim', kind: 'gauge', key, round: s.round.id });
    }
  }

  private broadcastGauge(key: string, s: GaugeState, t: 'full' | 'room'): void {
    s.full = t === 'full';
    for (const p of this.participants.values()) if (p.alive) this.send(p.id, { t, key });
  }

  private gaugeClaimed(worker: number, m: Extract<LimitToOwner, { t: 'claimed'; kind: 'gauge' }>): void {
    const s = this.gauges.get(m.key);
    if (!s) return;
    // Applied whenever it comes: it only ever lowers what the worker holds.
    s.leases.set(worker, m.used);
    if (s.round?.id === m.round && s.round.pending.delete(worker) && s.round.pending.size === 0) this.endGaugeRound(m.key, s);
  }

  private endGaugeRound(key: string, s: GaugeState): void {
    s.round = undefined;
    this.serveGauge(key, s, true);
    this.settleGauge(key, s);
  }

  private gaugeReturn(worker: number, m: Extract<LimitToOwner, { t: 'return' }>): void {
    const s = this.gauges.get(m.key);
    if (!s) return;
    const l = s.leases.get(worker);
    if (l !== undefined) {
      if (m.implicit) s.leases.delete(worker);
      else s.leases.set(worker, Math.max(0, l - m.n));
    }
    if (!s.round && !s.queue.length) this.settleGauge(m.key, s);
  }

  /** After lowering: room again, plain shares where they fit, and a key nobody leases is forgotten. */
  private settleGauge(key: string, s: GaugeState): void {
    if (s.round || s.queue.length) return;
    if (s.full && s.limit - this.gaugeTotal(s) >= 1) this.broadcastGauge(key, s, 'room');
    if (s.full) {
      // A worker that went back to its plain share just as the key filled up holds it unused
      // perhaps: claim it, so that what it does not use is free for the others.
      const plain = [...this.participants.values()].filter((p) => p.alive && !s.leases.has(p.id));
      if (plain.length) this.claimGauge(key, s, plain);
      return;
    }
    for (const p of this.participants.values()) {
      const l = s.leases.get(p.id);
      if (!p.alive || l === undefined) continue;
      const share = gaugeAllowance(s.limit, p.units);
      if (l > share) continue;
      if (this.gaugeTotal(s) - l + share > s.limit) continue;
      s.leases.delete(p.id);
      this.send(p.id, { t: 'release', key });
    }
    let leased = false;
    for (const p of this.participants.values()) if (p.alive && s.leases.has(p.id)) leased = true;
    if (!leased) this.gauges.delete(key);
  }

  // ---- Windows ----

  /** The balancer's estimate at `t`, with its previous and current window's counts (for Retry-After). */
  private windowSum(s: WindowState, t: number): { sum: number; prev: number; curr: number; elapsed: number } {
    const w = s.windowMs;
    const I = Math.floor(t / w);
    const elapsed = t - I * w;
    let prev = 0;
    let curr = 0;
    for (const p of this.participants.values()) {
      if (!p.alive && t >= p.reservedUntil) continue;
      const c = s.counts.get(p.id);
      if (c !== undefined) {
        prev += c.byWindow.get(I - 1) ?? 0;
        curr += c.byWindow.get(I) ?? 0;
        if (c.pending) curr += windowAllowance(s.limit, p.units);
      } else curr += windowAllowance(s.limit, p.units);
    }
    return { sum: prev * (1 - elapsed / w) + curr, prev, curr, elapsed };
  }

  private windowNeed(worker: number, m: Extract<LimitToOwner, { t: 'need'; kind: 'window' }>): void {
    let s = this.windows.get(m.key);
    if (!s) this.windows.set(m.key, (s = { limit: m.limit, windowMs: m.windowMs, until: -1, counts: new Map(), queue: [], exact: -1 }));
    s.limit = m.limit;
    this.report(s, worker, m);
    s.queue.push({ worker, want: Math.max(1, m.want) });
    if (!s.round) this.serveWindow(m.key, s);
  }

  private report(s: WindowState, worker: number, r: { window: number; prev: number; curr: number }): void {
    let c = s.counts.get(worker);
    if (!c) s.counts.set(worker, (c = { byWindow: new Map(), pending: false }));
    c.pending = false;
    c.byWindow.set(r.window - 1, r.prev);
    c.byWindow.set(r.window, r.curr);
    for (const i of c.byWindow.keys()) if (i < r.window - 1) c.byWindow.delete(i);
  }

  private serveWindow(key: string, s: WindowState): void {
    while (s.queue.length) {
      const q = s.queue[0];
      const t = this.now();
      const I = Math.floor(t / s.windowMs);
      // Grants in window I only while every worker asks through I + 1 (see the top).
      if (s.until < I + 1) return this.startWindowRound(key, s, I);
      const { sum, prev, curr, elapsed } = this.windowSum(s, t);
      const free = Math.floor(s.limit - sum + 1e-9);
      if (free >= 1) {
        const g = chunk(free, q.want, this.alive());
        let c = s.counts.get(q.worker);
        if (!c) s.counts.set(q.worker, (c = { byWindow: new Map(), pending: false }));
        const lease = (c.byWindow.get(I) ?? 0) + g;
        c.byWindow.set(I, lease);
        s.exact = -1;
        this.send(q.worker, { t: 'grant', kind: 'window', key, window: I, lease });
      } else if (s.exact !== I) {
        return this.startWindowRound(key, s, I);
      } else {
        const until = t + Math.max(1, retryAfterMs({ prev, curr }, s.limit, s.windowMs, elapsed));
        this.send(q.worker, { t: 'refused', kind: 'window', key, window: I, until, prev, curr });
      }
      s.queue.shift();
    }
  }

  private startWindowRound(key: string, s: WindowState, I: number): void {
    const round = this.startRound(I);
    s.round = round;
    s.until = Math.max(s.until, I + 2);
    for (const p of this.participants.values()) {
      if (!p.alive) continue;
      let c = s.counts.get(p.id);
      if (!c) s.counts.set(p.id, (c = { byWindow: new Map(), pending: false }));
      c.pending = true;
      round.pending.add(p.id);
      this.send(p.id, { t: 'claim', kind: 'window', key, round: round.id, windowMs: s.windowMs, until: s.until });
    }
  }

  private windowClaimed(worker: number, m: Extract<LimitToOwner, { t: 'claimed'; kind: 'window' }>): void {
    const s = this.windows.get(m.key);
    if (!s) return;
    this.report(s, worker, m);
    if (s.round?.id === m.round && s.round.pending.delete(worker) && s.round.pending.size === 0) this.endWindowRound(m.key, s);
  }

  private endWindowRound(key: string, s: WindowState): void {
    const I = s.round!.window;
    s.round = undefined;
    // Workers that did not answer still count with their whole share (pending): another round
    // would not learn more.
    s.exact = I;
    this.serveWindow(key, s);
  }

  // ---- Shares ----

  private startRound(window: number): Round {
    return { id: ++this.rounds, pending: new Set(), deadline: this.now() + this.roundTimeoutMs, window };
  }

  private alive(): number {
    let n = 0;
    for (const p of this.participants.values()) if (p.alive) n++;
    return n;
  }

  /** Gives `p` a larger share where every key being leased has room for it. */
  private raise(p: Participant, units: number): void {
    if (units <= p.units) return;
    for (const s of this.gauges.values()) {
      if (s.round?.pending.has(p.id)) return;
      if (s.leases.has(p.id)) continue;
      if (this.gaugeTotal(s) - gaugeAllowance(s.limit, p.units) + gaugeAllowance(s.limit, units) > s.limit) return;
    }
    for (const s of this.windows.values()) {
      const c = s.counts.get(p.id);
      if (c === undefined || c.pending) return;
    }
    p.units = units;
    this.send(p.id, { t: 'share', units });
  }
}
