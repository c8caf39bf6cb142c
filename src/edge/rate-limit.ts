// A per-client request rate limit: a sliding window per client address and rule, estimated as
// the current fixed window's count plus the previous window's, weighted by how much of it the
// sliding window still covers (the "sliding window counter" of nginx and Cloudflare). Memory is
// two numbers per active client and rule. Counts are kept per fixed window, so worker processes
// can share one limit (src/workers/limit-*.ts) by adding up their windows.
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

const PRUNE_EVERY = 1024;

export class RateLimiter implements RateCounting {
  private readonly buckets = new Map<string, Bucket>();
  private readonly stats = new Map<string, { allowed: number; limited: number }>();
  private hits = 0;

  hit(rule: RateLimitModel, client: string, now: number): number {
    const w = rule.windowMs;
    const b = this.bucket(rule, client, now);
    const s = this.stat(rule.id);
    const elapsed = now - b.window * w;
    const estimate = b.prev * (1 - elapsed / w) + b.curr;
    if (estimate + 1 <= rule.requests) {
      b.curr++;
      s.allowed++;
      return 0;
    }
    s.limited++;
    return retryAfter(b, rule.requests, w, elapsed);
  }

  /** The counts of `client` under `rule`, moved on to the fixed window of `now` (made when missing). */
  bucket(rule: RateLimitModel, client: string, now: number): Bucket {
    return this.bucketByKey(`${rule.id}\0${client}`, rule.windowMs, now);
  }

  /** The same by its key (`rule id \0 client`). */
  bucketByKey(key: string, w: number, now: number): Bucket {
    const idx = Math.floor(now / w);
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { w, window: idx, prev: 0, curr: 0 };
      this.buckets.set(key, b);
    } else if (b.window !== idx) {
      b.prev = b.window === idx - 1 ? b.curr : 0;
      b.curr = 0;
      b.window = idx;
    }
    if (++this.hits % PRUNE_EVERY === 0) this.prune(now);
    return b;
  }

  /** The allowed and limited counts of a rule. */
  stat(rule: string): { allowed: number; limited: number } {
    let s = this.stats.get(rule);
    if (!s) this.stats.set(rule, (s = { allowed: 0, limited: 0 }));
    return s;
  }

  /** Drops buckets whose windows have passed. */
  private prune(now: number): void {
    for (const [key, b] of this.buckets) if (Math.floor(now / b.w) > b.window + 1) this.buckets.delete(key);
  }

  snapshot(): RateLimitStats[] {
    const clients = new Map<string, number>();
    for (const key of this.buckets.keys()) {
      const rule = key.slice(0, key.indexOf('\0'));
      clients.set(rule, (clients.get(rule) ?? 0) + 1);
    }
    return [...this.stats].map(([rule, s]) => ({ rule, allowed: s.allowed, limited: s.limited, clients: clients.get(rule) ?? 0 }));
  }
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
