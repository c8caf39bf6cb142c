// server-status `?json`: what the page shows, as one JSON object for scripts that would rather not
// parse `?auto`. The balancers without their nonces, the cards of other parts as `key: value`
// facts, and the load figures of each process. Pure.
import { GC_KINDS, type GcKind, type GcWindow, type LoadSample } from '../metrics/load-monitor.js';
import type { StatusView } from './status-view.js';

export interface LoadJson {
  pid: number;
  /** Only for worker processes: the slot and generation, as the `worker` label of /metrics. */
  worker?: number;
  generation?: number;
  windowSeconds: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number; mean: number };
  gc: Record<GcKind, GcWindow>;
  gcSinceStart: Record<GcKind, GcWindow>;
}

export function loadJson(s: LoadSample): LoadJson {
  const f = s.figures;
  const gcSinceStart = {} as Record<GcKind, GcWindow>;
  for (const k of GC_KINDS) gcSinceStart[k] = { count: f.gcTotal[k].count, totalMs: f.gcTotal[k].totalMs, maxMs: f.gcTotal[k].maxMs };
  return {
    pid: s.pid,
    ...(s.worker ? { worker: s.worker.index, generation: s.worker.generation } : {}),
    windowSeconds: f.windowSeconds,
    eventLoopDelayMs: f.eventLoopDelayMs,
    gc: f.gc,
    gcSinceStart,
  };
}

export function statusJson(v: StatusView): Record<string, unknown> {
  return {
    serverName: v.serverName,
    version: v.version,
    currentTime: new Date(v.now).toISOString(),
    restartTime: new Date(v.startedAt).toISOString(),
    uptimeSeconds: v.uptimeSeconds,
    requests: v.requests,
    requestsPerSec: v.requestsPerSec,
    inFlight: v.inFlight,
    connections: v.connections,
    bytesIn: v.bytesIn,
    bytesOut: v.bytesOut,
    bytesInPerSec: v.bytesInPerSec,
    bytesOutPerSec: v.bytesOutPerSec,
    bytesPerReq: v.bytesPerReq,
    byProtocol: v.byProtocol,
    load: (v.load ?? []).map(loadJson),
    balancers: v.balancers?.map(({ nonce: _nonce, ...b }) => b),
    certificates: v.certificates,
    sections: (v.sections ?? []).map((s) => ({ title: s.title, facts: Object.fromEntries(s.facts.map((f) => [f.key, f.value])) })),
  };
}
