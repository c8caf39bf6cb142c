// The last 15 minutes of each member, for the manager page's live charts: requests and errors per
// second, requests in flight, and live sessions where the application reports them. Sampled from
// the runtime state's counters at a fixed interval (the caller's timer); no work on the request
// path. Pure apart from reading the state.
import type { RuntimeState } from '../../balancer/runtime.js';
import type { MemberState } from '../../balancer/member-state.js';

export interface HistoryPoint {
  /** When (ms since epoch). */
  t: number;
  /** Answers per second since the previous sample. */
  rps: number;
  /** Failures counted against the member per second since the previous sample. */
  eps: number;
  /** Requests in flight at the sample. */
  busy: number;
  /** Live sessions the application reported, when it reports them. */
  sessions?: number;
}

export interface MemberHistory {
  id: string;
  url: string;
  route: string;
  points: HistoryPoint[];
}

export interface HistoryView {
  intervalMs: number;
  windowMs: number;
  now: number;
  balancers: { name: string; members: MemberHistory[] }[];
}

export const HISTORY_WINDOW_MS = 15 * 60_000;
export const HISTORY_INTERVAL_MS = 5_000;

function answered(m: MemberState): number {
  let n = 0;
  for (const k in m.responses) n += m.responses[k];
  return n;
}

const round = (n: number) => Math.round(n * 100) / 100;

export class History {
  private readonly last = new Map<string, { t: number; answered: number; errors: number }>();
  private readonly series = new Map<string, HistoryPoint[]>();

  constructor(
    readonly intervalMs = HISTORY_INTERVAL_MS,
    readonly windowMs = HISTORY_WINDOW_MS,
  ) {}

  /**
   * Takes one sample of every member of every named balancer. `sessions` gives the live sessions
   * a member reported lately, if any.
   */
  sample(runtime: RuntimeState, now: number, sessions?: (balancer: string, m: MemberState) => number | undefined): void {
    const seen = new Set<string>();
    for (const b of runtime.named()) {
      for (const m of b.members) {
        const key = `${b.name}\u0000${m.id}`;
        seen.add(key);
        const a = answered(m);
        const prev = this.last.get(key);
        this.last.set(key, { t: now, answered: a, errors: m.errors });
        // Rates need two samples; a counter that went down (a member replaced) starts afresh.
        if (!prev || now <= prev.t || a < prev.answered || m.errors < prev.errors) continue;
        const dt = (now - prev.t) / 1000;
        const point: HistoryPoint = { t: now, rps: round((a - prev.answered) / dt), eps: round((m.errors - prev.errors) / dt), busy: m.busy };
        const s = sessions?.(b.name, m);
        if (s !== undefined) point.sessions = s;
        let list = this.series.get(key);
        if (!list) this.series.set(key, (list = []));
        list.push(point);
        while (list.length && list[0].t <= now - this.windowMs) list.shift();
      }
    }
    // Members that are gone (a reload removed them) are forgotten.
    for (const key of [...this.last.keys()]) {
      if (seen.has(key)) continue;
      this.last.delete(key);
      this.series.delete(key);
    }
  }

  view(runtime: RuntimeState, now: number): HistoryView {
    return {
      intervalMs: this.intervalMs,
      windowMs: this.windowMs,
      now,
      balancers: runtime.named().map((b) => ({
        name: b.name,
        members: b.members.map((m) => ({ id: m.id, url: m.url, route: m.route, points: this.series.get(`${b.name}\u0000${m.id}`) ?? [] })),
      })),
    };
  }
}
