#!/usr/bin/env node
// Benchmark: the same sticky routing through stickylb, and (when installed) HAProxy, nginx and
// Apache mod_proxy_balancer, in one run, against the same two backends; prints req/s, p50/p99
// latency and proxy CPU time per request, with ratios. Never part of `npm test`.
//
// Usage: npm run bench [-- --duration 10 --connections 50 --only stickylb,haproxy]
// (`stickylb` runs both engines; `stickylb-lean` only the lean one; `workers` the workers
// scenario: stickylb with 2 worker processes, HAProxy with nbthread 2, nginx with 2 workers, and
// stickylb in one process for comparison.) STICKYLB_BIN runs another build of the command.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
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
  },
});
const WORKERS = Number(opt.workers);
const STICKYLB_BIN = process.env.STICKYLB_BIN ?? join(root, 'bin/stickylb.js');
const DURATION = Number(opt.duration);
const CONNS = Number(opt.connections);
const only = opt.only ? new Set(opt.only.split(',').flatMap((n) => (n === 'workers' ? ['stickylb-lean', `stickylb-workers`, 'haproxy-workers', 'nginx-workers'] : [n]))) : undefined;
const work = mkdtempSync(join(tmpdir(), 'stickylb-bench-'));
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

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, detached: true });
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

async function wrk(port, headers) {
  const args = ['-t1', `-c${CONNS}`, `-d${DURATION}s`, '--latency'];
  for (const h of headers) args.push('-H', h);
  args.push(`http://127.0.0.1:${port}/`);
  const out = await new Promise((resolve, reject) => {
    const c = spawn('wrk', args);
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
  return { requests, rps, p50, p99, non2xx, errors };
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
for (const [route, port] of Object.entries(ports)) start(process.execPath, [join(work, 'backend.cjs')], { ROUTE: route, PORT: String(port) });
await waitHttp(ports.first);
await waitHttp(ports.second);

// ---- Proxies ----
const proxies = [];

// stickylb on each HTTP/1.1 engine: node:http, and the lean engine of src/proxy/h1; and the lean
// engine in worker processes.
for (const [name, engine, workers] of [
  ['stickylb', 'node', 0],
  ['stickylb-lean', 'lean', 0],
  ['stickylb-workers', 'lean', WORKERS],
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
    return start(process.execPath, [STICKYLB_BIN, 'run', '-c', cfg]);
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
      return start(which('haproxy'), ['-f', cfg, '-db']);
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
      return start(which('nginx'), ['-c', cfg, '-p', work]);
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
      return start(which('apache2'), ['-f', cfg, '-DFOREGROUND'], { APACHE_RUN_DIR: work, APACHE_LOCK_DIR: work, APACHE_LOG_DIR: work });
    },
  });
}

function fmt(n, d = 1) {
  return Number.isFinite(n) ? n.toFixed(d) : '-';
}

const results = [];
let httpsResults = [];
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
    for (const [label, headers] of scenarios) {
      await wrk(port, headers).catch(() => undefined); // warm-up (JIT, pools), not measured
      const pids = tree(child.pid);
      const cpu0 = cpuSeconds(pids);
      const r = await wrk(port, headers);
      const cpu1 = cpuSeconds(tree(child.pid));
      results.push({ name: `${p.name} (${label})`, ...r, cpuUs: r.requests ? ((cpu1 - cpu0) / r.requests) * 1e6 : NaN });
    }
    if (p.name.startsWith('stickylb')) {
      const n = Number(opt['idle-connections']);
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
    httpsResults = await httpsScenarios({ start, tree, cpuSeconds, rssMb, freePort, which, ports, work, STICKYLB_BIN, duration: DURATION, connections: CONNS, idle: Number(opt['idle-connections']) });
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
console.log(`\nstickylb benchmark: ${DURATION}s per run, ${CONNS} connections, wrk -t1; node ${process.version}; ${new Date().toISOString()}`);
console.log('| setup | req/s | p50 ms | p99 ms | proxy CPU µs/req | CPU vs HAProxy | p99 vs HAProxy | errors |');
console.log('|---|---:|---:|---:|---:|---:|---:|---|');
for (const r of results) {
  if (r.rss !== undefined) continue;
  const cpuRatio = base && Number.isFinite(r.cpuUs) ? `${fmt(r.cpuUs / base.cpuUs, 2)}×` : '-';
  const p99Ratio = base && r.p99 ? `${fmt(r.p99 / base.p99, 2)}×` : '-';
  console.log(`| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuUs)} | ${cpuRatio} | ${p99Ratio} | ${r.non2xx ? `${r.non2xx} non-2xx` : ''}${r.errors ? ` ${r.errors}` : ''} |`);
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
