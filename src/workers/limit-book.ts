// A worker's side of the limits all workers share (docs/workers.md, "Limits across workers"):
// what it may admit without asking the owner, and what it holds from the owner. Pure: the caller
// counts (connections open, a rate bucket), sends what these methods return and runs its waiting
// admissions again after each message from the owner.
//
// A key is held in one of two ways. Plainly (no entry): the worker may fill its share of the
// limit on its own. Leased (an entry): it may fill exactly its lease, and asks the owner for more;
// the owner's ledger knows every lease (limit-ledger.ts). Every change a worker makes on its own
// only lowers what it holds, and is reported after it happened; every raise comes from the owner,
// which counted it before sending. So the owner's count is never below what the workers hold.
import type { Bucket } from '../edge/rate-limit.js';
import { retryAfter } from '../edge/rate-limit.js';
import { gaugeAllowance, windowAllowance } from './limit-share.js';

/** ok: admit (and count it); ask: ask the owner first; full: refuse without asking. */
export type Admit = 'ok' | 'ask' | 'full';

interface GaugeLease {
  lease: number;
  /** The owner refused: refuse without asking, and give back what is no longer used, until `room`. */
  full: boolean;
  /** A need is on its way; its answer comes before anything else is decided. */
  asking: boolean;
}

/** Connections (counts that go up and down) of the keys of one worker. */
export class GaugeBook {
  readonly leases = new Map<string, GaugeLease>();

  constructor(public units: number) {}

  check(key: string, limit: number, used: number): Admit {
    const l = this.leases.get(key);
    if (l === undefined) return used < gaugeAllowance(limit, this.units) ? 'ok' : 'ask';
    if (used < l.lease) return 'ok';
    return l.full ? 'full' : 'ask';
  }

  /**
   * The worker asks for more of `key`: it now holds exactly what it uses. Returns false when a
   * need is on its way already.
   */
  ask(key: string, used: number): boolean {
    let l = this.leases.get(key);
    if (l === undefined) this.leases.set(key, (l = { lease: used, full: false, asking: false }));
    if (l.asking) return false;
    l.lease = used;
    l.asking = true;
    return true;
  }

  granted(key: string, n: number): void {
    const l = this.leases.get(key);
    if (l === undefined) this.leases.set(key, { lease: n, full: false, asking: false });
    else {
      l.lease += n;
      l.asking = false;
    }
  }

  refused(key: string): void {
    const l = this.leases.get(key);
    if (l === undefined) this.leases.set(key, { lease: 0, full: true, asking: false });
    else {
      l.full = true;
      l.asking = false;
    }
  }

  /** The owner claims `key`: the worker holds what it uses, and says how much that is. */
  claim(key: string, used: number): number {
    const l = this.leases.get(key);
    if (l === undefined) this.leases.set(key, { lease: used, full: false, asking: false });
    else l.lease = used;
    return used;
  }

  /** The key is full for the balancer: returns what the worker gives back now. */
  full(key: string, used: number): number {
    const l = this.leases.get(key);
    if (l === undefined) return 0;
    l.full = true;
    if (l.lease <= used) return 0;
    const n = l.lease - used;
    l.lease = used;
    return n;
  }

  room(key: string): void {
    const l = this.leases.get(key);
    if (l !== undefined) l.full = false;
  }

  /** The owner lets the worker hold its plain share again (not while a need is on its way). */
  release(key: string): void {
    const l = this.leases.get(key);
    if (l !== undefined && !l.asking) this.leases.delete(key);
  }

  /**
   * A connection of `key` closed, leaving `used`. While the key is full the worker gives back
   * what it no longer uses; once it uses nothing, it holds its plain share again if its lease is
   * at least that (giving back the rest), else it gives back all of it — unless `keep` (an
   * admission waits that may need it).
   */
  closed(key: string, limit: number, used: number, keep = false): { n: number; implicit: boolean } | undefined {
    const l = this.leases.get(key);
    if (l === undefined || l.asking) return undefined;
    if (l.full) {
      if (l.lease <= used) return undefined;
      const n = l.lease - used;
      l.lease = used;
      return { n, implicit: false };
    }
    if (used > 0 || keep) return undefined;
    const share = gaugeAllowance(limit, this.units);
    if (l.lease >= share) {
      this.leases.delete(key);
      return { n: l.lease - share, implicit: true };
    }
    // Below its share: all of it goes back, and the owner gives the share back once it fits.
    if (l.lease === 0) return undefined;
    const n = l.lease;
    l.lease = 0;
    return { n, implicit: false };
  }
}

