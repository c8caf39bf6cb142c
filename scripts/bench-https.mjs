// The HTTPS scenarios of `npm run bench` (run with the others, or alone with `--only https`):
// stickylb, HAProxy and nginx terminating TLS with the same ECDSA P-256 certificate and routing
// on the same sticky cookie, side by side in one run:
//   (a) HTTPS/1.1 with keep-alive (wrk),
//   (b) HTTP/2 with 10 streams per connection (h2load; p99 from its per-request log),
//   (c) a new TLS connection per request (openssl s_time), without and with session resumption,
// and stickylb's RSS with idle TLS connections open. Proxy CPU is read from /proc, per request
// (per connection for (c)), and given as a ratio to HAProxy's. `node-floor-tls` is Node's own
// floor for all three (scripts/bench-floor-tls.mjs).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { haproxyCfg, nginxConf } from './bench-proxies.mjs';

const COOKIE = '_s=abc123.first';

/** The CPUs of the load generators (bench.mjs's pinned method), set by httpsScenarios. */
let loadCpus;

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const c = loadCpus ? spawn('taskset', ['-c', loadCpus, cmd, ...args]) : spawn(cmd, args);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out.slice(-300)}`))));
  });
}

async function waitTls(port, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((r) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'bench' }, () => {
        s.end();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no TLS handshake on port ${port}`);
}

function latencyMs(s) {
  const m = /^([\d.]+)(us|ms|s)$/.exec((s ?? '').trim());
  if (!m) return NaN;
  return m[2] === 'us' ? Number(m[1]) / 1000 : m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]);
}

async function wrkHttps(port, o) {
  const out = await run('wrk', ['-t1', `-c${o.connections}`, `-d${o.duration}s`, '--latency', '-H', `Cookie: ${COOKIE}`, `https://127.0.0.1:${port}/`]);
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p99: latencyMs(/\s99%\s+(\S+)/.exec(out)?.[1]),
    errors: /Socket errors: (.*)/.exec(out)?.[1] ?? (/Non-2xx or 3xx responses: (\d+)/.exec(out) ? 'non-2xx answers' : ''),
  };
}

async function h2load(port, o, work) {
  const log = join(work, `h2load-${port}.log`);
  const conns = Math.max(1, Math.round(o.connections / 10));
  const out = await run('h2load', ['-c', String(conns), '-m', '10', '-D', String(o.duration), '-H', `cookie: ${COOKIE}`, `--log-file=${log}`, `https://127.0.0.1:${port}/`]);
  // The log: start time, status, elapsed µs, one line per request.
  const times = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split('\t')[2]))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const failed = Number(/(\d+) failed/.exec(out)?.[1] ?? 0);
  return {
    requests: Number(/(\d+) succeeded/.exec(out)?.[1] ?? 0),
    rps: Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0),
    p99: times.length ? times[Math.floor(times.length * 0.99)] / 1000 : NaN,
    errors: failed ? `${failed} failed` : '',
  };
}

async function sTime(port, o, reuse) {
  // openssl s_time resumes nothing over TLS 1.3 (a session ticket arrives after the handshake it
  // has already finished with; `s_client -reconnect` shows the same against every proxy), so the
  // resumed scenario uses TLS 1.2, whose session is known at the end of the handshake.
  const args = ['s_time', '-connect', `127.0.0.1:${port}`, '-www', '/', reuse ? '-reuse' : '-new', '-time', String(o.duration)];
  if (reuse) args.push('-tls1_2');
  const out = await run('openssl', args);
  // "N connections in T real seconds" (the other line gives s_time's own CPU seconds).
  const m = /(\d+) connections in (\d+) real seconds/.exec(out);
  const n = Number(m?.[1] ?? 0);
  return { requests: n, rps: n / Number(m?.[2] || o.duration), p99: NaN, errors: '' };
}

/** Opens `n` TLS connections with one answered request each and keeps them open. */
async function idleTls(port, n) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'bench', ALPNProtocols: ['http/1.1'] });
    await new Promise((r, j) => {
      s.once('secureConnect', r);
      s.once('error', j);
    });
    s.write(`GET / HTTP/1.1\r\nHost: bench\r\nCookie: ${COOKIE}\r\n\r\n`);
    await new Promise((r) => s.once('data', r));
    socks.push(s);
  }
  return socks;
}

/**
 * Runs the scenarios. `ctx` lends bench.mjs's helpers: start(cmd, args, env, cpus), tree(pid),
 * cpuSeconds(pids), rssMb(pids), freePort(), which(cmd), the backends' ports, the work folder,
 * the method's CPUs (proxyCpus for the proxies, loadCpus for wrk, h2load and openssl), and
 * stickylbYaml(port, options), the stickylb config of the other scenarios.
 */
