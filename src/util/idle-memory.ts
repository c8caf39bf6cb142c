// Gives the young generation back when the process goes quiet. V8 grows its young generation
// (two semi-spaces, up to 2 × 16 MB on 64-bit Node 20) while a process allocates fast, and shrinks
// it only at a collection that sees a low allocation rate. A balancer that served a burst and then
// sits idle has no collection at all, so it keeps the 15–30 MB the burst grew, for nothing
// (scripts/rss-idle.mjs measures it; docs/benchmarks.md has the figures). V8's own memory reducer,
// which would collect an idle heap, starts only after a full collection, which a balancer's heap
// rarely needs. So once the event loop has been nearly idle for a whole interval, a minor
// collection is asked for: V8 sees the low allocation rate and shrinks the young generation; then
// an incremental full one compacts the old generation. Nothing runs per request: a timer samples the event-loop
// utilization every few seconds.
// Capping the young generation with --max-semi-space-size instead would save the same memory
// under load too, but costs GC time on every request (measured: docs/benchmarks.md).
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

/** The young generation's physical size at or below which there is nothing to give back (bytes). */
export const YOUNG_FLOOR_BYTES = 2 * 1024 * 1024;
/** Event-loop utilization below which an interval counts as quiet (2 % of the time busy: an idle balancer
 * measures 0.2–0.4 % with its timers; V8 decides by the allocation rate in the end). */
export const QUIET_UTILIZATION = 0.02;
/** Attempts per quiet period: V8 may decline to shrink (a rate still seen as high, or flags). */
export const MAX_ATTEMPTS = 3;

export interface IdleTrimState {
  /** Collections asked for since the process was last busy. */
  attempts: number;
}

/**
 * Whether to ask for a collection now, given the last interval's event-loop utilization and
 * the young generation's physical size; returns the next state. A busy interval starts over.
 */
export function decideTrim(state: IdleTrimState, utilization: number, youngBytes: number): { trim: boolean; state: IdleTrimState } {
  if (utilization >= QUIET_UTILIZATION) return { trim: false, state: { attempts: 0 } };
  if (youngBytes <= YOUNG_FLOOR_BYTES || state.attempts >= MAX_ATTEMPTS) return { trim: false, state };
  return { trim: true, state: { attempts: state.attempts + 1 } };
}

type GcFn = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/**
 * V8's gc(): the global one when Node runs with --expose-gc, else one taken from a context made
 * for each call (the flag only puts gc() into contexts created while it is set, not the main one).
 * A context is a whole set of globals: kept for the life of the process it would hold 150 kB of
 * heap, so each is let go after its call (a trim asks at most a few times per quiet period).
 */
function gcFunction(): GcFn | undefined {
  const g = (globalThis as { gc?: GcFn }).gc;
  if (g) return g;
  const fresh = (): GcFn | undefined => {
    try {
      v8.setFlagsFromString('--expose-gc');
      const fn = vm.runInNewContext('gc') as GcFn;
      return typeof fn === 'function' ? fn : undefined;
    } catch {
      return undefined;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  };
  return fresh() ? (options) => fresh()?.(options) : undefined;
}

function youngGenerationBytes(): number {
  let n = 0;
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') n += s.physical_space_size;
  return n;
}

export interface IdleTrim {
  stop(): void;
}

/** Starts the watch (an unref'd timer); `intervalMs` is how long the loop must have been quiet. */
export function startIdleTrim(intervalMs = 5_000): IdleTrim {
  const gc = gcFunction();
  if (!gc) return { stop() {} };
  let state: IdleTrimState = { attempts: 0 };
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(now, last);
    last = now;
    const young = youngGenerationBytes();
    const next = decideTrim(state, d.utilization, young);
    state = next.state;
    if (!next.trim) return;
    // A minor collection (a few ms on an idle heap), at which V8 shrinks the young generation when
    // it measures a low allocation rate. Its rate covers the last 5 s between collections, so just
    // after a burst it may decline: the next quiet interval asks again.
    gc({ type: 'minor' });
    // Shrunk: an incremental full collection (marking in small steps on the loop) compacts the old
    // generation, which the burst and the minor collection's promotions filled.
    if (youngGenerationBytes() < young * 0.75) gc({ type: 'major', execution: 'async' });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
