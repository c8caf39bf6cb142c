// The load figures: the arithmetic (delay from Node's histogram, GC pauses into windows and
// buckets), the monitor on this very process (a blocked loop, a forced GC), and how server-status
// renders them (?auto keys, JSON, HTML). No sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { addPause, GC_PAUSE_BUCKETS, LoadMonitor, loopDelay, type GcTotals, type GcWindow, type LoadFigures, type LoadSample } from '../../src/manager/metrics/load-monitor.js';
import { renderAuto } from '../../src/manager/status/status-auto.js';
import { renderStatusPage } from '../../src/manager/status/status-page.js';
import { statusJson } from '../../src/manager/status/status-json.js';
import type { StatusView } from '../../src/manager/status/status-view.js';
import { until } from '../helpers/http.js';

test('loop delay: what exceeds the sampling interval, in ms; nothing sampled is zero', () => {
  const ns = (ms: number) => ms * 1e6;
  const h = { count: 50, percentile: (p: number) => (p === 50 ? ns(10.25) : ns(12.5)), max: ns(61), mean: ns(10.5) };
  assert.deepEqual(loopDelay(h, 10), { p50: 0.25, p99: 2.5, max: 51, mean: 0.5 });
  // A timer that ran a little early is not a negative delay.
  assert.deepEqual(loopDelay({ count: 3, percentile: () => ns(9.8), max: ns(9.9), mean: ns(9.85) }, 10), { p50: 0, p99: 0, max: 0, mean: 0 });
  // An empty histogram (NaN mean, a huge min) gives zeros.
  assert.deepEqual(loopDelay({ count: 0, percentile: () => 0, max: 0, mean: Number.NaN }, 10), { p50: 0, p99: 0, max: 0, mean: 0 });
});

test('GC pauses: the window counts, totals and keeps the longest; the totals fill the buckets', () => {
  const w: GcWindow = { count: 0, totalMs: 0, maxMs: 0 };
  const t: GcTotals = { count: 0, totalMs: 0, maxMs: 0, buckets: new Array(GC_PAUSE_BUCKETS.length + 1).fill(0) };
  for (const ms of [0.2, 0.5, 3, 2000]) addPause(w, t, ms);
  assert.deepEqual(w, { count: 4, totalMs: 2003.7, maxMs: 2000 });
  assert.equal(t.count, 4);
  // 0.2 ms and 0.5 ms (on the bound) in the first bucket, 3 ms in ≤ 5 ms, 2 s past the last bound.
  assert.equal(t.buckets[0], 2);
  assert.equal(t.buckets[GC_PAUSE_BUCKETS.indexOf(0.005)], 1);
  assert.equal(t.buckets[GC_PAUSE_BUCKETS.length], 1);
  assert.equal(
    t.buckets.reduce((a, b) => a + b),
    4,
  );
});

test('the monitor on this process: a blocked loop shows as delay, a forced GC as a major pause; rotate() closes the window', async () => {
  let now = 0;
  const monitor = new LoadMonitor(3_600_000, () => now).start();
  try {
    // Node records the time between two of its timer runs: wait for two before blocking.
    await until(() => monitor.samples >= 2, 'the first samples');
    const end = performance.now() + 80;
    while (performance.now() < end);
    await until(() => monitor.figures().eventLoopDelayMs.max > 0 && monitor.samples >= 4, 'the blocked turn sampled');
    const blocked = monitor.figures();
    // The timer run after the block came at least 80 ms after the one before it: 70 ms late.
    assert.ok(blocked.eventLoopDelayMs.max >= 70, `max ${blocked.eventLoopDelayMs.max} ms after an 80 ms block`);
    assert.ok(blocked.eventLoopDelayMs.max >= blocked.eventLoopDelayMs.p99 && blocked.eventLoopDelayMs.p99 >= blocked.eventLoopDelayMs.p50 && blocked.eventLoopDelayMs.p50 >= 0);

    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    await until(() => monitor.figures().gc.major.count >= 1, 'the forced GC observed');
    const f = monitor.figures();
    assert.ok(f.gc.major.maxMs > 0 && f.gc.major.totalMs >= f.gc.major.maxMs);
    assert.ok(f.gcTotal.major.count >= 1);
    assert.equal(
      f.gcTotal.major.buckets.reduce((a, b) => a + b),
      f.gcTotal.major.count,
    );

    now = 10_000;
    monitor.rotate();
    const closed = monitor.figures();
    assert.equal(closed.windowSeconds, 10, 'the window just closed');
    assert.ok(closed.eventLoopDelayMs.max >= 70, 'its figures are shown until the next one closes');
    assert.ok(closed.gc.major.count >= 1);
    now = 20_000;
    monitor.rotate();
    const next = monitor.figures();
    assert.equal(next.eventLoopDelayMs.max, 0, 'the next window (closed at once) sampled nothing');
    assert.ok(next.gcTotal.major.count >= f.gcTotal.major.count, 'totals since start stay');
  } finally {
    monitor.stop();
  }
});

