// Counters of the data path across worker processes. Node 20 has no memory shared between
// processes: each worker counts what its own requests did (elected, busy, bytes, answers,
// refusals) into a tally, sends it to the owner every few hundred milliseconds, and the owner adds
// it to its state through BalancerState.addCounts, so the manager, server-status and metrics show
// the sum. Failures are not batched: they go to the owner at once (see worker.ts).
import type { BalancerState } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import type { RuntimeState } from '../balancer/runtime.js';
import type { MetricTallies } from '../manager/metrics/metrics.js';
import type { LoadFigures } from '../manager/metrics/load-monitor.js';
import type { EdgeView } from './edge-summary.js';
import type { ServerStats } from '../proxy/server.js';

/** Answers per status class, in order 1xx … 5xx. */
export type ClassCounts = [number, number, number, number, number];

export interface MemberCounts {
  elected: number;
  /** Change of the requests in flight since the last report (may be negative). */
  busy: number;
  bytesTo: number;
  bytesFrom: number;
  responses: ClassCounts;
  /** The member answered at least once (its failure streak ends). */
  answered: boolean;
}

export interface BalancerCounts {
  refused: number;
  /** By member id. */
  members: Record<string, MemberCounts>;
}

/** What a worker's listener did, as StickyServer.stats() says it (totals, not changes). */
export type ServerFigures = Omit<ServerStats, 'startedAt'>;

export interface CountsWire {
  balancers: Record<string, BalancerCounts>;
  server: ServerFigures;
  /** Request counts for /metrics (Metrics.takeTallies), when the owner serves metrics. */
  metrics?: MetricTallies;
  /** The edge's refusal counters (EdgeCounters.snapshot: totals) and the connections it counts. */
  edge?: { counters: Record<string, number>; open: number };
  /** Its rate-limit figures and busiest clients (edge-summary.ts), at most once a second. */
  edgeView?: EdgeView;
  /** The worker's event-loop delay and GC pauses (about once a second, when the owner shows them). */
  load?: LoadFigures;
}

function emptyMember(): MemberCounts {
  return { elected: 0, busy: 0, bytesTo: 0, bytesFrom: 0, responses: [0, 0, 0, 0, 0], answered: false };
}

function classIndex(status: number): number {
  return status < 200 ? 0 : status < 300 ? 1 : status < 400 ? 2 : status < 500 ? 3 : 4;
}

/** A worker's counts since the last report. */
export class CountTally {
  private balancers: Record<string, BalancerCounts> = {};
  private dirty = false;

  private balancer(name: string): BalancerCounts {
    this.dirty = true;
    return (this.balancers[name] ??= { refused: 0, members: {} });
  }

  private member(b: string, id: string): MemberCounts {
    const bc = this.balancer(b);
    return (bc.members[id] ??= emptyMember());
  }

  elected(b: string, id: string): void {
    this.member(b, id).elected++;
  }
  refused(b: string): void {
    this.balancer(b).refused++;
  }
  busy(b: string, id: string, delta: number): void {
    this.member(b, id).busy += delta;
  }
  answer(b: string, id: string, status: number): void {
    const c = this.member(b, id);
    c.responses[classIndex(status)]++;
    c.answered = true;
  }
  traffic(b: string, id: string, to: number, from: number): void {
    const c = this.member(b, id);
    c.bytesTo += to;
    c.bytesFrom += from;
  }

  get empty(): boolean {
    return !this.dirty;
  }

  /** The counts so far; the tally starts again from zero. */
  take(): Record<string, BalancerCounts> {
    const out = this.balancers;
    this.balancers = {};
    this.dirty = false;
    return out;
  }
}

export interface InstrumentHooks {
  tally: CountTally;
  /** A member failed (the worker has marked it itself already). */
  failed(b: BalancerState, m: MemberState, cause: string): void;
}

/** Local in-flight requests of a member in this worker (others' are added to `busy` for bybusyness). */
const localBusy = new WeakMap<MemberState, number>();

/**
 * Makes a worker's BalancerState report what the data path does: the counter calls are counted
 * into the tally as well, markFailure also tells the owner, and error recovery (retry interval,
 * forced recovery) is left to the owner, whose decision comes back as a change. Only in workers:
 * a single process never calls this, so it pays nothing for it.
 */