interface WindowLease {
  /** The rule's window (ms). */
  w: number;
  /** Leased through this fixed window; plain again after it. */
  until: number;
  /** The window `lease` is for; in a later one the lease is 0. */
  window: number;
  lease: number;
  /** Refused until then (ms), with the balancer's counts then, for Retry-After. */
  fullUntil: number;
  fullWindow: number;
  prev: number;
  curr: number;
  asking: boolean;
}

/** What a need or a claim reports of a window: the worker's own counts. */
export interface WindowReport {
  window: number;
  prev: number;
  curr: number;
}

/** A refusal decided without asking: the seconds of Retry-After. */
export type WindowAdmit = 'ok' | 'ask' | number;

/** Rate limits (a count per fixed window, sliding estimate) of the keys of one worker. */
export class WindowBook {
  readonly leases = new Map<string, WindowLease>();

  constructor(public units: number) {}

  /** `b` is the worker's own bucket, moved on to the window of `now`. */
  check(key: string, limit: number, b: Bucket, now: number): WindowAdmit {
    let l = this.leases.get(key);
    if (l !== undefined && b.window > l.until && !l.asking) {
      this.leases.delete(key);
      l = undefined;
    }
    const elapsed = now - b.window * b.w;
    if (l === undefined) return b.prev * (1 - elapsed / b.w) + b.curr + 1 <= windowAllowance(limit, this.units) ? 'ok' : 'ask';
    if (l.window === b.window && b.curr < l.lease) return 'ok';
    if (now < l.fullUntil) {
      // The balancer's counts, moved on to this window as one process's bucket would be.
      const g = b.window === l.fullWindow ? l : { prev: b.window === l.fullWindow + 1 ? l.curr : 0, curr: 0 };
      return retryAfter(g, limit, b.w, elapsed);
    }
    return 'ask';
  }

  /** The worker asks for more: it holds what it has counted in this window. Undefined when a need is on its way. */
  ask(key: string, b: Bucket): WindowReport | undefined {
    let l = this.leases.get(key);
    if (l === undefined) this.leases.set(key, (l = { w: b.w, until: b.window, window: b.window, lease: b.curr, fullUntil: 0, fullWindow: 0, prev: 0, curr: 0, asking: false }));
    if (l.asking) return undefined;
    l.window = b.window;
    l.lease = b.curr;
    l.asking = true;
    return { window: b.window, prev: b.prev, curr: b.curr };
  }

  granted(key: string, window: number, lease: number): void {
    const l = this.leases.get(key);
    if (l === undefined) return;
    l.asking = false;
    if (window >= l.window) {
      l.window = window;
      l.lease = lease;
    }
  }

  refused(key: string, window: number, until: number, prev: number, curr: number): void {
    const l = this.leases.get(key);
    if (l === undefined) return;
    l.asking = false;
    l.fullUntil = until;
    l.fullWindow = window;
    l.prev = prev;
    l.curr = curr;
  }

  /** The owner claims `key` through window `until`: the worker holds what it has counted, and reports it. */
  claim(key: string, until: number, b: Bucket): WindowReport {
    let l = this.leases.get(key);
    if (l === undefined) this.leases.set(key, (l = { w: b.w, until, window: b.window, lease: b.curr, fullUntil: 0, fullWindow: 0, prev: 0, curr: 0, asking: false }));
    l.until = Math.max(l.until, until);
    l.window = b.window;
    l.lease = b.curr;
    return { window: b.window, prev: b.prev, curr: b.curr };
  }

  /**
   * Forgets leases whose windows have passed: a claim leaves one in every worker, also in those
   * the client never comes to again.
   */
  prune(now: number): void {
    for (const [key, l] of this.leases) if (!l.asking && Math.floor(now / l.w) > l.until) this.leases.delete(key);
  }
}
