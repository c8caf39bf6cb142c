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
// Scenarios that measure a group of settings (part of a full run, or alone with `--only`): `edge`
// runs stickylb (lean), HAProxy and nginx each without and with the settings of an edge proxy
// (trusted proxies and the client address from X-Forwarded-For, an access rule on the proxied
// path, a per-address rate limit that is never reached, a per-address connection limit above the
// connection count), the requests coming through a chain of two proxies, and prints what the
// settings cost per request; `fleet` runs stickylb (lean) without `fleet:`, with it (on a
// redis-server the bench starts, on the load CPU), and without it again: the two runs without it
// are an A/A control, whose difference is the noise of the same run, printed beside on − off.
// `--list` prints the setups each round would run, in order, and exits without running any.
// Each stickylb setup ends with its RSS with `--idle-connections` (1,000) open keep-alive
// connections, read right after the load and again after `--settle` seconds (20) of quiet.
// `node-floor` (scripts/bench-floor.mjs) is the floor of Node.js: bytes copied between a client
// and a member connection, nothing parsed or routed.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { httpsScenarios, printHttps } from './bench-https.mjs';
import { membersNginxConf } from './bench-members.mjs';
import { haproxyCfg, nginxConf } from './bench-proxies.mjs';

const root = new URL('..', import.meta.url).pathname;
const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    'idle-connections': { type: 'string', default: '1000' },
    // RSS is read right after the load and again once the connections have been idle this long
    // (a balancer gives back what the load grew once it is quiet: src/util/idle-memory.ts).
    settle: { type: 'string', default: '20' },
    workers: { type: 'string', default: '2' },
    method: { type: 'string', default: 'pinned' },
    'open-loop': { type: 'string' },
    probe: { type: 'boolean', default: false },
    'probe-alloc': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    'baseline-bin': { type: 'string' },
    repeat: { type: 'string', default: '1' },
    list: { type: 'boolean', default: false },
  },
});
const METHOD = opt.method;
if (METHOD !== 'pinned' && METHOD !== 'shared') throw new Error('--method: pinned or shared');
// CPU placement: the proxy alone on CPU 1, everything else on CPU 0 (pinned method).
const PROXY_CPUS = METHOD === 'pinned' ? '1' : undefined;
const LOAD_CPUS = METHOD === 'pinned' ? '0' : undefined;
const OPEN_LOOP = (opt['open-loop'] ?? (METHOD === 'pinned' ? '5000,10000' : 'none')).split(',').filter((r) => r !== 'none').map(Number);
const NODE_FLAGS = opt['node-flags'].split(' ').filter(Boolean);
const WORKERS = Number(opt.workers);
const REPEAT = Math.max(1, Number(opt.repeat));
const STICKYLB_BIN = process.env.STICKYLB_BIN ?? join(root, 'bin/stickylb.js');
const DURATION = Number(opt.duration);
const CONNS = Number(opt.connections);
const only = opt.only ? new Set(opt.only.split(',').flatMap((n) => (n === 'workers' ? ['stickylb-lean', 'stickylb-workers-1', 'stickylb-workers', 'haproxy-workers', 'nginx-workers'] : [n]))) : undefined;
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
if (opt.list) {
  // Nothing is started: only the setups are listed (below).
} else if (METHOD === 'pinned' && which('nginx')) {
  // Members that cost little: one nginx process answering from memory, on the load CPU.
  writeFileSync(join(work, 'members.conf'), membersNginxConf(work, ports, 8192));
  start(which('nginx'), ['-c', join(work, 'members.conf'), '-p', work], {}, LOAD_CPUS);
} else {
  for (const [route, port] of Object.entries(ports)) start(process.execPath, [join(work, 'backend.cjs')], { ROUTE: route, PORT: String(port) }, LOAD_CPUS);
}
if (!opt.list) {
  await waitHttp(ports.first);
  await waitHttp(ports.second);
}

// ---- Proxies ----
const proxies = [];