export function instrument(b: BalancerState, hooks: InstrumentHooks): void {
  const name = b.name;
  const { tally } = hooks;
  const proto = Object.getPrototypeOf(b) as BalancerState;
  b.elect = (m) => {
    proto.elect.call(b, m);
    tally.elected(name, m.id);
  };
  b.countRefused = () => {
    proto.countRefused.call(b);
    tally.refused(name);
  };
  b.acquire = (m) => {
    proto.acquire.call(b, m);
    localBusy.set(m, (localBusy.get(m) ?? 0) + 1);
    tally.busy(name, m.id, 1);
  };
  b.release = (m) => {
    const local = localBusy.get(m) ?? 0;
    if (local <= 0) return;
    localBusy.set(m, local - 1);
    proto.release.call(b, m);
    tally.busy(name, m.id, -1);
  };
  b.countAnswer = (m, status) => {
    proto.countAnswer.call(b, m, status);
    tally.answer(name, m.id, status);
  };
  b.countTraffic = (m, to, from) => {
    proto.countTraffic.call(b, m, to, from);
    tally.traffic(name, m.id, to, from);
  };
  b.markFailure = (m, cause) => {
    proto.markFailure.call(b, m, cause);
    hooks.failed(b, m, cause);
  };
  // The owner clears E when the retry interval has passed (or forces recovery) and says so.
  b.retryCheck = () => undefined;
  b.forceRecovery = () => undefined;
}

/**
 * Sets the other workers' in-flight requests of a worker's members: `busy` is this worker's own
 * plus theirs, so bybusyness weighs the whole balancer's load.
 */
export function setOthersBusy(runtime: RuntimeState, others: Record<string, Record<string, number>>): void {
  for (const b of runtime.balancers.values()) {
    const theirs = others[b.name] ?? {};
    for (const m of b.members) {
      const busy = (localBusy.get(m) ?? 0) + (theirs[m.id] ?? 0);
      if (busy !== m.busy) b.addCounts(m, { busy: busy - m.busy });
    }
  }
}

/**
 * The owner's side: adds a worker's counts to the state. `busyOf` keeps what each worker has in
 * flight per member, so a worker that dies can be taken out of `busy` again (forgetWorker).
 */
export function absorbCounts(runtime: RuntimeState, counts: Record<string, BalancerCounts>, busyOf: Map<string, Map<string, number>>): void {
  for (const [name, bc] of Object.entries(counts)) {
    const b = runtime.balancers.get(name);
    if (!b) continue;
    if (bc.refused) b.addRefused(bc.refused);
    let held = busyOf.get(name);
    if (!held) busyOf.set(name, (held = new Map()));
    for (const [id, c] of Object.entries(bc.members)) {
      const m = b.members.find((x) => x.id === id);
      held.set(id, Math.max(0, (held.get(id) ?? 0) + c.busy));
      if (!m) continue;
      b.addCounts(m, { elected: c.elected, busy: c.busy, bytesTo: c.bytesTo, bytesFrom: c.bytesFrom, responses: c.responses });
      if (c.answered) b.markSuccess(m);
    }
  }
}

/** The owner's side: a worker is gone; what it had in flight is no longer busy. */
export function forgetWorker(runtime: RuntimeState, busyOf: Map<string, Map<string, number>>): void {
  for (const [name, held] of busyOf) {
    const b = runtime.balancers.get(name);
    for (const [id, n] of held) {
      const m = b?.members.find((x) => x.id === id);
      if (m && n) b!.addCounts(m, { busy: -n });
    }
  }
  busyOf.clear();
}

/** The owner's side, after a reload rebuilt the members: what the workers have in flight is busy again. */
export function restoreBusy(runtime: RuntimeState, workers: Iterable<Map<string, Map<string, number>>>): void {
  for (const busyOf of workers) {
    for (const [name, held] of busyOf) {
      const b = runtime.balancers.get(name);
      for (const [id, n] of held) {
        const m = b?.members.find((x) => x.id === id);
        if (m && n) b!.addCounts(m, { busy: n });
      }
    }
  }
}
