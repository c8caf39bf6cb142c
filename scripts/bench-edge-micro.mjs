#!/usr/bin/env node
// Micro-benchmark of the lean engine's per-request edge work, in-process (TypeScript through
// tsx, as the tests run it): the exact settings of `npm run bench -- --only edge` ("on": the peer
// 127.0.0.1 and the hop 10.1.2.3 trusted, `X-Forwarded-For: 203.0.113.9, 10.1.2.3`, one access
// rule on /, a per-address rate limit and connection limit that never refuse) and the same site
// without them ("off"). Reports nanoseconds per request for each piece and for the whole edge
// step (CPU time, so that other work on a shared machine counts less), as the median of several
// rounds after a warm-up.
//
//   npm run bench:edge                       # defaults: 7 rounds of 300,000 requests
//   npm run bench:edge -- --rounds 9 --n 500000 --only total
//   npm run bench:edge -- --json             # one JSON line (for comparing runs)
//
// "new client each request" rotates 256 different client addresses (as a CDN that sends many
// clients over one connection would): the per-connection caches miss on every request there.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { register } from 'tsx/esm/api';

register();
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    n: { type: 'string', default: '300000' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(opt.rounds);
const N = Number(opt.n);

const src = (p) => new URL(`../src/${p}`, import.meta.url).href;
const { loadConfigFile } = await import(src('config/load.ts'));
const { Edge } = await import(src('edge/gate.ts'));
const { silentLogger } = await import(src('log/logger.ts'));
const { parseRequestHead } = await import(src('proxy/h1/request-head.ts'));
const { leanEdge, LeanEdgeState } = await import(src('proxy/h1/edge-hook.ts'));

// The bench's settings (scripts/bench.mjs: EDGE_*), and its YAML around them.
const EDGE_TRUSTED = ['127.0.0.0/8', '10.0.0.0/8'];
const EDGE_ALLOWED = ['198.51.100.0/24', '203.0.113.0/24'];
const EDGE_RATE = 1e9;
const EDGE_CONNS = 50 * 2 + 100;
const yaml = (extra) =>
  [
    'listen: ["127.0.0.1:8080"]',
    'engine: lean',
    'maxKeepAliveRequests: 0',
    ...extra,
    'balancers:',
    '  c:',
    '    stickysession: "_s|_s"',
    '    members:',
    '      - { url: "http://127.0.0.1:9001", route: first }',
    '      - { url: "http://127.0.0.1:9002", route: second }',
    'proxyPass:',
    '  - { path: /, to: "balancer://c/" }',
    '',
  ].join('\n');
const dir = mkdtempSync(join(tmpdir(), 'edge-micro-'));
function load(name, extra) {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, yaml(extra));
  return loadConfigFile(f).model;
}
const on = load('on', [
  `remoteIp: { header: X-Forwarded-For, internalProxies: [${EDGE_TRUSTED.join(', ')}] }`,
  `access: [{ path: /, allow: [${EDGE_ALLOWED.join(', ')}] }]`,
  `rateLimits: [{ requests: ${EDGE_RATE}, window: 1m }]`,
  `maxConnectionsPerClient: ${EDGE_CONNS}`,
]);
const off = load('off', []);
rmSync(dir, { recursive: true });
const siteOn = on.sites[0];
const siteOff = off.sites[0];
if (siteOn.remoteIp === undefined || siteOn.access === undefined || siteOn.rateLimits === undefined) throw new Error('the "on" site lacks its edge settings');
// Pieces on their own: only the proxies, only the access rule, only the rate limit.
const siteClientOnly = { ...siteOn, access: undefined, rateLimits: undefined };
const siteAccessOnly = { ...siteOn, remoteIp: undefined, rateLimits: undefined };
const siteRateOnly = { ...siteOn, remoteIp: undefined, access: undefined };

const edgeOf = (model) => new Edge(() => model, silentLogger);
// What proxyUrlOf reads of the server (a balancer that is not implicit).
const serverOf = (model) => ({ config: model, edge: edgeOf(model), runtime: { balancers: new Map([['c', { model: { implicit: false }, members: [] }]]) } });
const serverOn = serverOf(on);
const serverOff = serverOf(off);

