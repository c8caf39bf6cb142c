// A per-client request rate limit: a sliding window per client address and rule, estimated as
// the current fixed window's count plus the previous window's, weighted by how much of it the
// sliding window still covers (the "sliding window counter" of nginx and Cloudflare). Memory is
// two numbers per active client and rule. Counts are kept per fixed window, so processes that
// each count their own requests can have their counts summed window by window by an owner.
import type { RateLimitModel } from '../config/edge-model.js';

interface Bucket {
  /** The rule's window (ms). */
  w: number;
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

const PRUNE_EVERY = 1024;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly stats = new Map<string, { allowed: number; limited: number }>();
  private hits = 0;

  /**
   * Counts a request of `client` under `rule` at `now` (ms). Returns 0 when it may go on, or the
   * seconds after which it would be allowed (for Retry-After) when it is over the limit; refused
   * requests are not counted.
   */
  hit(rule: RateLimitModel, client: string, now: number): number {
    const w = rule.windowMs;
    const idx = Math.floor(now / w);
    const key = `${rule.id}\0${client}`;
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
    let s = this.stats.get(rule.id);
    if (!s) this.stats.set(rule.id, (s = { allowed: 0, limited: 0 }));
    const elapsed = now - idx * w;
    const estimate = b.prev * (1 - elapsed / w) + b.curr;
    if (estimate + 1 <= rule.requests) {
      b.curr++;
      s.allowed++;
      return 0;
    }
    s.limited++;
    return retryAfter(b, rule.requests, w, elapsed);
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

/** Seconds until the estimate drops below the limit again, if no request comes meanwhile. */
export function retryAfter(b: { prev: number; curr: number }, limit: number, w: number, elapsed: number): number {
  let ms: number;
  if (b.curr + 1 > limit) {
    // Only the next window can help: there the current count weighs (1 - e/w).
    ms = w - elapsed + w * (1 - (limit - 1) / b.curr);
  } else {
    // The previous window's weight must fall far enough: prev * (1 - t/w) + curr + 1 <= limit.
    ms = b.prev > 0 ? w * (1 - (limit - 1 - b.curr) / b.prev) - elapsed : 0;
  }
  return Math.max(1, Math.ceil(ms / 1000));
}