/** stickylb's YAML config: the sticky balancer every setup shares, with `extra` top-level lines. */
function stickylbYaml(port, { engine = 'lean', workers = 0, extra = [], baseline = false, listen = `["127.0.0.1:${port}"]` } = {}) {
  return [
    `listen: ${listen}`,
    `engine: ${engine}`,
    ...(workers ? [`workers: ${workers}`] : []),
    'errorLog: { level: error }',
    // Every proxy keeps client connections open for the whole run (HAProxy's default; nginx is
    // given keepalive_requests to match), so that CPU per request counts no reconnections.
    // (A baseline build may predate the setting; it had no limit then.)
    ...(baseline ? [] : ['maxKeepAliveRequests: 0']),
    ...extra,
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
  ].join('\n');
}

/** Writes `name`.yaml and starts stickylb on it (pinned to the proxy CPU unless it has workers). */
function startStickylb(name, port, { bin = STICKYLB_BIN, ...o } = {}) {
  const cfg = join(work, `${name}.yaml`);
  writeFileSync(cfg, stickylbYaml(port, o));
  const env = opt.probe || opt['probe-alloc'] ? { STICKYLB_BENCH_PROBE: probeDir, STICKYLB_BENCH_ALLOC: opt['probe-alloc'] ? '1' : '', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${join(root, 'scripts/bench-probe.mjs')}` } : {};
  return start(process.execPath, [...NODE_FLAGS, bin, 'run', '-c', cfg], env, o.workers ? undefined : PROXY_CPUS);
}

// stickylb on each HTTP/1.1 engine: node:http, and the lean engine of src/proxy/h1; and the lean
// engine in worker processes.
// `--baseline-bin PATH` adds another build of stickylb (its bin/stickylb.js), lean engine, to
// compare two versions in one run.
for (const [name, engine, workers, bin] of [
  ['stickylb', 'node', 0, STICKYLB_BIN],
  ['stickylb-lean', 'lean', 0, STICKYLB_BIN],
  ...(opt['baseline-bin'] ? [['stickylb-baseline', 'lean', 0, opt['baseline-bin']]] : []),
  ['stickylb-workers', 'lean', WORKERS, STICKYLB_BIN],
  // One worker under the same conditions as the workers setup (owner + 1 worker, every process on
  // every CPU with the load): what "CPU per request with N workers vs 1" compares against.
  ['stickylb-workers-1', 'lean', 1, STICKYLB_BIN],
]) {
  proxies.push({ name, start: (port) => startStickylb(name, port, { engine, workers, bin, baseline: name === 'stickylb-baseline' }) });
}

function startHaproxy(name, port, threads, frontend = []) {
  const cfg = join(work, `${name}.cfg`);
  writeFileSync(cfg, haproxyCfg({ port, threads, ports, frontend }));
  return start(which('haproxy'), ['-f', cfg, '-db'], {}, threads > 1 ? undefined : PROXY_CPUS);
}

function startNginx(name, port, processes, extra = {}) {
  const cfg = join(work, `${name}.conf`);
  writeFileSync(cfg, nginxConf({ work, name, port, processes, ports, ...extra }));
  return start(which('nginx'), ['-c', cfg, '-p', work], {}, processes > 1 ? undefined : PROXY_CPUS);
}

for (const [name, threads] of [
  ['haproxy', 1],
  ['haproxy-workers', WORKERS],
]) {
  if (which('haproxy')) proxies.push({ name, start: (port) => startHaproxy(name, port, threads) });
}

for (const [name, processes] of [
  ['nginx', 1],
  ['nginx-workers', WORKERS],
]) {
  if (which('nginx')) proxies.push({ name, start: (port) => startNginx(name, port, processes) });
}

// The floor of Node.js itself (scripts/bench-floor.mjs): bytes copied between a client and a
// member connection, nothing parsed or routed. Its CPU per request is what Node's sockets cost,
// which no proxy on Node can go under.
proxies.push({ name: 'node-floor', start: (port) => start(process.execPath, [join(root, 'scripts/bench-floor.mjs'), String(port), String(ports.first)], {}, PROXY_CPUS) });

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

// ---- Scenarios: a proxy with and without a group of settings, measured one after the other ----

/** The status of one request with `headers`. */
function statusOf(port, headers) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, headers: Object.fromEntries(headers.map((h) => h.split(/:\s*/, 2))) }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', (e) => resolve(e.code));
  });
}

// The edge scenario: every request comes from the client 203.0.113.9 through two proxies, 10.1.2.3
// and the peer 127.0.0.1, which every proxy is told to trust; each must find the client, allow
// it, count its requests and its connections. "Off" is the same proxy and requests without them.
const COOKIE_HEADER = 'Cookie: _s=abc123.first';
const EDGE_HEADERS = [COOKIE_HEADER, 'X-Forwarded-For: 203.0.113.9, 10.1.2.3'];
// A client outside the allowed networks, through the same proxies: 403 with the settings on.
const OUTSIDER_HEADERS = [COOKIE_HEADER, 'X-Forwarded-For: 192.0.2.7, 10.1.2.3'];
const EDGE_TRUSTED = ['127.0.0.0/8', '10.0.0.0/8'];
const EDGE_ALLOWED = ['198.51.100.0/24', '203.0.113.0/24'];
const EDGE_RATE = 1e9; // requests per client address per minute: never reached
const EDGE_CONNS = CONNS * 2 + 100; // connections per client address: above what the load opens

const edgeOn = {
  stickylb: (name, port) =>
    startStickylb(name, port, {
      extra: [
        `remoteIp: { header: X-Forwarded-For, internalProxies: [${EDGE_TRUSTED.join(', ')}] }`,
        `access: [{ path: /, allow: [${EDGE_ALLOWED.join(', ')}] }]`,
        `rateLimits: [{ requests: ${EDGE_RATE}, window: 1m }]`,
        `maxConnectionsPerClient: ${EDGE_CONNS}`,
      ],
    }),
  // The client address from the header's last two entries, each only when the hop that gave it is
  // trusted (mod_remoteip's walk for a chain of two); connections counted by peer address.
  haproxy: (name, port) =>
    startHaproxy(name, port, 1, [
      'stick-table type ip size 100k expire 60s store conn_cur,http_req_rate(60s)',
      'tcp-request connection track-sc0 src',
      `tcp-request connection reject if { sc0_conn_cur gt ${EDGE_CONNS} }`,
      `acl trusted src ${EDGE_TRUSTED.join(' ')}`,
      'option forwardfor',
      'http-request set-src hdr_ip(x-forwarded-for,-1) if trusted',
      'http-request set-src hdr_ip(x-forwarded-for,-2) if trusted',
      `http-request deny unless { src ${EDGE_ALLOWED.join(' ')} }`,
      'http-request track-sc1 src',
      `http-request deny deny_status 429 if { sc1_http_req_rate gt ${EDGE_RATE} }`,
    ]),
  nginx: (name, port) =>
    startNginx(name, port, 1, {
      http: [
        ...EDGE_TRUSTED.map((n) => `set_real_ip_from ${n};`),
        'real_ip_header X-Forwarded-For;',
        'real_ip_recursive on;',
        `limit_req_zone $binary_remote_addr zone=perclient:10m rate=${EDGE_RATE}r/m;`,
        'limit_conn_zone $binary_remote_addr zone=connperclient:10m;',
      ],
      location: [
        ...EDGE_ALLOWED.map((n) => `allow ${n};`),
        'deny all;',
        'limit_req zone=perclient burst=1000000 nodelay;',
        `limit_conn connperclient ${EDGE_CONNS};`,
        'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      ],
    }),
};
const edgeOff = {
  stickylb: (name, port) => startStickylb(name, port),
  haproxy: (name, port) => startHaproxy(name, port, 1),
  nginx: (name, port) => startNginx(name, port, 1),
};
for (const proxy of ['stickylb', 'haproxy', 'nginx'].filter((p) => p === 'stickylb' || which(p))) {
  for (const variant of ['off', 'on']) {
    const name = `${proxy}-edge-${variant}`;
    const startIt = variant === 'on' ? edgeOn[proxy] : edgeOff[proxy];
    proxies.push({ name, group: 'edge', proxy, variant, headers: EDGE_HEADERS, start: (port) => startIt(name, port), check: (port) => statusOf(port, OUTSIDER_HEADERS) });
  }
}

// The fleet scenario: stickylb with `fleet:` on a redis-server started for the run (on the load
// CPU), and the same config without it.
let redisPort;
function redisCli(...args) {
  return execFileSync('redis-cli', ['-p', String(redisPort), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

async function startRedis() {
  if (redisPort) return redisPort;
  redisPort = await freePort();
  start(which('redis-server'), ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work], {}, LOAD_CPUS);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      if (redisCli('ping') === 'PONG') return redisPort;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer on port ${redisPort}`);
}

