// How hot this process runs: the event-loop delay (perf_hooks.monitorEventLoopDelay) and the
// garbage-collection pauses (a PerformanceObserver on 'gc' entries), for server-status and
// /metrics. Sampled by a libuv timer and by V8's GC callbacks: nothing runs per request. One
// monitor per process, shared by whoever shows the figures (useLoadMonitor), running only while
// someone does.
import { constants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';

export const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'] as const;
export type GcKind = (typeof GC_KINDS)[number];

/** Upper bounds (seconds) of the GC pause histogram in /metrics. */
export const GC_PAUSE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** The figures are those of the last complete window of this length. */
export const LOAD_WINDOW_MS = 10_000;
/** How often the event loop is sampled (Node's default). */
const RESOLUTION_MS = 10;

export interface GcWindow {
  count: number;
  totalMs: number;
  maxMs: number;
}

export interface GcTotals extends GcWindow {
  /** Pauses per bucket of GC_PAUSE_BUCKETS (not cumulative), plus one past the last bound. */
  buckets: number[];
}

/** A plain object: a worker process sends it to its owner as it is. */
export interface LoadFigures {
  /** How long the window the delay and `gc` figures cover is, in seconds. */
  windowSeconds: number;
  /** How late the event loop ran timers in that window, in milliseconds. */
  eventLoopDelayMs: { p50: number; p99: number; max: number; mean: number };
  /** GC pauses in that window, by kind (milliseconds). */
  gc: Record<GcKind, GcWindow>;
  /** GC pauses since the process started, by kind (for the /metrics histogram). */
  gcTotal: Record<GcKind, GcTotals>;
}

const KIND_OF: Record<number, GcKind> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

function byKind<T>(make: () => T): Record<GcKind, T> {
  return { minor: make(), major: make(), incremental: make(), weakcb: make() };
}

const ms3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The loop delay of a histogram of monitorEventLoopDelay, in milliseconds. Node records the time
 * between two runs of its sampling timer, so an idle loop shows the resolution itself (10 ms): the
 * delay is what exceeds it.
 */
export function loopDelay(h: Pick<IntervalHistogram, 'count' | 'percentile' | 'max' | 'mean'>, resolutionMs: number): LoadFigures['eventLoopDelayMs'] {
  if (!h.count) return { p50: 0, p99: 0, max: 0, mean: 0 };
  const late = (ns: number) => (Number.isFinite(ns) ? ms3(Math.max(0, ns / 1e6 - resolutionMs)) : 0);
  return { p50: late(h.percentile(50)), p99: late(h.percentile(99)), max: late(h.max), mean: late(h.mean) };
}

/** Counts one GC pause into the window's and the running totals. */
export function addPause(window: GcWindow, total: GcTotals, ms: number): void {
  window.count++;
  window.totalMs += ms;
  window.maxMs = Math.max(window.maxMs, ms);
  total.count++;
  total.totalMs += ms;
  total.maxMs = Math.max(total.maxMs, ms);
  const s = ms / 1000;
  let i = 0;
  while (i < GC_PAUSE_BUCKETS.length && s > GC_PAUSE_BUCKETS[i]) i++;
  total.buckets[i]++;
}

const roundWindow = (w: GcWindow): GcWindow => ({ count: w.count, totalMs: ms3(w.totalMs), maxMs: ms3(w.maxMs) });

export class LoadMonitor {
  private readonly delay: IntervalHistogram;
  private readonly observer: PerformanceObserver;
  private timer?: NodeJS.Timeout;
  private gcWindow = byKind<GcWindow>(() => ({ count: 0, totalMs: 0, maxMs: 0 }));
  private readonly gcTotal = byKind<GcTotals>(() => ({ count: 0, totalMs: 0, maxMs: 0, buckets: new Array(GC_PAUSE_BUCKETS.length + 1).fill(0) }));
  private windowStart = 0;
  /** The last complete window; until there is one, the figures so far are shown. */
  private last?: Pick<LoadFigures, 'windowSeconds' | 'eventLoopDelayMs' | 'gc'>;

  constructor(
    private readonly windowMs = LOAD_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.pause(e);
    });
  }

  start(): this {
    this.delay.enable();
    this.observer.observe({ entryTypes: ['gc'] });
    this.windowStart = this.now();
    this.timer = setInterval(() => this.rotate(), this.windowMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.delay.disable();
    this.observer.disconnect();
  }

  private pause(e: PerformanceEntry): void {
    const kind = KIND_OF[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1];
    if (kind) addPause(this.gcWindow[kind], this.gcTotal[kind], e.duration);
  }

  private current(): Pick<LoadFigures, 'windowSeconds' | 'eventLoopDelayMs' | 'gc'> {
    const gc = byKind<GcWindow>(() => ({ count: 0, totalMs: 0, maxMs: 0 }));
    for (const k of GC_KINDS) gc[k] = roundWindow(this.gcWindow[k]);
    return { windowSeconds: ms3((this.now() - this.windowStart) / 1000), eventLoopDelayMs: loopDelay(this.delay, RESOLUTION_MS), gc };
  }

  /** Ends the window (the timer calls this every `windowMs`): its figures are shown until the next. */
  rotate(): void {
    this.last = this.current();
    this.delay.reset();
    for (const k of GC_KINDS) this.gcWindow[k] = { count: 0, totalMs: 0, maxMs: 0 };
    this.windowStart = this.now();
  }

  /** Samples of the event loop in the current window. */
  get samples(): number {
    return this.delay.count;
  }

  figures(): LoadFigures {
    const gcTotal = byKind<GcTotals>(() => ({ count: 0, totalMs: 0, maxMs: 0, buckets: [] }));
    for (const k of GC_KINDS) {
      const t = this.gcTotal[k];
      gcTotal[k] = { count: t.count, totalMs: ms3(t.totalMs), maxMs: ms3(t.maxMs), buckets: [...t.buckets] };
    }
    return { ...(this.last ?? this.current()), gcTotal };
  }
}

let shared: { monitor: LoadMonitor; users: number } | undefined;

/** The process's monitor, started on first use; `release()` stops it when its last user is done. */
export function useLoadMonitor(): { monitor: LoadMonitor; release(): void } {
  if (!shared) shared = { monitor: new LoadMonitor().start(), users: 0 };
  const s = shared;
  s.users++;
  let released = false;
  return {
    monitor: s.monitor,
    release() {
      if (released) return;
      released = true;
      if (--s.users > 0) return;
      s.monitor.stop();
      if (shared === s) shared = undefined;
    },
  };
}

/** One process's figures, as server-status and /metrics show them. */
export interface LoadSample {
  pid: number;
  /** Absent: the process that answers (the owner, when there are worker processes). */
  worker?: {
    index: number;
    generation: number;
    /** The prefix of its `?auto` keys (`Worker[1]`, `Worker[1.2]` for an older generation). */
    key: string;
    /** For people: `Worker 1`, `Worker 1 (generation 2, draining)`. */
    label: string;
  };
  figures: LoadFigures;
}

/** Gives the samples of some processes when asked (at a scrape, a page view). */
export type LoadSource = () => LoadSample[];
