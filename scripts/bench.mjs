#!/usr/bin/env node
// Benchmark: the same sticky routing through stickylb, and (when installed) HAProxy, nginx and
// Apache mod_proxy_balancer, in one run, against the same two backends; prints req/s, p50/p99
// latency and proxy CPU time per request, with ratios. Never part of `npm test`.
//
// Usage: npm run bench [-- --duration 10 --connections 50 --only stickylb,haproxy]
//
// Method (`--method`): `pinned` (the default) runs the proxy under test alone on CPU 1 (taskset)
// with the load generator and the members (nginx answering from memory) on CPU 0, and adjusts CPU
// per request for the speed CPU 1 showed during each run (a fixed calibration loop timed before
// and after it); `shared` is the earlier method: everything on both CPUs, Node.js members.
// `--open-loop 20000,35000` offers those request rates to every proxy (h2load --rps) and reports
// p50/p99/p99.9/max at equal load; `--probe` records event-loop delay and GC pauses inside
// stickylb during the measured run; `--node-flags "--max-semi-space-size=…"` starts stickylb
// with V8 flags.
// (`stickylb` runs both engines; `stickylb-lean` only the lean one; `workers` the workers
// scenario: stickylb with 2 worker processes, HAProxy with nbthread 2, nginx with 2 workers, and
// stickylb in one process for comparison.) STICKYLB_BIN runs another build of the command.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { httpsScenarios, printHttps } from './bench-https.mjs';

const root = new URL('..', import.meta.url).pathname;
const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    'idle-connections': { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    method: { type: 'string', default: 'pinned' },
    'open-loop': { type: 'string' },
    probe: { type: 'boolean', default: false },
    'probe-alloc': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    'baseline-bin': { type: 'string' },
  },
});
const METHOD = opt.method;
if (METHOD !== 'pinned' && METHOD !== 'shared') throw new Error('--method: pinned or shared');
// CPU placement: the proxy alone on CPU 1, everything else on CPU 0 (pinned method).
const PROXY_CPUS = METHOD === 'pinned' ? '1' : undefined;
const LOAD_CPUS = METHOD === 'pinned' ? '0' : undefined;
const OPEN_LOOP = (opt['open-loop'] ?? (METHOD === 'pinned' ? '20000,35000' : 'none')).split(',').filter((r) => r !== 'none').map(Number);
const NODE_FLAGS = opt['node-flags'].split(' ').filter(Boolean);
const WORKERS = Number(opt.workers);
const STICKYLB_BIN = process.env.STICKYLB_BIN ?? join(root, 'bin/stickylb.js');
const DURATION = Number(opt.duration);
const CONNS = Number(opt.connections);
const only = opt.only ? new Set(opt.only.split(',').flatMap((n) => (n === 'workers' ? ['stickylb-lean', `stickylb-workers`, 'haproxy-workers', 'nginx-workers'] : [n]))) : undefined;
const work = mkdtempSync(join(tmpdir(), 'stickylb-bench-'));
const probeDir = join(work, 'probe');
const children = [];
const CLK_TCK = 100;

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts a process in its own group; `cpus` pins it (and its children) with taskset. */
function start(cmd, args, env = {}, cpus = undefined) {
  const [c, a] = cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
  const child = spawn(c, a, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, detached: true });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.errText = () => err;
  children.push(child);
  return child;
}

async function waitHttp(port, path = '/', timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((r) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () => r(true));
      });
      req.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answered on port ${port}`);
}

/** All pids in the process tree under `pid` (inclusive). */
function tree(pid) {
  const out = [pid];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(...tree(Number(p)));
    } catch {
      /* gone */
    }
  }
  return out;
}

function cpuSeconds(pids) {
  let ticks = 0;
  for (const p of pids) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').slice(readFileSync(`/proc/${p}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return ticks / CLK_TCK;
}