export async function httpsScenarios(ctx) {
  const { work, ports } = ctx;
  loadCpus = ctx.loadCpus;
  const crt = join(work, 'bench.crt');
  const key = join(work, 'bench.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=bench', '-addext', 'subjectAltName=DNS:bench,IP:127.0.0.1'], { stdio: 'ignore' });
  writeFileSync(join(work, 'bench.pem'), readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'));

  const proxies = [
    {
      name: 'stickylb',
      start(port) {
        const cfg = join(work, 'stickylb-tls.yaml');
        writeFileSync(
          cfg,
          // bench.mjs's config (the same routing and keep-alive), on a TLS listener.
          ctx.stickylbYaml(port, { listen: `[{ host: 127.0.0.1, port: ${port}, tls: true }]`, extra: [`tls: { cert: "${crt}", key: "${key}" }`] }),
        );
        return ctx.start(process.execPath, [ctx.STICKYLB_BIN, 'run', '-c', cfg], {}, ctx.proxyCpus);
      },
    },
  ];
  if (ctx.which('haproxy')) {
    proxies.push({
      name: 'haproxy',
      start(port) {
        const cfg = join(work, 'haproxy-tls.cfg');
        writeFileSync(cfg, haproxyCfg({ port, threads: 1, ports, global: ['tune.ssl.default-dh-param 2048'], bind: ` ssl crt ${join(work, 'bench.pem')} alpn h2,http/1.1` }));
        return ctx.start(ctx.which('haproxy'), ['-f', cfg, '-db'], {}, ctx.proxyCpus);
      },
    });
  }
  if (ctx.which('nginx')) {
    proxies.push({
      name: 'nginx',
      start(port) {
        const cfg = join(work, 'nginx-tls.conf');
        writeFileSync(cfg, nginxConf({ work, name: 'nginx-tls', port, processes: 1, ports, listen: ' ssl http2', server: [`ssl_certificate ${crt};`, `ssl_certificate_key ${key};`, 'ssl_session_tickets on;'] }));
        return ctx.start(ctx.which('nginx'), ['-c', cfg, '-p', work], {}, ctx.proxyCpus);
      },
    });
  }

  // The floor of Node.js's TLS and HTTP/2 (scripts/bench-floor-tls.mjs): node:tls (and node:http2
  // for h2), and per request a fixed request on a kept-alive member connection, nothing parsed or
  // routed.
  proxies.push({
    name: 'node-floor-tls',
    start: (port) => ctx.start(process.execPath, [join(import.meta.dirname, 'bench-floor-tls.mjs'), String(port), String(ports.first), crt, key], {}, ctx.proxyCpus),
  });

  const scenarios = [
    ['HTTPS/1.1 keep-alive', (port) => wrkHttps(port, ctx)],
    ['HTTP/2, 10 streams a connection', (port) => h2load(port, ctx, work)],
    ['new TLS connection a request, no resumption', (port) => sTime(port, ctx, false)],
    ['new TLS connection a request, resumed (TLS 1.2 session)', (port) => sTime(port, ctx, true)],
  ];
  const results = [];
  for (const p of proxies) {
    const port = await ctx.freePort();
    const child = p.start(port);
    try {
      await waitTls(port);
    } catch (e) {
      console.error(`${p.name} (TLS): did not start: ${child.errText?.().trim() || e.message}`);
      continue;
    }
    for (const [label, fn] of scenarios) {
      try {
        await fn(port); // warm-up (JIT, pools, session caches), not measured
        const cpu0 = ctx.cpuSeconds(ctx.tree(child.pid));
        const r = await fn(port);
        const cpu1 = ctx.cpuSeconds(ctx.tree(child.pid));
        results.push({ proxy: p.name, scenario: label, ...r, cpuUs: r.requests ? ((cpu1 - cpu0) / r.requests) * 1e6 : NaN });
      } catch (e) {
        results.push({ proxy: p.name, scenario: label, requests: 0, rps: 0, p99: NaN, cpuUs: NaN, errors: e.message.split('\n')[0] });
      }
    }
    if (p.name === 'stickylb') {
      const socks = await idleTls(port, ctx.idle);
      results.push({ proxy: p.name, scenario: `RSS with ${ctx.idle} idle TLS connections`, rss: ctx.rssMb(ctx.tree(child.pid)) });
      for (const s of socks) s.destroy();
    }
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return results;
}

/** The HTTPS results as a table, with CPU and p99 as ratios to HAProxy's in the same scenario. */
export function printHttps(results, fmt) {
  if (!results.length) return;
  console.log('\nHTTPS scenarios (one ECDSA P-256 certificate, the same sticky cookie):');
  console.log('| scenario | proxy | req/s | p99 ms | proxy CPU µs/req | CPU vs HAProxy | p99 vs HAProxy | errors |');
  console.log('|---|---|---:|---:|---:|---:|---:|---|');
  for (const r of results) {
    if (r.rss !== undefined) continue;
    const base = results.find((x) => x.proxy === 'haproxy' && x.scenario === r.scenario);
    const cpu = base && Number.isFinite(r.cpuUs) && base.cpuUs ? `${fmt(r.cpuUs / base.cpuUs, 2)}×` : '-';
    const p99 = base && Number.isFinite(r.p99) && base.p99 ? `${fmt(r.p99 / base.p99, 2)}×` : '-';
    console.log(`| ${r.scenario} | ${r.proxy} | ${fmt(r.rps, 0)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuUs)} | ${cpu} | ${p99} | ${r.errors ?? ''} |`);
  }
  for (const r of results) if (r.rss !== undefined) console.log(`\nstickylb ${r.scenario}: ${fmt(r.rss)} MB`);
}
