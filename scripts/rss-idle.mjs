#!/usr/bin/env node
// Where the memory of an idle stickylb process goes. Starts members (one nginx process, or a Node
// server when nginx is missing) on 127.0.0.1, then stickylb (`bin/stickylb.js run`, the lean
// engine, the sticky balancer of `npm run bench`), opens N keep-alive client connections that
// each make one proxied request, and reads the process's memory from /proc and from inside:
//
//   node scripts/rss-idle.mjs [--connections 1000] [--bin bin/stickylb.js] [--engine lean]
//        [--node-flags=--max-semi-space-size=1] [--warm 0] [--gc] [--no-probe] [--json]
//        [--quiet 12 --keep-alive-timeout 60s] [--modules] [--keep]
//
// - VmRSS and smaps_rollup of the process; /proc/PID/smaps split into the node binary's pages
//   (code and read-only data), other files (shared libraries), V8's heap (the anonymous mappings
//   that cover V8's spaces) and the rest of the anonymous memory (malloc: libuv, OpenSSL, Node's
//   C++ objects, ArrayBuffer contents). Kernel socket buffers are not part of a process's RSS.
// - With the probe (default): process.memoryUsage(), V8's heap spaces and code statistics, read by a
//   small module preloaded with --import that answers SIGWINCH by writing them to a file; `--gc`
//   also runs a full garbage collection first (so what is left is what is live). The probe is a
//   few lines; `--no-probe` leaves it out (RSS figures only).
// - `--warm N` sends N requests over 50 connections before the idle connections are opened (what the
//   benchmark's load runs do to the heap); `--modules` lists the ES module files the process
//   loaded (through a module hook, which runs a thread of its own: RSS is higher in that run),
//   by package; files a package loads with require are not listed.
// - `--quiet S` measures again after S seconds without requests (with --keep-alive-timeout above S,
//   else the config's KeepAliveTimeout, 5 s by default, closes the idle connections meanwhile).
// Light on purpose: a few thousand requests at most; run it with `nice`.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import net from 'node:net';
import http from 'node:http';
import { membersNginxConf } from './bench-members.mjs';

const { values: opt } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000' },
    bin: { type: 'string', default: join(import.meta.dirname, '..', 'bin', 'stickylb.js') },
    engine: { type: 'string', default: 'lean' },
    'node-flags': { type: 'string', default: '' },
    warm: { type: 'string', default: '0' },
    gc: { type: 'boolean', default: false },
    'no-probe': { type: 'boolean', default: false },
    modules: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    settle: { type: 'string', default: '500' },
    quiet: { type: 'string', default: '0' },
    'keep-alive-timeout': { type: 'string' },
  },
});

const N = Number(opt.connections);
const work = mkdtempSync(join(tmpdir(), 'stickylb-rss-'));
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function start(cmd, args, env = {}) {
  const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let err = '';
  c.stderr.on('data', (d) => (err += d));
  c.stdout.resume();
  c.errText = () => err;
  children.push(c);
  return c;
}

function cleanup() {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (!opt.keep) rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

async function until(what, fn, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await sleep(50);
  }
}

function get(port, path = '/', headers = {}) {
  return new Promise((ok, fail) => {
    const r = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode));
    });
    r.on('error', fail);
  });
}

// ---- Members ----
const ports = { first: await freePort(), second: await freePort() };
let nginx = null;
try {
  nginx = execFileSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' }).trim().split('\n')[0];
} catch {
  nginx = null;
}
if (nginx) {
  writeFileSync(join(work, 'members.conf'), membersNginxConf(work, ports, 4096));
  start(nginx, ['-c', join(work, 'members.conf'), '-p', work]);
} else {
  const src = `const http = require('http');
http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3, 'X-Route': process.env.ROUTE }); res.end('ok\\n'); }); }).listen(Number(process.env.PORT), '127.0.0.1');`;
  writeFileSync(join(work, 'member.cjs'), src);
  for (const [route, port] of Object.entries(ports)) start(process.execPath, [join(work, 'member.cjs')], { ROUTE: route, PORT: String(port) });
}
for (const p of Object.values(ports)) await until(`member on ${p}`, () => get(p).then(() => true, () => false));

// ---- stickylb ----
const port = await freePort();
const cfg = join(work, 'stickylb.yaml');
// The config of `npm run bench` (scripts/bench.mjs, stickylbYaml).
writeFileSync(
  cfg,
  [
    `listen: ["127.0.0.1:${port}"]`,
    `engine: ${opt.engine}`,
    'errorLog: { level: error }',
    'maxKeepAliveRequests: 0',
    ...(opt['keep-alive-timeout'] ? [`keepAliveTimeout: ${opt['keep-alive-timeout']}`] : []),
    'balancers:',
    '  c:',
    '    stickysession: "_s|_s"',
    '    nofailover: true',
    '    members:',
    `      - { url: "http://127.0.0.1:${ports.first}", route: first }`,
    `      - { url: "http://127.0.0.1:${ports.second}", route: second }`,
    'proxyPass:',
    '  - { path: /, to: "balancer://c/" }',
    '',
  ].join('\n'),
);