function rssMb(pids) {
  let kb = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

function parseLatency(s) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** `cmd args`, pinned to `cpus` when given. */
function pinned(cpus, cmd, args) {
  return cpus ? spawn('taskset', ['-c', cpus, cmd, ...args]) : spawn(cmd, args);
}

async function wrk(port, headers) {
  const args = ['-t1', `-c${CONNS}`, `-d${DURATION}s`, '--latency'];
  for (const h of headers) args.push('-H', h);
  args.push(`http://127.0.0.1:${port}/`);
  const out = await new Promise((resolve, reject) => {
    const c = pinned(LOAD_CPUS, 'wrk', args);
    let s = '';
    c.stdout.on('data', (d) => (s += d));
    c.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`wrk exited ${code}`))));
  });
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = parseLatency(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = parseLatency(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1];
  const max = parseLatency(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? '');
  return { requests, rps, p50, p99, max, non2xx, errors };
}

/**
 * Open loop: h2load offers `rate` requests a second over CONNS HTTP/1.1 connections whatever the
 * answers' pace, and its per-request log gives the latency distribution at that load.
 */
async function openLoop(port, headers, rate) {
  const log = join(work, `h2load-${port}-${rate}.log`);
  const args = ['--h1', '-c', String(CONNS), '--rps', String(rate / CONNS), '-D', String(DURATION), `--log-file=${log}`];
  for (const h of headers) args.push('-H', h.replace(/^([^:]+):/, (m, n) => `${n.toLowerCase()}:`));
  args.push(`http://127.0.0.1:${port}/`);
  const out = await new Promise((resolve, reject) => {
    const c = pinned(LOAD_CPUS, 'h2load', args);
    let s = '';
    c.stdout.on('data', (d) => (s += d));
    c.stderr.on('data', (d) => (s += d));
    c.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`h2load exited ${code}: ${s.slice(-300)}`))));
  });
  const times = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split('\t')[2]) / 1000)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const q = (f) => (times.length ? times[Math.min(times.length - 1, Math.floor(times.length * f))] : NaN);
  const failed = Number(/(\d+) failed/.exec(out)?.[1] ?? 0);
  return { rate, requests: times.length, rps: Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0), p50: q(0.5), p99: q(0.99), p999: q(0.999), max: times.at(-1) ?? NaN, failed };
}

/**
 * The speed of `cpus` now: nanoseconds per iteration of a fixed integer loop (after JIT warm-up),
 * timed by the loop's own process. A shared or throttled CPU gives a larger figure.
 */
const CALIBRATE = `let x = 1; const t = process.hrtime.bigint; for (let i = 0; i < 5e6; i++) x = (x * 1103515245 + 12345) | 0;
const a = t(); for (let i = 0; i < 5e7; i++) x = (x * 1103515245 + 12345) | 0; const b = t();
console.log(Number(b - a) / 5e7, x === 0.5);`;
async function calibrate(cpus) {
  const out = await new Promise((resolve) => {
    const c = pinned(cpus, process.execPath, ['-e', CALIBRATE]);
    let s = '';
    c.stdout.on('data', (d) => (s += d));
    c.on('exit', () => resolve(s));
  });
  return Number(out.split(' ')[0]);
}

/** Opens `n` keep-alive connections, each with one answered request, and keeps them open. */
async function idleConnections(port, n) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r, j) => {
      s.once('connect', r);
      s.once('error', j);
    });
    s.write(`GET / HTTP/1.1\r\nHost: bench\r\nCookie: _s=x.first\r\n\r\n`);
    await new Promise((r) => s.once('data', r));
    socks.push(s);
  }
  return socks;
}

// ---- Backends ----
const backendSrc = `
const http = require('http');
const route = process.env.ROUTE;
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3, 'X-Route': route });
    res.end('ok\\n');
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
`;
writeFileSync(join(work, 'backend.cjs'), backendSrc);