function figures(p50: number, max: number, minor: number): LoadFigures {
  const none = { count: 0, totalMs: 0, maxMs: 0 };
  const total = (count: number) => ({ count, totalMs: count, maxMs: count ? 1 : 0, buckets: [count, ...new Array(GC_PAUSE_BUCKETS.length).fill(0)] });
  return {
    windowSeconds: 10,
    eventLoopDelayMs: { p50, p99: max / 2, max, mean: p50 },
    gc: { minor: { count: minor, totalMs: minor * 0.5, maxMs: minor ? 0.75 : 0 }, major: none, incremental: none, weakcb: none },
    gcTotal: { minor: total(minor), major: total(0), incremental: total(0), weakcb: total(0) },
  };
}

test('server-status: the load of the answering process, then of each worker, in ?auto, JSON and HTML', () => {
  const load: LoadSample[] = [
    { pid: 100, figures: figures(0.1, 4, 2) },
    { pid: 101, worker: { index: 1, generation: 1, key: 'Worker[1]', label: 'Worker 1' }, figures: figures(0.3, 12.5, 7) },
  ];
  const v: StatusView = {
    serverName: 'lb',
    version: '1',
    now: 1_700_000_060_000,
    startedAt: 1_700_000_000_000,
    uptimeSeconds: 60,
    requests: 0,
    inFlight: 0,
    connections: 0,
    bytesIn: 0,
    bytesOut: 0,
    requestsPerSec: 0,
    bytesInPerSec: 0,
    bytesOutPerSec: 0,
    bytesPerReq: 0,
    certificates: [],
    load,
  };
  const auto = renderAuto(v);
  const kv = new Map(auto.trim().split('\n').slice(1).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
  assert.equal(kv.get('LoadWindowSeconds'), '10');
  assert.equal(kv.get('EventLoopDelayP50Ms'), '0.1');
  assert.equal(kv.get('EventLoopDelayP99Ms'), '2');
  assert.equal(kv.get('EventLoopDelayMaxMs'), '4');
  assert.equal(kv.get('GcMinorPauses'), '2');
  assert.equal(kv.get('GcMinorPauseMs'), '1');
  assert.equal(kv.get('GcMinorPauseMaxMs'), '0.75');
  assert.equal(kv.get('GcMajorPauses'), '0');
  assert.equal(kv.get('GcWeakcbPauseMaxMs'), '0');
  assert.equal(kv.get('Worker[1]EventLoopDelayMaxMs'), '12.5');
  assert.equal(kv.get('Worker[1]GcMinorPauses'), '7');

  const json = statusJson(v) as { load: Record<string, unknown>[] };
  assert.deepEqual(json.load[0], {
    pid: 100,
    windowSeconds: 10,
    eventLoopDelayMs: { p50: 0.1, p99: 2, max: 4, mean: 0.1 },
    gc: load[0].figures.gc,
    gcSinceStart: { minor: { count: 2, totalMs: 2, maxMs: 1 }, major: { count: 0, totalMs: 0, maxMs: 0 }, incremental: { count: 0, totalMs: 0, maxMs: 0 }, weakcb: { count: 0, totalMs: 0, maxMs: 0 } },
  });
  assert.equal(json.load[1].worker, 1);
  assert.equal(json.load[1].generation, 1);
  assert.equal(json.load[1].pid, 101);

  const html = renderStatusPage(v);
  assert.match(html, /<h2>Event loop and garbage collection<\/h2>/);
  assert.match(html, /<td>Owner<\/td><td>100<\/td>/);
  assert.match(html, /<td>Worker 1<\/td><td>101<\/td>/);
  assert.match(html, /7 · 3\.50 ms \(max 0\.75 ms\)/);
  // A single process is "this process".
  assert.match(renderStatusPage({ ...v, load: [load[0]] }), /<td>This process<\/td>/);
  // Nothing sampled (neither server-status nor metrics served): no card, no keys.
  assert.ok(!renderStatusPage({ ...v, load: [] }).includes('Event loop'));
  assert.ok(!renderAuto({ ...v, load: [] }).includes('EventLoop'));
});