// Request heads as wrk sends them in the bench (each a fresh string, as each read is).
function heads(xffs) {
  return xffs.map((xff) => {
    const text = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: _s=abc123.first\r\nX-Forwarded-For: ${xff}\r\n\r\n`, 'latin1').toString('latin1');
    const h = parseRequestHead(text);
    if (!('fields' in h)) throw new Error(`head not parsed: ${h.reason}`);
    return h;
  });
}
const SAME = heads(Array.from({ length: 256 }, () => '203.0.113.9, 10.1.2.3'));
const MANY = heads(Array.from({ length: 256 }, (_, i) => `203.0.113.${i}, 10.1.2.3`));
const PEER = '127.0.0.1';
const CLIENT = '203.0.113.9';

/**
 * One connection's edge step on a site, as server-conn.ts runs it for each request. The pieces
 * without the proxies take the client's connection as coming from 203.0.113.9 itself.
 */
function conn(server, site, peer = PEER) {
  const state = new LeanEdgeState(peer, false, { localAddress: '127.0.0.1' });
  return (head) => {
    const r = leanEdge(server, state, site, head, '/', 'c', '/');
    if (r !== undefined) throw new Error(`refused: ${r instanceof Promise ? 'a promise' : r.reason}`);
    return state.client;
  };
}

const cases = [
  ['off: the whole edge step (not configured)', () => conn(serverOff, siteOff), SAME],
  ['on: the whole edge step, same client each request (the bench)', () => conn(serverOn, siteOn), SAME],
  ['on: the whole edge step, new client each request', () => conn(serverOn, siteOn), MANY],
  ['on, piece: real client (X-Forwarded-For walk)', () => conn(serverOn, siteClientOnly), SAME],
  ['on, piece: real client, new client each request', () => conn(serverOn, siteClientOnly), MANY],
  ['on, piece: access rule on /', () => conn(serverOn, siteAccessOnly, CLIENT), SAME],
  ['on, piece: rate limit', () => conn(serverOn, siteRateOnly, CLIENT), SAME],
];

let sink = 0;
/**
 * CPU time this process has used (user + system, ns): on a shared machine the time others take
 * from it does not count, as wall-clock time would.
 */
function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}
/** ns per call of `fn` over the heads, median of ROUNDS rounds after one warm-up round. */
/** Runs `round` (CPU ns per iteration) once to warm up, then ROUNDS times: median, min, max. */
function rounds(round) {
  round();
  const rs = [];
  for (let k = 0; k < ROUNDS; k++) rs.push(round());
  rs.sort((a, b) => a - b);
  return { median: rs[rs.length >> 1], min: rs[0], max: rs[rs.length - 1] };
}

function measure(make, hs) {
  const fn = make();
  const mask = hs.length - 1;
  const round = () => {
    const t0 = cpuNs();
    for (let i = 0; i < N; i++) {
      if (fn(hs[i & mask]) === 'x') sink++;
    }
    return (cpuNs() - t0) / N;
  };
  return rounds(round);
}

// The connection limit is paid once per connection (the bench's connections live for the run).
function measureConnections() {
  const edge = serverOn.edge;
  const e = on.edge;
  const round = () => {
    const t0 = cpuNs();
    for (let i = 0; i < N; i++) {
      if (edge.connections.tryOpen(PEER, e.maxConnections, e.maxConnectionsPerClient, false) === 'ok') edge.connections.close(PEER);
    }
    return (cpuNs() - t0) / N;
  };
  return rounds(round);
}

// The cost of the loop itself (a call that does nothing), included in every figure.
const empty = measure(() => (h) => h.method, SAME);
const results = [];
for (const [name, make, hs] of cases) {
  if (opt.only && !name.includes(opt.only)) continue;
  results.push({ name, ...measure(make, hs) });
}
if (!opt.only || 'connection'.includes(opt.only)) results.push({ name: 'on: connection limit, open + close (per connection)', ...measureConnections() });

if (opt.json) console.log(JSON.stringify({ node: process.version, rounds: ROUNDS, n: N, loop: empty.median, results }));
else {
  console.log(`edge micro-benchmark: node ${process.version}, ${ROUNDS} rounds of ${N} requests after a warm-up; CPU ns per request, median (min–max); loop overhead ${empty.median.toFixed(1)} ns included`);
  for (const r of results) console.log(`${r.median.toFixed(1).padStart(8)} ns  (${r.min.toFixed(1)}–${r.max.toFixed(1)})  ${r.name}`);
}
if (sink < 0) console.log(sink);
