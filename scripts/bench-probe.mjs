// Loaded into each stickylb process by `npm run bench -- --probe` (NODE_OPTIONS=--import): records
// event-loop delay and garbage-collection pauses during the measured run only. The benchmark
// creates `<dir>/start` when the measured run begins and `<dir>/stop` when it ends; this file
// polls for them (ten stat calls a second) and writes `<dir>/probe-<pid>.json` at the stop; the
// benchmark then removes the folder, and the next `start` begins a new recording.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay, constants } from 'node:perf_hooks';
import { Session } from 'node:inspector';

const dir = process.env.STICKYLB_BENCH_PROBE;
if (dir) {
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  let recording = false;
  // After a stop, a new recording waits until the benchmark has removed the old `start`.
  let armed = true;
  const pauses = [];
  const gc = new PerformanceObserver((list) => {
    if (!recording) return;
    for (const e of list.getEntries()) pauses.push([kinds[e.detail?.kind] ?? 'other', e.duration]);
  });
  gc.observe({ entryTypes: ['gc'] });
  let heap0;
  let cpu0;
  // --probe-alloc: V8's sampling heap profiler, counting objects that died young too, gives the
  // bytes allocated per call site during the measured run.
  const alloc = process.env.STICKYLB_BENCH_ALLOC ? new Session() : undefined;
  alloc?.connect();
  const post = (method, params) => new Promise((ok, fail) => alloc.post(method, params, (err, res) => (err ? fail(err) : ok(res))));
  const allocSites = async () => {
    const { profile } = await post('HeapProfiler.stopSampling');
    const sites = new Map();
    let total = 0;
    const walk = (node) => {
      const self = node.selfSize;
      if (self) {
        const f = node.callFrame;
        const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
        sites.set(key, (sites.get(key) ?? 0) + self);
        total += self;
      }
      for (const c of node.children) walk(c);
    };
    walk(profile.head);
    return { totalBytes: total, top: [...sites].sort((a, b) => b[1] - a[1]).slice(0, 40) };
  };
  const poll = setInterval(async () => {
    if (!armed) armed = !existsSync(join(dir, 'start'));
    else if (!recording && existsSync(join(dir, 'start'))) {
      recording = true;
      eld.enable();
      eld.reset();
      heap0 = process.memoryUsage();
      cpu0 = process.cpuUsage();
      if (alloc) void post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
    } else if (recording && existsSync(join(dir, 'stop'))) {
      recording = false;
      armed = false;
      eld.disable();
      const byKind = {};
      for (const [kind, ms] of pauses) {
        const k = (byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0, over1ms: 0, over5ms: 0 });
        k.count++;
        k.totalMs += ms;
        k.maxMs = Math.max(k.maxMs, ms);
        if (ms > 1) k.over1ms++;
        if (ms > 5) k.over5ms++;
      }
      const sorted = pauses.map((p) => p[1]).sort((a, b) => a - b);
      const q = (f) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * f))] : 0);
      const cpu = process.cpuUsage(cpu0);
      const sites = alloc ? await allocSites() : undefined;
      writeFileSync(
        join(dir, `probe-${process.pid}.json`),
        JSON.stringify({
          pid: process.pid,
          eventLoopDelayMs: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, p999: eld.percentile(99.9) / 1e6, max: eld.max / 1e6, mean: eld.mean / 1e6 },
          gc: { byKind, pauseMs: { p50: q(0.5), p99: q(0.99), max: sorted.at(-1) ?? 0 }, totalMs: sorted.reduce((a, b) => a + b, 0) },
          cpuMs: (cpu.user + cpu.system) / 1000,
          heapUsedMb: process.memoryUsage().heapUsed / 1048576,
          heapUsedAtStartMb: heap0.heapUsed / 1048576,
          allocation: sites,
        }),
      );
      pauses.length = 0;
    }
  }, 100);
  poll.unref();
}
