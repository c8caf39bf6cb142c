#!/usr/bin/env node
// How fast a manager change reaches the other balancers of a fleet: starts a redis-server, a
// member and three stickylb processes (from the sources), makes N drain/undrain changes through
// the manager of one balancer after another, and reads from each answer when every other balancer
// said it had applied the change (the time from the change being stored to the balancer's
// acknowledgement arriving back). Prints the percentiles. Not a test: it asserts nothing.
// Usage: node scripts/fleet-latency.mjs [changes=200]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const changes = Number(process.argv[2] ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'stickylb-fleet-latency-'));
const children = [];

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitForLine(child, re, ms = 60_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${re} in ${ms} ms:\n${out}`)), ms);
    child.stdout.on('data', (d) => {
      out += d;
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

function call(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

try {
  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(redis);
  await waitForLine(redis, /Ready to accept connections/);
  const member = http.createServer((_, res) => res.end('ok')).listen(0, '127.0.0.1');
  await new Promise((r) => member.once('listening', r));
  const memberUrl = `http://127.0.0.1:${member.address().port}`;
  const lbs = [];
  for (const id of ['lb1', 'lb2', 'lb3']) {
    const file = join(dir, `${id}.yaml`);
    writeFileSync(
      file,
      [
        'listen: ["127.0.0.1:0"]',
        'errorLog: { level: error }',
        `fleet: { redis: "redis://127.0.0.1:${redisPort}", name: latency, id: ${id} }`,
        'persist: false',
        `balancers: { app: { members: [ { url: "${memberUrl}", route: a } ] } }`,
        'proxyPass: [ { path: /, to: "balancer://app/" } ]',
        'manager: { path: /balancer-manager }',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/bin.ts'), 'run', '-c', file], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const m = await waitForLine(child, /stickylb listening on (http:\/\/\S+)/);
    lbs.push({ id, url: m[1] });
  }
  // Every balancer knows the other two before measuring.
  for (const lb of lbs) {
    for (;;) {
      const v = (await call('GET', `${lb.url}/balancer-manager/api/fleet`)).json;
      if (v.balancers.filter((b) => b.live).length === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const nonces = {};
  for (const lb of lbs) nonces[lb.id] = (await call('GET', `${lb.url}/balancer-manager/api`)).json.balancers[0].nonce;
  const applyMs = [];
  const answerMs = [];
  let pending = 0;
  for (let i = 0; i < changes; i++) {
    const lb = lbs[i % lbs.length];
    const action = i % 2 === 0 ? 'drain' : 'undrain';
    const t0 = process.hrtime.bigint();
    const r = await call('POST', `${lb.url}/balancer-manager/api/balancers/app/members/a/${action}`, {}, { Origin: lb.url, 'X-Stickylb-Nonce': nonces[lb.id] });
    answerMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 200 || !r.json.fleet?.stored) throw new Error(`change ${i}: ${r.status} ${JSON.stringify(r.json)}`);
    for (const a of r.json.fleet.applied) if (a.id !== lb.id) applyMs.push(a.ms);
    pending += r.json.fleet.pending.length;
  }
  applyMs.sort((a, b) => a - b);
  answerMs.sort((a, b) => a - b);
  const fmt = (xs) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p90 ${percentile(xs, 90).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, max ${xs[xs.length - 1].toFixed(1)} ms`;
  console.log(`${changes} changes, 3 balancers, ${applyMs.length} applications elsewhere (${pending} not confirmed within the 1 s ack wait)`);
  console.log(`stored → applied on another balancer (acknowledgement received): ${fmt(applyMs)}`);
  console.log(`manager request → answer (stored and applied everywhere): ${fmt(answerMs)}`);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  for (const c of children.reverse()) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  setImmediate(() => process.exit());
}