const probeOut = join(work, 'probe.json');
writeFileSync(
  join(work, 'probe.mjs'),
  `import { writeFileSync, renameSync } from 'node:fs';
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
const gc = globalThis.gc;
// Garbage collections since start, by kind: count and total pause (ms).
const gcs = {};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const k = ({ [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' })[e.detail?.kind] ?? 'other';
    const g = (gcs[k] ??= { count: 0, ms: 0 });
    g.count++;
    g.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGWINCH', () => {
  if (gc) { gc(); gc(); }
  writeFileSync(${JSON.stringify(probeOut)} + '.tmp', JSON.stringify({
    memory: process.memoryUsage(),
    heap: v8.getHeapStatistics(),
    spaces: v8.getHeapSpaceStatistics(),
    code: v8.getHeapCodeStatistics(),
    gc: gcs,
    cpu: process.cpuUsage(),
    handles: process.getActiveResourcesInfo().reduce((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {}),
  }));
  renameSync(${JSON.stringify(probeOut)} + '.tmp', ${JSON.stringify(probeOut)});
});
`,
);
// Lists every module file the process loads (ESM and CommonJS), to tell what a plain balancer carries.
const modsOut = join(work, 'modules.txt');
writeFileSync(
  join(work, 'modules-hook.mjs'),
  `import { appendFileSync } from 'node:fs';
export async function load(url, ctx, next) { appendFileSync(${JSON.stringify(modsOut)}, url + '\\n'); return next(url, ctx); }
`,
);
const nodeFlags = opt['node-flags'].split(/\s+/).filter(Boolean);
const preload = [];
if (!opt['no-probe']) preload.push(`--import=${pathToFileURL(join(work, 'probe.mjs')).href}`);
if (opt.gc) preload.push('--expose-gc');
if (opt.modules) preload.push('--no-warnings', `--experimental-loader=${pathToFileURL(join(work, 'modules-hook.mjs')).href}`);
const lb = start(process.execPath, [...nodeFlags, ...preload, resolve(opt.bin), 'run', '-c', cfg], { NODE_OPTIONS: '' });
await until('stickylb', () => get(port, '/', { Cookie: '_s=x.first' }).then((s) => s === 200, () => false), 60_000).catch((e) => {
  console.error(lb.errText());
  throw e;
});
const pid = lb.pid;

function status() {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem'), hwm: kb('VmHWM') };
}

function rollup() {
  const out = {};
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** RSS by kind of mapping (kB): the node binary, other files, malloc's main heap, other anonymous memory, stacks. */
function smapsSplit() {
  const out = { nodeBinary: 0, otherFiles: 0, mallocHeap: 0, otherAnon: 0, stack: 0 };
  let cur = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (h) {
      const name = h[3].trim();
      let kind;
      if (name === '[heap]') kind = 'mallocHeap';
      else if (name.startsWith('[stack')) kind = 'stack';
      else if (name.startsWith('/')) kind = name === process.execPath || name.endsWith('/node') ? 'nodeBinary' : 'otherFiles';
      else kind = 'otherAnon';
      cur = kind;
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && cur) out[cur] += Number(r[1]);
  }
  return out;
}

async function probe() {
  if (opt['no-probe']) return undefined;
  rmSync(probeOut, { force: true });
  process.kill(pid, 'SIGWINCH');
  await until('probe', () => existsSync(probeOut), 10_000);
  return JSON.parse(readFileSync(probeOut, 'utf8'));
}

async function snapshot(label) {
  await sleep(Number(opt.settle));
  const p = await probe();
  const s = status();
  const r = rollup();
  // V8's spaces are anonymous mappings like malloc's: V8's heap is the physical size V8 reports,
  // and the rest of the anonymous memory counts as native.
  const v8Phys = p ? p.spaces.reduce((a, sp) => a + sp.physical_space_size, 0) / 1024 : NaN;
  const split = smapsSplit();
  return { label, status: s, rollup: r, split, v8PhysicalKb: v8Phys, probe: p };
}

const mb = (kb) => (Number.isNaN(kb) ? '–' : (kb / 1024).toFixed(1));
const results = [];
results.push(await snapshot('idle, after one request'));

const warm = Number(opt.warm);
if (warm > 0) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  let left = warm;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (left-- > 0) {
        await new Promise((ok, fail) => {
          const r = http.get({ host: '127.0.0.1', port, path: '/', headers: { Cookie: '_s=abc123.first' }, agent }, (res) => {
            res.resume();
            res.on('end', ok);
          });
          r.on('error', fail);
        });
      }
    }),
  );
  agent.destroy();
  results.push(await snapshot(`after ${warm} requests over 50 connections`));
}