/** Commands Redis has processed so far (each call counts itself too). */
const redisCommands = () => Number(/total_commands_processed:(\d+)/.exec(redisCli('info', 'stats'))?.[1] ?? NaN);

// Three setups, run one after the other in each round: off, on, and off again (the A/A control:
// the same setup as the first, so their difference is what the machine alone does to a figure).
// Every other round of --repeat runs them in the reverse order, as every setup. Redis runs for all
// three (started with the first), so that the setups differ only in stickylb's config.
if (which('redis-server')) {
  for (const variant of ['off', 'on', 'off-again']) {
    const name = `stickylb-fleet-${variant}`;
    proxies.push({
      name,
      group: 'fleet',
      proxy: 'stickylb',
      variant,
      headers: [COOKIE_HEADER],
      start: async (port) => {
        const redis = await startRedis();
        return startStickylb(name, port, variant === 'on' ? { extra: [`fleet: { redis: "redis://127.0.0.1:${redis}", name: bench }`] } : {});
      },
      counter: redisCommands,
      // The balancers that have sent a heartbeat to the fleet's Redis (and not left it).
      ...(variant === 'on' ? { check: async () => Number(redisCli('hlen', 'stickylb:bench:balancers')) } : {}),
    });
  }
}

function fmt(n, d = 1) {
  return Number.isFinite(n) ? n.toFixed(d) : '-';
}