const ports = { first: await freePort(), second: await freePort() };
if (METHOD === 'pinned' && which('nginx')) {
  // Members that cost little: one nginx process answering from memory, on the load CPU.
  writeFileSync(
    join(work, 'members.conf'),
    `worker_processes 1;
daemon off;
pid ${work}/members.pid;
error_log ${work}/members-error.log error;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  client_body_temp_path ${work}/members-body;
${Object.entries(ports)
  .map(([route, port]) => `  server { listen 127.0.0.1:${port}; location / { add_header X-Route ${route}; default_type text/plain; return 200 "ok\\n"; } }`)
  .join('\n')}
}
`,
  );
  start(which('nginx'), ['-c', join(work, 'members.conf'), '-p', work], {}, LOAD_CPUS);
} else {
  for (const [route, port] of Object.entries(ports)) start(process.execPath, [join(work, 'backend.cjs')], { ROUTE: route, PORT: String(port) }, LOAD_CPUS);
}
await waitHttp(ports.first);
await waitHttp(ports.second);

// ---- Proxies ----
const proxies = [];

// stickylb on each HTTP/1.1 engine: node:http, and the lean engine of src/proxy/h1; and the lean
// engine in worker processes.
// `--baseline-bin PATH` adds another build of stickylb (its bin/stickylb.js), lean engine, to
// compare two versions in one run.
for (const [name, engine, workers, bin] of [
  ['stickylb', 'node', 0, STICKYLB_BIN],
  ['stickylb-lean', 'lean', 0, STICKYLB_BIN],
  ...(opt['baseline-bin'] ? [['stickylb-baseline', 'lean', 0, opt['baseline-bin']]] : []),
  ['stickylb-workers', 'lean', WORKERS, STICKYLB_BIN],
]) {
proxies.push({
  name,
  async start(port) {
    const cfg = join(work, `${name}.yaml`);
    writeFileSync(
      cfg,
      [
        `listen: ["127.0.0.1:${port}"]`,
        `engine: ${engine}`,
        ...(workers ? [`workers: ${workers}`] : []),
        'errorLog: { level: error }',
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
    const env = opt.probe || opt['probe-alloc'] ? { STICKYLB_BENCH_PROBE: probeDir, STICKYLB_BENCH_ALLOC: opt['probe-alloc'] ? '1' : '', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${join(root, 'scripts/bench-probe.mjs')}` } : {};
    return start(process.execPath, [...NODE_FLAGS, bin, 'run', '-c', cfg], env, workers ? undefined : PROXY_CPUS);
  },
});
}

for (const [name, threads] of [
  ['haproxy', 1],
  ['haproxy-workers', WORKERS],
]) {
if (which('haproxy')) {
  proxies.push({
    name,
    async start(port) {
      const cfg = join(work, `${name}.cfg`);
      writeFileSync(
        cfg,
        `global
  nbthread ${threads}
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance roundrobin
  use-server first if { req.cook(_s) -m end .first }
  use-server second if { req.cook(_s) -m end .second }
  server first 127.0.0.1:${ports.first}
  server second 127.0.0.1:${ports.second}
`,
      );
      return start(which('haproxy'), ['-f', cfg, '-db'], {}, threads > 1 ? undefined : PROXY_CPUS);
    },
  });
}
}

for (const [name, processes] of [
  ['nginx', 1],
  ['nginx-workers', WORKERS],
]) {
if (which('nginx')) {
  proxies.push({
    name,
    async start(port) {
      const cfg = join(work, `${name}.conf`);
      writeFileSync(
        cfg,
        `worker_processes ${processes};
daemon off;
master_process on;
pid ${work}/${name}.pid;
error_log ${work}/nginx-error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${work}/nginx-body;
  proxy_temp_path ${work}/nginx-proxy;
  upstream first { server 127.0.0.1:${ports.first}; keepalive 64; }
  upstream second { server 127.0.0.1:${ports.second}; keepalive 64; }
  upstream pool { server 127.0.0.1:${ports.first}; server 127.0.0.1:${ports.second}; keepalive 64; }
  map $cookie__s $sticky { ~\\.first$ first; ~\\.second$ second; default pool; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://$sticky;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
      );
      return start(which('nginx'), ['-c', cfg, '-p', work], {}, processes > 1 ? undefined : PROXY_CPUS);
    },
  });
}
}

if (which('apache2') && existsSync('/usr/lib/apache2/modules/mod_proxy_balancer.so')) {
  proxies.push({
    name: 'apache',
    async start(port) {
      const mods = ['mpm_event', 'authz_core', 'proxy', 'proxy_http', 'proxy_balancer', 'slotmem_shm', 'lbmethod_byrequests'];
      const cfg = join(work, 'apache.conf');
      writeFileSync(
        cfg,
        `${mods.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`).join('\n')}
ServerRoot ${work}
PidFile ${work}/apache.pid
ErrorLog ${work}/apache-error.log
LogLevel error
Listen 127.0.0.1:${port}
ServerName bench
User www-data
Group www-data
StartServers 1
ServerLimit 1
ThreadsPerChild 64
MaxRequestWorkers 64
KeepAlive On
MaxKeepAliveRequests 0
<Proxy balancer://c>
  BalancerMember http://127.0.0.1:${ports.first} route=first
  BalancerMember http://127.0.0.1:${ports.second} route=second
</Proxy>
ProxyPass / balancer://c/ stickysession=_s|_s nofailover=On
`,
      );
      return start(which('apache2'), ['-f', cfg, '-DFOREGROUND'], { APACHE_RUN_DIR: work, APACHE_LOCK_DIR: work, APACHE_LOG_DIR: work }, PROXY_CPUS);
    },
  });
}

function fmt(n, d = 1) {
  return Number.isFinite(n) ? n.toFixed(d) : '-';
}

const results = [];
const openResults = [];
let httpsResults = [];

/** Ends the probe's recording and reads what each stickylb process wrote. */
async function readProbe() {
  writeFileSync(join(probeDir, 'stop'), '');
  const deadline = Date.now() + 3000;
  let files = [];
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    files = readdirSync(probeDir).filter((f) => f.startsWith('probe-'));
    if (files.length) break;
  }
  await new Promise((r) => setTimeout(r, 250));
  files = readdirSync(probeDir).filter((f) => f.startsWith('probe-'));
  const out = files.map((f) => JSON.parse(readFileSync(join(probeDir, f), 'utf8')));
  rmSync(probeDir, { recursive: true, force: true });
  return out;
}
try {
  // Direct to a backend, for reference (its CPU is the backend's, not a proxy's).
  if (!only || only.has('direct')) {
    const r = await wrk(ports.first, []);
    results.push({ name: 'direct (no proxy)', ...r, cpuUs: NaN });
  }
  for (const p of proxies) {
    // `--only stickylb` runs both engines.
    if (only && !only.has(p.name) && !(p.name.startsWith('stickylb-') && p.name !== 'stickylb-workers' && only.has('stickylb'))) continue;
    const port = await freePort();
    const child = await p.start(port);
    try {
      await waitHttp(port, '/', 60_000);
    } catch (e) {
      console.error(`${p.name}: did not start: ${child.errText?.().trim() || e.message}`);
      continue;
    }
    const scenarios = p.name.startsWith('stickylb') && !only?.has('stickylb-workers') ? [['sticky cookie', ['Cookie: _s=abc123.first']], ['no session', []]] : [['sticky cookie', ['Cookie: _s=abc123.first']]];
    const n = Number(opt['idle-connections']);
    const probing = (opt.probe || opt['probe-alloc']) && p.name.startsWith('stickylb');
    for (const [label, headers] of scenarios) {
      await wrk(port, headers).catch(() => undefined); // warm-up (JIT, pools), not measured
      const speed0 = PROXY_CPUS ? await calibrate(PROXY_CPUS) : NaN;
      if (probing) {
        mkdirSync(probeDir, { recursive: true });
        writeFileSync(join(probeDir, 'start'), '');
      }
      const pids = tree(child.pid);
      const cpu0 = cpuSeconds(pids);
      const r = await wrk(port, headers);
      const cpu1 = cpuSeconds(tree(child.pid));
      const probe = probing ? await readProbe() : undefined;
      const speed1 = PROXY_CPUS ? await calibrate(PROXY_CPUS) : NaN;
      results.push({ name: `${p.name} (${label})`, ...r, cpuUs: r.requests ? ((cpu1 - cpu0) / r.requests) * 1e6 : NaN, nsPerIter: (speed0 + speed1) / 2, probe });
    }
    // The same offered load to every proxy (sticky cookie): latency at equal load.
    if (!p.name.endsWith('-workers') && p.name !== 'stickylb' && p.name !== 'stickylb-baseline' && p.name !== 'apache') {
      for (const rate of OPEN_LOOP) {
        const headers = ['Cookie: _s=abc123.first'];
        const cpu0 = cpuSeconds(tree(child.pid));
        const r = await openLoop(port, headers, rate).catch((e) => ({ rate, error: e.message }));
        const cpu1 = cpuSeconds(tree(child.pid));
        openResults.push({ name: p.name, ...r, cpuUs: r.requests ? ((cpu1 - cpu0) / r.requests) * 1e6 : NaN });
      }
    }
    if (p.name.startsWith('stickylb') && n > 0) {
      const socks = await idleConnections(port, n);
      const rss = rssMb(tree(child.pid));
      for (const s of socks) s.destroy();
      results.push({ name: `${p.name} RSS with ${n} open keep-alive connections`, rss });
    }
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  // HTTPS: stickylb, HAProxy and nginx terminating TLS (scripts/bench-https.mjs).
  if (!only || only.has('https')) {
    httpsResults = await httpsScenarios({ start, tree, cpuSeconds, rssMb, freePort, which, ports, work, STICKYLB_BIN, duration: DURATION, connections: CONNS, idle: Number(opt['idle-connections']), proxyCpus: PROXY_CPUS, loadCpus: LOAD_CPUS });
  }
} finally {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

const base = results.find((r) => r.name.startsWith('haproxy (sticky'));
// CPU speed: each run's CPU per request is scaled to the fastest calibration of this run
// (adjusted = measured × fastest ns per iteration / this run's ns per iteration).
const fastest = Math.min(...results.map((r) => r.nsPerIter).filter(Number.isFinite));
const adjusted = (r) => (Number.isFinite(r.nsPerIter) ? (r.cpuUs * fastest) / r.nsPerIter : r.cpuUs);
const members = METHOD === 'pinned' && which('nginx') ? 'nginx members' : 'Node.js members';
console.log(`\nstickylb benchmark, ${METHOD === 'pinned' ? `pinned method: proxy alone on CPU ${PROXY_CPUS}, wrk and ${members} on CPU ${LOAD_CPUS}` : `shared method: proxy, wrk and ${members} on every CPU`}; ${DURATION}s per run, ${CONNS} connections, wrk -t1; node ${process.version}; ${new Date().toISOString()}`);
if (Number.isFinite(fastest)) console.log(`CPU ${PROXY_CPUS} speed: fastest calibration ${fmt(fastest, 3)} ns per iteration; "adj." is CPU per request at that speed.`);
console.log('| setup | req/s | p50 ms | p99 ms | max ms | proxy CPU µs/req | adj. µs/req | CPU vs HAProxy | p99 vs HAProxy | max vs HAProxy | errors |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of results) {
  if (r.rss !== undefined) continue;
  const cpuRatio = base && Number.isFinite(r.cpuUs) ? `${fmt(adjusted(r) / adjusted(base), 2)}×` : '-';
  const p99Ratio = base && r.p99 ? `${fmt(r.p99 / base.p99, 2)}×` : '-';
  const maxRatio = base && r.max ? `${fmt(r.max / base.max, 2)}×` : '-';
  console.log(`| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 2)} | ${fmt(r.cpuUs)} | ${fmt(adjusted(r))} | ${cpuRatio} | ${p99Ratio} | ${maxRatio} | ${r.non2xx ? `${r.non2xx} non-2xx` : ''}${r.errors ? ` ${r.errors}` : ''} |`);
}
if (openResults.length) {
  console.log(`\nopen loop (h2load --h1 --rps, ${CONNS} connections, sticky cookie): latency at the same offered load`);
  console.log('| offered req/s | setup | answered req/s | p50 ms | p99 ms | p99.9 ms | max ms | proxy CPU µs/req | p99 vs HAProxy | p99.9 vs HAProxy | failed |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of openResults) {
    const b = openResults.find((x) => x.name === 'haproxy' && x.rate === r.rate);
    const ratio = (k) => (b && Number.isFinite(r[k]) && b[k] ? `${fmt(r[k] / b[k], 2)}×` : '-');
    console.log(`| ${r.rate} | ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.p999, 2)} | ${fmt(r.max, 2)} | ${fmt(r.cpuUs)} | ${ratio('p99')} | ${ratio('p999')} | ${r.error ?? (r.failed || '')} |`);
  }
}
for (const r of results) {
  if (!r.probe?.length) continue;
  console.log(`\n${r.name}: inside stickylb during the measured run`);
  for (const pr of r.probe) {
    const kinds = Object.entries(pr.gc.byKind).map(([k, v]) => `${k} ${v.count}× (total ${fmt(v.totalMs)} ms, max ${fmt(v.maxMs, 2)} ms, >1 ms ${v.over1ms}, >5 ms ${v.over5ms})`).join('; ');
    if (pr.allocation) {
      console.log(`  pid ${pr.pid}: ${fmt(pr.allocation.totalBytes / r.requests, 0)} bytes allocated per request (sampled); where:`);
      for (const [site, bytes] of pr.allocation.top.slice(0, 30)) console.log(`    ${fmt(bytes / r.requests, 0).padStart(6)} B/req  ${site}`);
    }
    console.log(`  pid ${pr.pid}: event-loop delay p50 ${fmt(pr.eventLoopDelayMs.p50, 2)} / p99 ${fmt(pr.eventLoopDelayMs.p99, 2)} / p99.9 ${fmt(pr.eventLoopDelayMs.p999, 2)} / max ${fmt(pr.eventLoopDelayMs.max, 2)} ms; GC ${fmt(pr.gc.totalMs)} ms of ${fmt(pr.cpuMs)} ms CPU: ${kinds || 'none'}; heap ${fmt(pr.heapUsedAtStartMb)} → ${fmt(pr.heapUsedMb)} MB`);
  }
}
for (const r of results) if (r.rss !== undefined) console.log(`\n${r.name}: ${fmt(r.rss)} MB`);
printHttps(httpsResults, fmt);
// The workers scenario: CPU per request against stickylb in one process and against HAProxy with
// as many threads; requests per CPU-second is the throughput one core would give.
const sticky = (n) => results.find((r) => r.name === `${n} (sticky cookie)`);
const w = sticky('stickylb-workers');
if (w) {
  const one = sticky('stickylb-lean');
  const hw = sticky('haproxy-workers');
  console.log(`\nworkers scenario (${WORKERS} workers / threads, sticky cookie):`);
  console.log('| setup | req/s | proxy CPU µs/req | req per CPU-second | CPU vs stickylb 1 process | CPU vs HAProxy nbthread ' + WORKERS + ' |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of [one, w, hw, sticky('nginx-workers')].filter(Boolean)) {
    console.log(`| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.cpuUs)} | ${fmt(1e6 / r.cpuUs, 0)} | ${one ? `${fmt(r.cpuUs / one.cpuUs, 2)}×` : '-'} | ${hw ? `${fmt(r.cpuUs / hw.cpuUs, 2)}×` : '-'} |`);
  }
}
try {
  execFileSync('rm', ['-rf', work]);
} catch {
  /* leave it */
}
