// What `<manager>/api/limits` shows of the rate limits and of the busiest clients when worker
// processes count them: each worker sends its own (at most once a second), the owner adds them
// up. Pure.
import { busiest } from '../edge/conn-limit.js';
import type { RateLimitStats } from '../edge/rate-limit.js';

/** A worker's view: its per-rule figures and its busiest client addresses. */
export interface EdgeView {
  rates: RateLimitStats[];
  /** Connections open per address, the 20 busiest. */
  clients: Record<string, number>;
}

/**
 * All workers' views together, with the allowed and limited counts of workers that are gone. A
 * client counted by two workers counts in each (`clients` of a rule, connections of an address).
 */
export function sumViews(views: Iterable<EdgeView>, gone: ReadonlyMap<string, { allowed: number; limited: number }>): EdgeView {
  const rates = new Map<string, RateLimitStats>();
  for (const [rule, g] of gone) rates.set(rule, { rule, allowed: g.allowed, limited: g.limited, clients: 0 });
  const clients: Record<string, number> = {};
  for (const v of views) {
    for (const r of v.rates) {
      const s = rates.get(r.rule);
      if (s) {
        s.allowed += r.allowed;
        s.limited += r.limited;
        s.clients += r.clients;
      } else rates.set(r.rule, { ...r });
    }
    for (const [addr, n] of Object.entries(v.clients)) clients[addr] = (clients[addr] ?? 0) + n;
  }
  return { rates: [...rates.values()], clients: busiest(clients) };
}

/** Adds a gone worker's allowed and limited counts to `gone`. */
export function keepGone(gone: Map<string, { allowed: number; limited: number }>, view: EdgeView): void {
  for (const r of view.rates) {
    const g = gone.get(r.rule) ?? { allowed: 0, limited: 0 };
    g.allowed += r.allowed;
    g.limited += r.limited;
    gone.set(r.rule, g);
  }
}