/** Whether `--only` asks for `p`: by name, its scenario (edge, fleet), or `stickylb` for both engines. */
function selected(p) {
  if (p.group) return !only || only.has(p.group);
  if (!only) return true;
  return only.has(p.name) || (p.name.startsWith('stickylb-') && !p.name.startsWith('stickylb-workers') && only.has('stickylb'));
}

/** The setups of one round of --repeat, in the order they run (every other round reversed). */
const roundOrder = (round) => (round % 2 ? [...proxies].reverse() : proxies).filter(selected);

if (opt.list) {
  for (let round = 0; round < REPEAT; round++) console.log(`round ${round + 1}: ${roundOrder(round).map((p) => p.name).join(', ')}`);
  if (!only || only.has('https')) console.log('then the HTTPS scenarios (scripts/bench-https.mjs), each round');
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
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
  // `--repeat N`: N rounds, each running every selected proxy once, so that a noisy stretch of
  // the machine falls on all of them; the tables give each figure's median over the rounds.
  // Every other round runs the setups in reverse order, so that none always runs first or last.
  for (let round = 0; round < REPEAT; round++)
  for (const p of roundOrder(round)) {
    const port = await freePort();
    const child = await p.start(port);
    try {
      await waitHttp(port, '/', 60_000);
    } catch (e) {
      console.error(`${p.name}: did not start: ${child.errText?.().trim() || e.message}`);
      continue;
    }
    const scenarios = p.group ? [[p.variant, p.headers]] : p.name.startsWith('stickylb') && !only?.has('stickylb-workers') ? [['sticky cookie', ['Cookie: _s=abc123.first']], ['no session', []]] : [['sticky cookie', ['Cookie: _s=abc123.first']]];
    const n = Number(opt['idle-connections']);
    const probing = (opt.probe || opt['probe-alloc']) && p.name.startsWith('stickylb');
    for (const [label, headers] of scenarios) {
      await wrk(port, headers).catch(() => undefined); // warm-up (JIT, pools), not measured
      const speed0 = PROXY_CPUS ? await calibrate(PROXY_CPUS) : NaN;
      if (probing) {
        mkdirSync(probeDir, { recursive: true });
        writeFileSync(join(probeDir, 'start'), '');
      }
      const count0 = p.counter?.();
      const pids = tree(child.pid);
      const cpu0 = cpuSeconds(pids);
      const r = await wrk(port, headers);
      const cpu1 = cpuSeconds(tree(child.pid));
      const counted = p.counter ? p.counter() - count0 : undefined;
      const probe = probing ? await readProbe() : undefined;
      const speed1 = PROXY_CPUS ? await calibrate(PROXY_CPUS) : NaN;
      const check = p.check ? await p.check(port) : undefined;
      const { group, proxy, variant } = p;
      results.push({ name: p.group ? p.name : `${p.name} (${label})`, ...r, cpuUs: r.requests ? ((cpu1 - cpu0) / r.requests) * 1e6 : NaN, nsPerIter: (speed0 + speed1) / 2, probe, group, proxy, variant, counted, check, round });
    }
    // The same offered load to every proxy (sticky cookie): latency at equal load.
    if (!p.group && !p.name.includes('-workers') && p.name !== 'stickylb' && p.name !== 'stickylb-baseline' && p.name !== 'apache') {
      for (const rate of OPEN_LOOP) {
        const headers = ['Cookie: _s=abc123.first'];
        const cpu0 = cpuSeconds(tree(child.pid));
        const r = await openLoop(port, headers, rate).catch((e) => ({ rate, error: e.message }));
        const cpu1 = cpuSeconds(tree(child.pid));
        openResults.push({ name: p.name, ...r, cpuUs: r.requests ? ((cpu1 - cpu0) / r.requests) * 1e6 : NaN });
      }
    }
    if (!p.group && p.name.startsWith('stickylb') && n > 0) {
      const socks = await idleConnections(port, n);
      const rss = rssMb(tree(child.pid));
      results.push({ name: `${p.name} RSS with ${n} open keep-alive connections, right after the load`, rss });
      const settle = Number(opt.settle);
      if (settle > 0) {
        await new Promise((r) => setTimeout(r, settle * 1000));
        results.push({ name: `${p.name} RSS with ${n} open keep-alive connections, idle for ${settle} s`, rss: rssMb(tree(child.pid)) });
      }
      for (const s of socks) s.destroy();
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
    for (let round = 0; round < REPEAT; round++) httpsResults.push(...(await httpsScenarios({ start, tree, cpuSeconds, rssMb, freePort, which, ports, work, STICKYLB_BIN, duration: DURATION, connections: CONNS, idle: Number(opt['idle-connections']), proxyCpus: PROXY_CPUS, loadCpus: LOAD_CPUS, stickylbYaml })));
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

/** The edge scenario: each proxy without and with its edge settings, and what they cost per request. */
function printEdge() {
  const of = (proxy, variant) => results.find((r) => r.group === 'edge' && r.proxy === proxy && r.variant === variant);
  const rows = ['stickylb', 'haproxy', 'nginx'].map((proxy) => [proxy, of(proxy, 'off'), of(proxy, 'on')]).filter(([, off, on]) => off || on);
  if (!rows.length) return;
  const h = { off: of('haproxy', 'off'), on: of('haproxy', 'on') };
  const vsHaproxy = (r, variant) => (r && h[variant] ? `${fmt(adjusted(r) / adjusted(h[variant]), 2)}×` : '-');
  const both = (off, on, f) => `${off ? f(off) : '-'} / ${on ? f(on) : '-'}`;
  console.log(`\nedge scenario (${CONNS} connections, sticky cookie, X-Forwarded-For: 203.0.113.9, 10.1.2.3 from the peer 127.0.0.1): "on" trusts ${EDGE_TRUSTED.join(' ')}, allows only ${EDGE_ALLOWED.join(' ')} on /, limits each client address to ${EDGE_RATE} requests a minute and ${EDGE_CONNS} connections; "off" is the same proxy without them, same requests. stickylb: lean engine.`);
  console.log('| proxy | req/s off / on | p99 ms off / on | proxy CPU µs/req off / on | adj. µs/req off | adj. µs/req on | on − off µs/req (adj.) | CPU vs HAProxy off | CPU vs HAProxy on | non-2xx off / on | a client outside (192.0.2.7): status off / on |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const [proxy, off, on] of rows) {
    const diff = off && on ? fmt(adjusted(on) - adjusted(off), 2) : '-';
    console.log(`| ${proxy} | ${both(off, on, (r) => fmt(r.rps, 0))} | ${both(off, on, (r) => fmt(r.p99, 2))} | ${both(off, on, (r) => fmt(r.cpuUs))} | ${off ? fmt(adjusted(off), 2) : '-'} | ${on ? fmt(adjusted(on), 2) : '-'} | ${diff} | ${vsHaproxy(off, 'off')} | ${vsHaproxy(on, 'on')} | ${both(off, on, (r) => `${r.non2xx}${r.errors ? ` (${r.errors})` : ''}`)} | ${both(off, on, (r) => r.check)} |`);
  }
}

/**
 * The fleet scenario: stickylb without a fleet, with one on Redis, and without one again. The two
 * runs without it are the A/A control: their difference, round by round, is the noise of this run,
 * printed beside on − off so that one can see whether the fleet's difference exceeds it.
 */
function printFleet() {
  const of = (variant) => results.find((r) => r.group === 'fleet' && r.variant === variant);
  const rows = ['off', 'on', 'off-again'].map(of).filter(Boolean);
  if (!rows.length) return;
  console.log(`\nfleet scenario (${CONNS} connections, sticky cookie): stickylb lean engine without \`fleet:\` (off), with it on a redis-server on CPU ${LOAD_CPUS ?? 'any'} (on), and without it again (off-again: the A/A control, the same setup as off); same config otherwise (with \`fleet:\` the fleet's local cache, the state file, is on by default, as users get it), Redis running for all three`);
  console.log('| setup | req/s | p99 ms | proxy CPU µs/req | adj. µs/req | non-2xx | Redis commands during the run | balancers registered in Redis |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuUs)} | ${fmt(adjusted(r), 2)} | ${r.non2xx}${r.errors ? ` (${r.errors})` : ''} | ${r.counted ?? '-'} | ${r.check ?? '-'} |`);
  }
  // Round by round (CPU per request adjusted run by run), from the runs before the medians.
  const rounds = [];
  for (let round = 0; round < REPEAT; round++) {
    const run = (variant) => fleetRuns.find((r) => r.round === round && r.variant === variant);
    const [off, on, again] = [run('off'), run('on'), run('off-again')].map((r) => (r ? adjustedRun(r) : NaN));
    if ([off, on, again].some(Number.isFinite)) rounds.push({ round, off, on, again, onOff: on - off, aa: again - off, onMean: on - (off + again) / 2 });
  }
  if (!rounds.length) return;
  const sign = (n, d = 2) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(d)}` : '-');
  console.log('\n| round | order | off µs/req | on µs/req | off-again µs/req | on − off | off-again − off (A/A: noise) | on − mean(off, off-again) |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const x of rounds) {
    console.log(`| ${x.round + 1} | ${x.round % 2 ? 'off-again, on, off' : 'off, on, off-again'} | ${fmt(x.off, 2)} | ${fmt(x.on, 2)} | ${fmt(x.again, 2)} | ${sign(x.onOff)} | ${sign(x.aa)} | ${sign(x.onMean)} |`);
  }
  const list = (k) => rounds.map((x) => sign(x[k])).join(', ');
  const aaMax = Math.max(...rounds.map((x) => Math.abs(x.aa)).filter(Number.isFinite));
  const onMean = median(rounds.map((x) => x.onMean));
  console.log(`fleet on − off: median ${sign(median(rounds.map((x) => x.onOff)))} µs/req adjusted (rounds: ${list('onOff')})`);
  console.log(`A/A control, off-again − off: median ${sign(median(rounds.map((x) => x.aa)))} µs/req adjusted (rounds: ${list('aa')}); the largest, ${fmt(aaMax, 2)} µs/req, is this run's noise`);
  if (Number.isFinite(onMean) && Number.isFinite(aaMax)) {
    const verdict = Math.abs(onMean) <= aaMax ? 'within' : 'beyond';
    const few = rounds.length < 3 ? `; only ${rounds.length} A/A difference${rounds.length > 1 ? 's' : ''}: use --repeat 4 or more for a measure of the noise` : '';
    console.log(`on − mean(off, off-again): median ${sign(onMean)} µs/req adjusted (rounds: ${list('onMean')}): ${verdict} the noise of this run (${rounds.length} rounds${few})`);
  }
}

// CPU speed: each run's CPU per request is scaled to the fastest calibration of this run
// (adjusted = measured × fastest ns per iteration / this run's ns per iteration).
const fastest = Math.min(...results.map((r) => r.nsPerIter).filter(Number.isFinite));
// Medians over the rounds of --repeat (CPU per request adjusted run by run first).
const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN;
};
function collapse(list, keyOf) {
  if (REPEAT === 1) return list;
  const groups = new Map();
  for (const r of list) groups.set(keyOf(r), [...(groups.get(keyOf(r)) ?? []), r]);
  return [...groups.values()].map((rs) => {
    const out = { ...rs[0], probe: rs.find((r) => r.probe?.length)?.probe };
    for (const k of Object.keys(rs[0])) if (typeof rs[0][k] === 'number') out[k] = median(rs.map((r) => r[k]));
    if (Number.isFinite(fastest) && rs.every((r) => Number.isFinite(r.nsPerIter))) {
      out.adjRuns = rs.map((r) => (r.cpuUs * fastest) / r.nsPerIter);
      // adjusted(out) below gives the median of the runs' adjusted figures.
      out.nsPerIter = (out.cpuUs * fastest) / median(out.adjRuns);
    }
    return out;
  });
}
// The fleet scenario compares its setups round by round (printFleet), so it keeps each run.
const fleetRuns = results.filter((r) => r.group === 'fleet');
const adjustedRun = (r) => (Number.isFinite(r.nsPerIter) && Number.isFinite(fastest) ? (r.cpuUs * fastest) / r.nsPerIter : r.cpuUs);
results.splice(0, results.length, ...collapse(results, (r) => r.name));
openResults.splice(0, openResults.length, ...collapse(openResults, (r) => `${r.name} ${r.rate}`));
httpsResults = collapse(httpsResults, (r) => `${r.proxy} | ${r.scenario}`);
if (REPEAT > 1) console.log(`\n(medians over ${REPEAT} rounds; each round ran every setup once)`);

const base = results.find((r) => r.name.startsWith('haproxy (sticky'));
const adjusted = (r) => (Number.isFinite(r.nsPerIter) ? (r.cpuUs * fastest) / r.nsPerIter : r.cpuUs);
const members = METHOD === 'pinned' && which('nginx') ? 'nginx members' : 'Node.js members';
console.log(`\nstickylb benchmark, ${METHOD === 'pinned' ? `pinned method: proxy alone on CPU ${PROXY_CPUS}, wrk and ${members} on CPU ${LOAD_CPUS}` : `shared method: proxy, wrk and ${members} on every CPU`}; ${DURATION}s per run, ${CONNS} connections, wrk -t1; node ${process.version}; ${new Date().toISOString()}`);
if (Number.isFinite(fastest)) console.log(`CPU ${PROXY_CPUS} speed: fastest calibration ${fmt(fastest, 3)} ns per iteration; "adj." is CPU per request at that speed.`);
const mainRows = results.filter((r) => r.rss === undefined && !r.group);
if (mainRows.length) {
  console.log('| setup | req/s | p50 ms | p99 ms | max ms | proxy CPU µs/req | adj. µs/req | CPU vs HAProxy | p99 vs HAProxy | max vs HAProxy | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
}
for (const r of mainRows) {
  const cpuRatio = base && Number.isFinite(r.cpuUs) ? `${fmt(adjusted(r) / adjusted(base), 2)}×` : '-';
  const p99Ratio = base && r.p99 ? `${fmt(r.p99 / base.p99, 2)}×` : '-';
  const maxRatio = base && r.max ? `${fmt(r.max / base.max, 2)}×` : '-';
  console.log(`| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 2)} | ${fmt(r.cpuUs)} | ${fmt(adjusted(r))} | ${cpuRatio} | ${p99Ratio} | ${maxRatio} | ${r.non2xx ? `${r.non2xx} non-2xx` : ''}${r.errors ? ` ${r.errors}` : ''} |`);
}
if (openResults.length) {
  console.log(`\nopen loop (h2load --h1 --rps, ${CONNS} connections, sticky cookie): latency at the same offered load`);
  // CPU per request at the same offered load compares the proxies under equal conditions. In the
  // closed loop, a proxy the load side does not keep fully busy costs more per request (fewer
  // events per epoll batch), so the ratios there move with the speed of the load CPU.
  console.log('| offered req/s | setup | answered req/s | p50 ms | p99 ms | p99.9 ms | max ms | proxy CPU µs/req | CPU vs HAProxy | p99 vs HAProxy | p99.9 vs HAProxy | failed |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of openResults) {
    const b = openResults.find((x) => x.name === 'haproxy' && x.rate === r.rate);
    const ratio = (k) => (b && Number.isFinite(r[k]) && b[k] ? `${fmt(r[k] / b[k], 2)}×` : '-');
    console.log(`| ${r.rate} | ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.p999, 2)} | ${fmt(r.max, 2)} | ${fmt(r.cpuUs)} | ${ratio('cpuUs')} | ${ratio('p99')} | ${ratio('p999')} | ${r.error ?? (r.failed || '')} |`);
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
  const w1 = sticky('stickylb-workers-1');
  const hw = sticky('haproxy-workers');
  console.log(`\nworkers scenario (${WORKERS} workers / threads, sticky cookie). The workers setups run every process on every CPU with the load; "1 process" is pinned alone to its CPU, so "vs 1 worker" (the same conditions) is the fair comparison:`);
  console.log('| setup | req/s | proxy CPU µs/req | req per CPU-second | CPU vs 1 worker | CPU vs stickylb 1 process (pinned) | CPU vs HAProxy nbthread ' + WORKERS + ' |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const ratio = (r, base) => (base ? `${fmt(r.cpuUs / base.cpuUs, 2)}×` : '-');
  for (const r of [one, w1, w, hw, sticky('nginx-workers')].filter(Boolean)) {
    console.log(`| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.cpuUs)} | ${fmt(1e6 / r.cpuUs, 0)} | ${ratio(r, w1)} | ${ratio(r, one)} | ${ratio(r, hw)} |`);
  }
}
printEdge();
printFleet();
try {
  execFileSync('rm', ['-rf', work]);
} catch {
  /* leave it */
}
