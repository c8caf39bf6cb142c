// The arithmetic of limits shared by worker processes (docs/workers.md, "Limits across workers").
// Each worker holds a share of every limit that it may use for any client address without
// asking: a fraction of SHARE_UNITS, given by the owner, together never more than all of it. Past
// its share a worker asks the owner, which holds the balancer-wide count (limit-ledger.ts); the
// worker's side is limit-book.ts. Pure.

/** A share is a number of these units; all workers' shares together are at most this. */
export const SHARE_UNITS = 65_536;

/** The key of the total connection limit (maxConnections). */
export const TOTAL_KEY = 't';

/** The key of one address's connections (maxConnectionsPerClient). */
export function clientKey(addr: string): string {
  return `c\0${addr}`;
}

/** The key of one client's requests under one rate rule (`bucketKey` as RateLimiter keys its counts). */
export function rateKey(bucketKey: string): string {
  return `r\0${bucketKey}`;
}

/** The RateLimiter key of a rate key. */
export function bucketKeyOf(key: string): string {
  return key.slice(2);
}

/** Connections a worker with `units` may hold of a key without asking. */
export function gaugeAllowance(limit: number, units: number): number {
  return Math.floor((limit * units) / SHARE_UNITS);
}

/** The part of a rate limit's sliding-window estimate a worker with `units` may fill without asking. */
export function windowAllowance(limit: number, units: number): number {
  return (limit * units) / SHARE_UNITS;
}

/**
 * The share each of `count` workers is given: half of all divided among them, so that a new
 * generation of workers (an upgrade, a replaced listener set) gets full shares while the old one
 * still drains with its own.
 */
export function shareTarget(count: number): number {
  return Math.floor(SHARE_UNITS / (2 * Math.max(1, count)));
}
