// A real `stickylb run` process gives its young generation back once it goes quiet: V8 grew it
// while the process started (the config, the modules) and served requests, and shrinks it only at a
// collection, which an idle process would not have (V8's own memory reducer may, much later). A
// module preloaded into the process reports the young generation's size once a second, and whether
// a collection was asked for (V8 flags those as forced; V8's own collections are not).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { freePort } from '../helpers/edge.js';

let dir: string;
let backend: Backend;
let proc: NodeProcess | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickylb-idle-memory-'));
  writeFileSync(
    join(dir, 'probe.mjs'),
    `import { writeFileSync, renameSync } from 'node:fs';
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
const out = ${JSON.stringify(join(dir, 'young.json'))};
let forced = 0;
// The largest size seen before the first collection asked for.
let grown = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) forced++;
}).observe({ entryTypes: ['gc'] });
setInterval(() => {
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').physical_space_size;
  if (!forced) grown = Math.max(grown, young);
  writeFileSync(out + '.tmp', JSON.stringify({ young, forced, grown }));
  renameSync(out + '.tmp', out);
}, 1000).unref();
`,
  );
  backend = await startBackend({ name: 'one' });
});

after(async () => {
  await proc?.stop('SIGKILL');
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Report {
  young: number;
  forced: number;
  grown: number;
}

function report(): Report | undefined {
  const f = join(dir, 'young.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Report) : undefined;
}

test('a quiet balancer shrinks its young generation', async () => {
  const port = await freePort();
  const config = join(dir, 'stickylb.yaml');
  writeFileSync(config, [`listen: ["127.0.0.1:${port}"]`, 'errorLog: { level: error }', 'balancers:', '  c:', '    members:', `      - { url: "${backend.url}", route: one }`, 'proxyPass:', '  - { path: /, to: "balancer://c/" }', ''].join('\n'));
  proc = startCli(['run', '-c', config], { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(join(dir, 'probe.mjs')).href}` });
  await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:/, 60_000);
  for (let i = 0; i < 20; i++) assert.equal((await request(`http://127.0.0.1:${port}/x`)).status, 200);
  // After a quiet interval (5 s), a collection asked for, at which V8 shrinks the young generation.
  await until(() => (report()?.forced ?? 0) > 0, 'a collection asked for', 60_000);
  await until(() => (report()?.young ?? Infinity) <= 2 * 1024 * 1024, 'the young generation to shrink', 60_000);
  // Starting (compiling the TypeScript sources, validating the config) had grown it past the floor.
  const r = report()!;
  assert.ok(r.grown > 4 * 1024 * 1024, `young generation before the collection: ${r.grown} bytes`);
  await proc.stop();
  proc = undefined;
});
