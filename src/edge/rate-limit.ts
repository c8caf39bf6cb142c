// A per-client request rate limit: a sliding window per client address and rule, estimated as
// the current fixed window's count plus the previous window's, weighted by how much of it the
// sliding window still covers (the "sliding window counter" of nginx and Cloudflare). Memory is
// two numbers per active client and rule; a request costs two map lookups and no allocation
// (a client's first request makes its bucket). Counts are kept per fixed window, so worker
// processes can share one limit (src/workers/limit-*.ts) by adding up their windows.
import type { RateLimitModel } from '../config/edge-model.js';

/** One client's counts under one rule. */
export interface Bucket {
  /** The rule's window (ms). */
  w: number;
  /** The fixed window `curr` counts (now / w, rounded down). */
  window: number;
  prev: number;
  curr: number;
}

export interface RateLimitStats {
  rule: string;
  allowed: number;
  limited: number;
  /** Clients with a bucket now. */
  clients: number;
}

/** What the edge gate asks of a rate limiter (one process's, or one shared by worker processes). */
export interface RateCounting {
  /**
   * Counts a request of `client` under `rule` at `now` (ms). 0 when it may go on, or the seconds
   * after which it would be allowed (for Retry-After) when it is over the limit; refused requests
   * are not counted. A promise when the answer needs another process.
   */
  hit(rule: RateLimitModel, client: string, now: number): number | Promise<number>;
  snapshot(): RateLimitStats[];
}

/** One rule's counts: a bucket per client address, and what the rule let through and refused. */
interface RuleCounts {
  /** The rule's window (ms); 0 until a request counts under it. */
  w: number;
  buckets: Map<string, Bucket>;
  allowed: number;
  limited: number;
  /** Shown by snapshot(): a request was decided under the rule (or stat() asked for it). */
  listed: boolean;
  /** The fixed window in which buckets of passed windows were last dropped. */
  pruned: number;
}

/**
 * The sliding-window estimate `elapsed` ms into the current fixed window (of `w` ms): its count
 * plus the previous window's, weighted by the share of it that the sliding window still covers.
 * The true count of the sliding window lies between `curr` and `curr + prev`; the estimate takes
 * the previous window's requests as spread evenly over it.
 */
export function slidingEstimate(b: { prev: number; curr: number }, w: number, elapsed: number): number {
  return b.prev * (1 - elapsed / w) + b.curr;
}

export class RateLimiter implements RateCounting {
  /** By rule id, then by client address: no key is built per request. */
  private readonly rules = new Map<string, RuleCounts>();

  hit(rule: RateLimitModel, client: string, now: number): number {
    const w = rule.windowMs;
    const rc = this.counts(rule.id, w, now);
    rc.listed = true;
    const b = bucketIn(rc, client, w, now);
    const elapsed = now - b.window * w;
    if (slidingEstimate(b, w, elapsed) + 1 <= rule.requests) {
      b.curr++;
      rc.allowed++;
      return 0;
    }
    rc.limited++;
    return retryAfter(b, rule.requests, w, elapsed);
  }

  /** The counts of `client` under `rule`, moved on to the fixed window of `now` (made when missing). */
  bucket(rule: RateLimitModel, client: string, now: number): Bucket {
    return bucketIn(this.counts(rule.id, rule.windowMs, now), client, rule.windowMs, now);
  }

  /** The same by its key (`rule id \0 client`). */
  bucketByKey(key: string, w: number, now: number): Bucket {
    const cut = key.indexOf('\0');
    return bucketIn(this.counts(key.slice(0, cut), w, now), key.slice(cut + 1), w, now);
  }

  /** The allowed and limited counts of a rule (its own counters: add to them). */
  stat(rule: string): { allowed: number; limited: number } {
    let rc = this.rules.get(rule);
    if (rc === undefined) this.rules.set(rule, (rc = { w: 0, buckets: new Map(), allowed: 0, limited: 0, listed: true, pruned: 0 }));
    rc.listed = true;
    return rc;
  }

  /**
   * A rule's counts. Once per fixed window of the rule (at its first request) the buckets whose
   * windows have passed are dropped: a bucket is looked at about twice for each window in which
   * it counted a request, so a request costs O(1) on average.
   */
  private counts(id: string, w: number, now: number): RuleCounts {
    let rc = this.rules.get(id);
    if (rc === undefined) this.rules.set(id, (rc = { w, buckets: new Map(), allowed: 0, limited: 0, listed: false, pruned: Math.floor(now / w) }));
    else if (rc.w === 0) {
      rc.w = w;
      rc.pruned = Math.floor(now / w);
    } else if (Math.floor(now / rc.w) > rc.pruned) {
      rc.pruned = Math.floor(now / rc.w);
      for (const [client, b] of rc.buckets) if (Math.floor(now / b.w) > b.window + 1) rc.buckets.delete(client);
    }
    return rc;
  }

  snapshot(): RateLimitStats[] {
    const out: RateLimitStats[] = [];
    for (const [rule, rc] of this.rules) if (rc.listed) out.push({ rule, allowed: rc.allowed, limited: rc.limited, clients: rc.buckets.size });
    return out;
  }
}

/** The bucket of `client`, moved on to the fixed window of `now` (made when missing). */
function bucketIn(rc: RuleCounts, client: string, w: number, now: number): Bucket {
  const idx = Math.floor(now / w);
  let b = rc.buckets.get(client);
  if (b === undefined) {
    b = { w, window: idx, prev: 0, curr: 0 };
    rc.buckets.set(client, b);
  } else if (b.window !== idx) {
    b.prev = b.window === idx - 1 ? b.curr : 0;
    b.curr = 0;
    b.window = idx;
  }
  return b;
}

/** Milliseconds until the estimate drops below the limit again, if no request comes meanwhile. */
export function retryAfterMs(b: { prev: number; curr: number }, limit: number, w: number, elapsed: number): number {
  // Only the next window can help: there the current count weighs (1 - e/w).
  if (b.curr + 1 > limit) return w - elapsed + w * (1 - (limit - 1) / b.curr);
  // The previous window's weight must fall far enough: prev * (1 - t/w) + curr + 1 <= limit.
  return b.prev > 0 ? w * (1 - (limit - 1 - b.curr) / b.prev) - elapsed : 0;
}

/** Seconds until the estimate drops below the limit again (Retry-After), at least 1. */
export function retryAfter(b: { prev: number; curr: number }, limit: number, w: number, elapsed: number): number {
  return Math.max(1, Math.ceil(retryAfterMs(b, limit, w, elapsed) / 1000));
}
