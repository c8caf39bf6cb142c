// The load figures in /metrics: the event-loop delay of the last window as gauges with a
// `quantile` label (0.5, 0.99 and 1 for the maximum, as Go's client writes its GC summary) and the
// GC pauses since start as a histogram by kind. Worker processes' series carry `worker` and
// `generation` labels; the answering process's have none.
import type { Registry } from 'prom-client';
import type { PromClient } from './metrics.js';
import { GC_KINDS, GC_PAUSE_BUCKETS, LOAD_WINDOW_MS, type LoadSample } from './load-monitor.js';

/** Milliseconds (to the microsecond) as seconds, without binary noise in the text (0.001198, not 0.0011979999999999998). */
const seconds = (ms: number) => Math.round(ms * 1000) / 1e6;

function labelsOf(s: LoadSample): Record<string, string> {
  return s.worker ? { worker: String(s.worker.index), generation: String(s.worker.generation) } : {};
}

export function registerLoadMetrics(prom: PromClient, registry: Registry, samples: () => LoadSample[]): void {
  const registers = [registry];
  new prom.Gauge({
    name: 'stickylb_event_loop_delay_seconds',
    help: `How late the event loop ran its timers over the last ${LOAD_WINDOW_MS / 1000}-second window: quantile 0.5, 0.99, and 1 (the maximum). Per worker process with a worker label; without it, the process answering.`,
    labelNames: ['worker', 'generation', 'quantile'],
    registers,
    collect() {
      this.reset();
      for (const s of samples()) {
        const l = labelsOf(s);
        const d = s.figures.eventLoopDelayMs;
        this.set({ ...l, quantile: '0.5' }, seconds(d.p50));
        this.set({ ...l, quantile: '0.99' }, seconds(d.p99));
        this.set({ ...l, quantile: '1' }, seconds(d.max));
      }
    },
  });
  new prom.Histogram({
    name: 'stickylb_gc_pause_seconds',
    help: 'Garbage-collection pauses since the process started, by kind (minor, major, incremental, weakcb). Per worker process with a worker label; without it, the process answering.',
    labelNames: ['worker', 'generation', 'kind'],
    buckets: GC_PAUSE_BUCKETS,
    registers,
    collect() {
      // As for the request durations (metrics.ts): prom-client has no setter for a histogram's
      // buckets, its values live in `hashMap` entries of this shape.
      const map = (this as unknown as { hashMap: Record<string, unknown> }).hashMap;
      for (const key of Object.keys(map)) delete map[key];
      for (const s of samples()) {
        const l = labelsOf(s);
        for (const kind of GC_KINDS) {
          const t = s.figures.gcTotal[kind];
          const bucketValues: Record<string, number> = {};
          GC_PAUSE_BUCKETS.forEach((ub, i) => (bucketValues[ub] = t.buckets[i] ?? 0));
          map[`${l.worker ?? ''}\0${l.generation ?? ''}\0${kind}`] = { labels: { ...l, kind }, bucketValues, sum: seconds(t.totalMs), count: t.count };
        }
      }
    },
  });
}
