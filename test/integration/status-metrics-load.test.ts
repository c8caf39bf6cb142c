// Event-loop delay and GC pauses of a real `stickylb run`, as /metrics, server-status ?auto and
// ?json show them: one process, then the owner and each of 2 worker processes. The figures are
// measured, so only their presence and their sanity are checked (numbers ≥ 0, max ≥ p99 ≥ p50,
// histograms whose buckets add up).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBackend, type Backend } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { parseAuto, parseProm, type Sample } from '../helpers/manager.js';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { startWorkersBalancer, type WorkersBalancer } from '../helpers/workers.js';

const KINDS = ['minor', 'major', 'incremental', 'weakcb'];
const cleanup: (() => Promise<unknown>)[] = [];
/** A connection of its own per request: any worker may answer each. */
const agent = new http.Agent({ keepAlive: false });

after(async () => {
  for (const c of cleanup.reverse()) await c();
});

function config(backend: Backend): Record<string, unknown> {
  return {
    balancers: { app: { stickysession: '_s', members: [{ url: backend.url, route: 'one' }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    serverStatus: {},
    metrics: {},
  };
}

/** The delay quantiles and GC histogram of one process (`worker` undefined: the unlabelled series). */
function checkProm(samples: Sample[], worker?: string): void {
  const mine = (s: Sample) => s.labels.worker === worker;
  const q = (quantile: string) => {
    const s = samples.find((x) => x.name === 'stickylb_event_loop_delay_seconds' && mine(x) && x.labels.quantile === quantile);
    assert.ok(s, `stickylb_event_loop_delay_seconds{${worker ? `worker="${worker}",` : ''}quantile="${quantile}"} is there`);
    assert.ok(Number.isFinite(s.value) && s.value >= 0, `quantile ${quantile}: ${s.value}`);
    return s.value;
  };
  const [p50, p99, max] = [q('0.5'), q('0.99'), q('1')];
  assert.ok(max >= p99 && p99 >= p50, `delay p50 ${p50} p99 ${p99} max ${max}`);
  for (const kind of KINDS) {
    const of = (name: string) => samples.filter((x) => x.name === name && mine(x) && x.labels.kind === kind);
    const [count] = of('stickylb_gc_pause_seconds_count');
    const [sum] = of('stickylb_gc_pause_seconds_sum');
    assert.ok(count && sum, `stickylb_gc_pause_seconds{kind="${kind}"} for ${worker ?? 'the process'}`);
    assert.ok(count.value >= 0 && sum.value >= 0);
    const buckets = of('stickylb_gc_pause_seconds_bucket');
    const inf = buckets.find((b) => b.labels.le === '+Inf');
    assert.equal(inf?.value, count.value, 'the +Inf bucket is the count');
    // Cumulative buckets never go down.
    buckets.reduce((prev, b) => (assert.ok(b.value >= prev, `bucket le=${b.labels.le}`), b.value), 0);
  }
}

/** The ?auto keys of one process (`prefix` '' for the answering one, `Worker[1]` for a worker). */
function checkAuto(kv: Map<string, string>, prefix: string): void {
  const num = (key: string) => {
    const v = kv.get(`${prefix}${key}`);
    assert.ok(v !== undefined, `?auto has ${prefix}${key}`);
    const n = Number(v);
    assert.ok(Number.isFinite(n) && n >= 0, `${prefix}${key}: ${v}`);
    return n;
  };
  const window = num('LoadWindowSeconds');
  assert.ok(window <= 10, `window ${window} s`);
  const [p50, p99, max] = [num('EventLoopDelayP50Ms'), num('EventLoopDelayP99Ms'), num('EventLoopDelayMaxMs')];
  assert.ok(max >= p99 && p99 >= p50, `${prefix} delay p50 ${p50} p99 ${p99} max ${max}`);
  for (const kind of ['Minor', 'Major', 'Incremental', 'Weakcb']) {
    const n = num(`Gc${kind}Pauses`);
    const total = num(`Gc${kind}PauseMs`);
    const longest = num(`Gc${kind}PauseMaxMs`);
    assert.ok(total >= longest && (n > 0 || total === 0), `${prefix} ${kind}: ${n} pauses, ${total} ms, max ${longest} ms`);
  }
}

test('one process: /metrics, server-status ?auto, ?json and the page show its event-loop delay and GC pauses', async () => {
  const backend = await startBackend({ name: 'one' });
  cleanup.push(() => backend.close());
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-load-'));
  const file = join(dir, 'stickylb.yaml');
  writeFileSync(file, stringify({ listen: ['127.0.0.1:0'], errorLog: { path: join(dir, 'error.log') }, ...config(backend) }));
  const proc: NodeProcess = startCli(['run', '-c', file]);
  cleanup.push(() => proc.stop('SIGTERM', 20_000));
  const url = `http://127.0.0.1:${(await proc.waitFor(/stickylb listening on http:\/\/127\.0\.0\.1:(\d+)/, 60_000))[1]}`;
  for (let i = 0; i < 20; i++) assert.equal((await request(`${url}/x`)).status, 200);

  checkProm(parseProm((await request(`${url}/metrics`)).body));
  const auto = await request(`${url}/server-status?auto`);
  assert.equal(auto.status, 200);
  checkAuto(parseAuto(auto.body), '');
  assert.ok(!auto.body.includes('Worker['), 'no worker lines without workers');

  const json = (await request(`${url}/server-status?json`)).json<{ load: { pid: number; worker?: number; eventLoopDelayMs: Record<string, number>; gc: Record<string, unknown> }[] }>();
  assert.equal(json.load.length, 1);
  assert.equal(json.load[0].pid, proc.child.pid);
  assert.equal(json.load[0].worker, undefined);
  assert.deepEqual(Object.keys(json.load[0].gc).sort(), [...KINDS].sort());
  assert.ok(json.load[0].eventLoopDelayMs.max >= json.load[0].eventLoopDelayMs.p50);

  const page = await request(`${url}/server-status`);
  assert.match(page.body, /<h2>Event loop and garbage collection<\/h2>/);
  assert.match(page.body, new RegExp(`<td>This process</td><td>${proc.child.pid}</td>`));
});

test('workers: 2: the owner shows each worker\'s figures, with a worker label in /metrics and Worker[N] keys in ?auto', async () => {
  const backend = await startBackend({ name: 'one' });
  cleanup.push(() => backend.close());
  const lb: WorkersBalancer = await startWorkersBalancer({ workers: 2, ...config(backend) });
  cleanup.push(() => lb.stop());
  for (let i = 0; i < 20; i++) assert.equal((await request(`${lb.url}/x`, { agent })).status, 200);

  // The workers send their figures about once a second.
  const workers = await lb.workers();
  assert.deepEqual(workers.workers.map((w) => w.index).sort(), [1, 2]);
  const pids = new Map(workers.workers.map((w) => [String(w.index), w.pid]));
  let samples: Sample[] = [];
  await until(
    async () => {
      samples = parseProm((await request(`${lb.url}/metrics`, { agent })).body);
      return ['1', '2'].every((w) => samples.some((s) => s.name === 'stickylb_event_loop_delay_seconds' && s.labels.worker === w));
    },
    'both workers in /metrics',
    20_000,
  );
  checkProm(samples);
  checkProm(samples, '1');
  checkProm(samples, '2');
  assert.ok(samples.filter((s) => s.name === 'stickylb_event_loop_delay_seconds' && s.labels.worker).every((s) => s.labels.generation === '1'));

  // Requests by protocol are the workers' together (their counts reach the owner every 100 ms).
  await until(
    async () => Number(parseAuto((await request(`${lb.url}/server-status?auto`, { agent })).body).get('RequestsHTTP1')) >= 20,
    "RequestsHTTP1 to count the workers' requests",
    10_000,
  );
  const kv = parseAuto((await request(`${lb.url}/server-status?auto`, { agent })).body);
  checkAuto(kv, '');
  checkAuto(kv, 'Worker[1]');
  checkAuto(kv, 'Worker[2]');

  const json = (await request(`${lb.url}/server-status?json`, { agent })).json<{ load: { pid: number; worker?: number; generation?: number }[] }>();
  assert.equal(json.load.length, 3, 'the owner and both workers');
  assert.equal(json.load[0].worker, undefined, 'the owner first');
  assert.equal(json.load[0].pid, lb.proc.child.pid);
  for (const w of ['1', '2']) {
    const entry = json.load.find((l) => String(l.worker) === w);
    assert.equal(entry?.pid, pids.get(w), `worker ${w}'s pid`);
    assert.equal(entry?.generation, 1);
  }

  // The manager's process list carries the same figures.
  const listed = (await request(`${lb.manager}/api/workers`, { agent })).json<{ workers: { index: number; load?: { eventLoopDelayMs: { p50: number; max: number } } }[] }>();
  for (const w of listed.workers) assert.ok(w.load && w.load.eventLoopDelayMs.max >= w.load.eventLoopDelayMs.p50, `worker ${w.index} has its load in /api/workers`);

  const page = await request(`${lb.url}/server-status`, { agent });
  assert.match(page.body, new RegExp(`<td>Owner</td><td>${lb.proc.child.pid}</td>`));
  assert.match(page.body, new RegExp(`<td>Worker 1</td><td>${pids.get('1')}</td>`));
  assert.match(page.body, new RegExp(`<td>Worker 2</td><td>${pids.get('2')}</td>`));
});