// Opened 50 at a time, so that all of them are open when measured (the benchmark's config keeps an
// idle connection for KeepAliveTimeout, 5 s by default).
const socks = [];
let closedEarly = 0;
async function openOne() {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r, j) => {
    s.once('connect', r);
    s.once('error', j);
  });
  s.on('close', () => closedEarly++);
  s.write(`GET / HTTP/1.1\r\nHost: bench\r\nCookie: _s=x.first\r\n\r\n`);
  await new Promise((r) => s.once('data', r));
  socks.push(s);
}
for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: Math.min(50, N - i) }, openOne));
results.push(await snapshot(`${N} idle keep-alive connections`));
let stillOpen = N - closedEarly;
const quiet = Number(opt.quiet);
if (quiet > 0) {
  await sleep(quiet * 1000);
  results.push(await snapshot(`the same, after ${quiet} s without requests`));
  stillOpen = N - closedEarly;
}
for (const s of socks) s.destroy();
results.push(await snapshot('connections closed'));

let modules;
if (opt.modules && existsSync(modsOut)) {
  const byPkg = new Map();
  for (const url of new Set(readFileSync(modsOut, 'utf8').split('\n').filter(Boolean))) {
    let key;
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) key = m[1];
    else if (url.startsWith('node:')) key = 'node: builtins';
    else if (/\/dist\//.test(url)) key = 'stickylb ' + url.replace(/^.*\/dist\//, '').replace(/\/[^/]*$/, '/');
    else key = url;
    byPkg.set(key, (byPkg.get(key) ?? 0) + 1);
  }
  modules = [...byPkg].sort((a, b) => b[1] - a[1]);
}

const physical = (r, name) => r.probe?.spaces.find((x) => x.space_name === name)?.physical_space_size;
if (opt.json) {
  console.log(JSON.stringify({ connections: N, nodeFlags, results, modules }, null, 2));
} else {
  console.log(`stickylb ${opt.engine} engine, node flags: ${nodeFlags.join(' ') || '(none)'}${opt.gc ? ', figures after a full GC' : ''}`);
  console.log('\n| state | VmRSS MB | file-backed MB (node binary) | anon MB | V8 heap physical MB (new / old / code / large) | native anon MB | heapUsed MB | heapTotal MB | external MB | arrayBuffers MB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const f = (b) => (b === undefined || Number.isNaN(b) ? '–' : (b / 1048576).toFixed(1));
  for (const r of results) {
    const m = r.probe?.memory;
    const large = r.probe ? physical(r, 'large_object_space') + physical(r, 'code_large_object_space') + physical(r, 'new_large_object_space') : undefined;
    const spaces = r.probe ? `${mb(r.v8PhysicalKb)} (${f(physical(r, 'new_space'))} / ${f(physical(r, 'old_space'))} / ${f(physical(r, 'code_space'))} / ${f(large)})` : '–';
    console.log(
      `| ${r.label} | ${mb(r.status.rss)} | ${mb(r.status.file)} (${mb(r.split.nodeBinary)}) | ${mb(r.status.anon)} | ${spaces} | ${r.probe ? mb(r.status.anon - r.v8PhysicalKb) : '–'} | ${f(m?.heapUsed)} | ${f(m?.heapTotal)} | ${f(m?.external)} | ${f(m?.arrayBuffers)} |`,
    );
  }
  const i = results.findIndex((r) => r.label.includes('idle keep-alive'));
  const open = results[i];
  const ref = results[i - 1];
  if (stillOpen < N) console.log(`\n(only ${stillOpen} of the ${N} connections were still open when measured)`);
  console.log(`\nper connection: ${(((open.status.rss - ref.status.rss) * 1024) / N / 1024).toFixed(1)} kB of RSS; anon ${(((open.status.anon - ref.status.anon) * 1024) / N / 1024).toFixed(1)} kB`);
  if (open.probe && ref.probe) {
    console.log(`  heapUsed ${(((open.probe.memory.heapUsed - ref.probe.memory.heapUsed) / N) / 1024).toFixed(1)} kB (${opt.gc ? 'live, after a full GC' : 'live and garbage not yet collected'}), V8 physical ${(((open.v8PhysicalKb - ref.v8PhysicalKb) * 1024) / N / 1024).toFixed(1)} kB, native ${((((open.status.anon - open.v8PhysicalKb) - (ref.status.anon - ref.v8PhysicalKb)) * 1024) / N / 1024).toFixed(1)} kB`);
    console.log(`  handles: ${JSON.stringify(open.probe.handles)}`);
  }
  for (const r of results) {
    if (!r.probe) continue;
    const g = Object.entries(r.probe.gc).map(([k, v]) => `${k} ${v.count} (${v.ms.toFixed(0)} ms)`).join(', ');
    console.log(`gc so far at "${r.label}": ${g}; CPU ${((r.probe.cpu.user + r.probe.cpu.system) / 1e6).toFixed(2)} s`);
  }
  if (modules) {
    console.log('\nmodules loaded (files per package; the module hook runs a thread of its own, so RSS figures of this run are higher):');
    for (const [k, n] of modules) console.log(`  ${String(n).padStart(4)}  ${k}`);
  }
}
process.exit(0);
