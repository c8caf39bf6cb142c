// The per-request fast paths of the edge: mod_remoteip's walk read in place (against the
// string-splitting form it replaced), the lean engine's per-connection memory of the client and
// of the access verdict (the same answers as without it), the rate window's bounds against a
// true sliding log, and the one check of a site without edge settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { inNet, inNet4, parse4, parseIp, parseNet, type Ip } from '../../src/edge/ip-match.js';
import { compileRemoteIp, findProxy, plainIp, resolveClient, type CompiledRemoteIp } from '../../src/edge/remote-ip.js';
import { AccessMemo, Edge, addressOnly, mergeSections, needsProxyUrl, type GateRequest, type Verdict } from '../../src/edge/gate.js';
import { RateLimiter, slidingEstimate } from '../../src/edge/rate-limit.js';
import { silentLogger } from '../../src/log/logger.js';
import { LeanEdgeState, leanEdge } from '../../src/proxy/h1/edge-hook.js';
import { parseRequestHead, type RequestHead } from '../../src/proxy/h1/request-head.js';
import type { SiteModel } from '../../src/config/model.js';
import { rng } from '../helpers/rng.js';

// mod_remoteip's walk as it was written with strings (split at commas, trimmed, parsed): the
// oracle for the in-place walk.
function isPrivate(ip: Ip): boolean {
  if (ip.v6) return (ip.parts[0] & 0xe000) !== 0x2000;
  const a = Math.floor(ip.parts[0] / 16777216);
  const b = Math.floor(ip.parts[0] / 65536) % 256;
  return a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168);
}
function referenceWalk(c: CompiledRemoteIp, peer: string, header: string | undefined) {
  let current = plainIp(peer);
  const find = (ip: Ip | undefined) => (ip === undefined ? undefined : c.matchers.find((m) => inNet(ip, m.net)));
  const first = find(parseIp(current));
  if (first === undefined) return { client: current, viaProxy: false, remaining: header };
  if (header === undefined) return { client: current, viaProxy: true };
  let remote: string | undefined = header;
  let internal = true;
  let hop = first as typeof first | undefined;
  while (remote !== undefined) {
    if (hop === undefined) break;
    if (internal) internal = hop.internal;
    const comma = remote.lastIndexOf(',');
    const word = (comma < 0 ? remote : remote.slice(comma + 1)).trim();
    const rest: string | undefined = comma < 0 ? undefined : remote.slice(0, comma);
    if (word === '') break;
    const addr = plainIp(word);
    const ip = parseIp(addr);
    if (ip === undefined) break;
    if (!internal && isPrivate(ip)) break;
    current = addr;
    remote = rest;
    hop = remote === undefined ? undefined : find(ip);
  }
  return { client: current, viaProxy: true, remaining: remote };
}

const SETTINGS = {
  header: 'x-forwarded-for',
  proxies: [
    { net: '127.0.0.0/8', internal: true },
    { net: '10.0.0.0/8', internal: true },
    { net: '198.51.100.0/24', internal: false },
    { net: '2001:db8::/32', internal: false },
    { net: '::1', internal: true },
  ],
};
const WORDS = ['203.0.113.9', '10.1.2.3', '127.0.0.1', '198.51.100.7', '192.168.1.5', '2001:db8::5', '2001:DB8::7', '::ffff:10.1.2.3', 'fe80::1%eth0', '::1', 'evil', '', ' ', '1.2.3', '256.1.1.1', '08.8.8.8', '203.0.113.9\u00a0', '2606:4700::1'];
const PEERS = ['127.0.0.1', '10.9.9.9', '198.51.100.1', '192.0.2.50', '::1', '::ffff:127.0.0.1', '2001:db8::1'];

function randomHeader(r: () => number): string {
  const n = Math.floor(r() * 5);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const pad = () => [' ', '', '\t', '  '][Math.floor(r() * 4)];
    parts.push(pad() + WORDS[Math.floor(r() * WORDS.length)] + pad());
  }
  return parts.join(',');
}

test('mod_remoteip walk read in place: the same client, proxy flag and leftover as the string-splitting walk (5,000 random headers)', () => {
  const c = compileRemoteIp(SETTINGS);
  const r = rng(13);
  for (let k = 0; k < 5000; k++) {
    const peer = PEERS[Math.floor(r() * PEERS.length)];
    const header = r() < 0.05 ? undefined : randomHeader(r);
    assert.deepEqual(resolveClient(c, peer, header), referenceWalk(c, peer, header), `peer ${peer}, header ${JSON.stringify(header)}`);
  }
});

test('IPv4 networks matched with integer operations: the same as the general match, every prefix length', () => {
  const r = rng(7);
  for (let k = 0; k < 3000; k++) {
    const q = () => Math.floor(r() * 256);
    const a = `${q()}.${q()}.${q()}.${q()}`;
    const bits = Math.floor(r() * 33);
    // Half the time an address inside the network's first octets.
    const b = r() < 0.5 ? a.replace(/\d+$/, String(q())) : `${q()}.${q()}.${q()}.${q()}`;
    const net = parseNet(`${b}/${bits}`)!;
    assert.equal(inNet4(parse4(a)!, net), inNet(parseIp(a)!, net), `${a} in ${b}/${bits}`);
  }
  assert.equal(inNet4(parse4('10.1.2.3')!, parseNet('2001:db8::/32')!), false);
  assert.equal(parse4('x 10.1.2.3 y', 2, 10), parse4('10.1.2.3'));
});

const site = (extra: Record<string, unknown>): SiteModel =>
  validateConfig({ listen: ['127.0.0.1:0'], balancers: { c: { members: [{ url: 'http://127.0.0.1:9' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }], ...extra }).sites[0];

function head(fields: string[]): RequestHead {
  const h = parseRequestHead(`GET / HTTP/1.1\r\nHost: a\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`);
  if (!('fields' in h)) throw new Error(h.reason);
  return h;
}

const server = (s: SiteModel) => ({ edge: new Edge(() => ({ sites: [s] }) as never, silentLogger), runtime: { balancers: new Map() } }) as never;

test('lean edge step: the client of each request as resolveClient finds it, on one connection with its memory (repeated, changed, several and missing headers)', () => {
  const s = site({ remoteIp: { header: 'X-Forwarded-For', internalProxies: ['127.0.0.0/8', '10.0.0.0/8'], trustedProxies: ['198.51.100.0/24'] } });
  const c = compileRemoteIp(s.remoteIp!);
  const r = rng(99);
  for (const peer of PEERS) {
    const st = new LeanEdgeState(peer, false, { localAddress: '127.0.0.1' });
    const srv = server(s);
    let last: string[] = [];
    for (let k = 0; k < 300; k++) {
      // Often the same header as the request before (what the memory is for).
      const fields = r() < 0.4 ? last : Array.from({ length: Math.floor(r() * 3) }, () => `${r() < 0.5 ? 'X-Forwarded-For' : 'x-forwarded-FOR'}: ${randomHeader(r)}`);
      last = fields;
      const h = head(fields);
      const values = fields.map((f) => f.slice(f.indexOf(':') + 1).trim());
      assert.equal(leanEdge(srv, st, s, h, '/', 'c', '/'), undefined);
      const want = resolveClient(c, peer, values.length ? values.join(', ') : undefined);
      assert.deepEqual({ client: st.client, viaProxy: st.viaProxy }, { client: want.client, viaProxy: want.viaProxy }, `peer ${peer}, ${JSON.stringify(fields)}`);
    }
  }
  // A connection with a PROXY header keeps its address; the flag says whether it is a proxy.
  const proxied = new LeanEdgeState('10.1.1.1', true, {});
  leanEdge(server(s), proxied, s, head(['X-Forwarded-For: 203.0.113.9']), '/', 'c', '/');
  assert.deepEqual([proxied.client, proxied.viaProxy], ['10.1.1.1', true]);
  assert.equal(findProxy(c, '192.0.2.1'), undefined);
});

test('a site without declared proxies, access sections or rate limits: one flag, and the edge step leaves the peer and the site body limit', () => {
  const plain = site({ limitRequestBody: 1234 });
  assert.equal(plain.edgeSteps, false);
  assert.equal(site({ remoteIp: { header: 'X-Forwarded-For', internalProxies: ['10.0.0.0/8'] } }).edgeSteps, true);
  assert.equal(site({ access: [{ path: '/', allow: ['10.0.0.0/8'] }] }).edgeSteps, true);
  assert.equal(site({ rateLimits: [{ requests: 5, window: '1m' }] }).edgeSteps, true);
  const st = new LeanEdgeState('192.0.2.1', false, {});
  st.client = 'stale';
  st.user = 'stale';
  assert.equal(leanEdge(server(plain), st, plain, head(['X-Forwarded-For: 203.0.113.9']), '/', 'c', '/'), undefined);
  assert.deepEqual([st.client, st.viaProxy, st.bodyLimit, st.user], ['192.0.2.1', false, 1234, undefined]);
});

test('access memory of a connection: the verdicts and counters of address rules are those without it; rules that need a user are decided each time', async () => {
  const byAddress = site({ access: [{ path: '/', allow: ['203.0.113.0/24'] }, { path: '/x', require: ['ip 10.0.0.0/8', 'local'] }] });
  const m = mergeSections(byAddress.access!, '/', undefined, 0)!;
  assert.equal(addressOnly(m), true);
  assert.equal(needsProxyUrl(byAddress.access!), false);
  const withMemo = new Edge(() => ({}) as never, silentLogger);
  const without = new Edge(() => ({}) as never, silentLogger);
  const memo = new AccessMemo();
  const r = rng(5);
  const clients = ['203.0.113.9', '203.0.113.10', '10.1.2.3', '192.0.2.1', '127.0.0.1'];
  for (let k = 0; k < 400; k++) {
    const req: GateRequest = { site: byAddress, path: r() < 0.5 ? '/' : '/x/y', method: 'GET', authorization: undefined, client: clients[Math.floor(r() * clients.length)], local: r() < 0.9 ? '127.0.0.1' : '10.1.2.3' };
    const a = withMemo.check({ ...req, memo }) as Verdict;
    const b = without.check(req) as Verdict;
    assert.deepEqual(a, b, JSON.stringify(req));
  }
  assert.deepEqual(withMemo.counters.snapshot(), without.counters.snapshot());
  assert.ok(withMemo.counters.accessDenied > 0);

  // A login rule: the same client with and without credentials gets different answers.
  const login = site({ access: [{ path: '/', require: ['valid-user'], authUserFile: '/nonexistent/htpasswd', authType: 'basic' }] });
  const lm = mergeSections(login.access!, '/', undefined, 0);
  if (lm !== undefined) assert.equal(addressOnly(lm), false);
  const e = new Edge(() => ({ source: '/tmp/x.yaml' }) as never, silentLogger);
  const memo2 = new AccessMemo();
  const first = await e.check({ site: login, path: '/', method: 'GET', authorization: undefined, client: '203.0.113.9', local: undefined, memo: memo2 });
  assert.equal(first.ok, false);
  assert.equal(memo2.access, undefined, 'a verdict that depends on a user is not remembered');
});

test('rate window: bounds against a true sliding log (random arrivals, 40 seeds), exact under steady traffic, and at most one window of excess over a long overload', () => {
  const L = 20;
  const w = 10_000;
  const rule = { id: '/ 20/10s', path: '/', requests: L, windowMs: w };
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    const lim = new RateLimiter();
    const admitted: number[] = [];
    let t = 1_000_000 + Math.floor(r() * w);
    for (let k = 0; k < 600; k++) {
      // Bursts and pauses: gaps from 0 to about a third of the window.
      t += r() < 0.2 ? Math.floor(r() * 3000) : Math.floor(r() * 300);
      const b = lim.bucket(rule, 'c', t);
      const e = t - b.window * w;
      const prev = b.prev;
      const inLog = admitted.filter((x) => x > t - w).length;
      const est = slidingEstimate(b, w, e);
      assert.ok(est >= b.curr && est <= b.curr + prev + 1e-9);
      const wait = lim.hit(rule, 'c', t);
      if (wait === 0) {
        admitted.push(t);
        // Over the limit by at most the previous window's share the estimate no longer counts.
        assert.ok(inLog + 1 <= L + (prev * e) / w + 1e-9, `seed ${seed}: ${inLog + 1} in the last window at ${t}`);
        assert.ok(inLog + 1 < 2 * L);
      } else {
        // Refused only when the true count is within the previous window's weighted share of the limit.
        assert.ok(inLog + 1 > L - prev * (1 - e / w) - 1e-9, `seed ${seed}: refused with ${inLog} in the last window at ${t}`);
        assert.ok(wait >= 1);
      }
    }
  }
  // Steady traffic at 90 % of the limit is never refused.
  const steady = new RateLimiter();
  for (let t = 0; t < 20 * w; t += Math.ceil(w / (0.9 * L))) assert.equal(steady.hit(rule, 'c', 5_000_000 + t), 0);
  // Three times the limit for 30 windows: never more than one window's limit over 30 × L, and the
  // estimate leaves little unused (with evenly spaced requests it lets L - 1 through a window).
  const over = new RateLimiter();
  let n = 0;
  for (let t = 0; t < 30 * w; t += Math.ceil(w / (3 * L))) if (over.hit(rule, 'c', 7_000_000 + t) === 0) n++;
  assert.ok(n <= 30 * L + L && n >= 30 * (L - 1), `${n} admitted in 30 windows of ${L}`);
});

test('rate limiter: buckets of clients gone for two windows are dropped at the next window, without a scan per request', () => {
  const rule = { id: '/ 5/1s', path: '/', requests: 5, windowMs: 1000 };
  const lim = new RateLimiter();
  for (let i = 0; i < 100; i++) lim.hit(rule, `192.0.2.${i}`, 10_000);
  lim.hit(rule, 'keep', 11_000);
  assert.equal(lim.snapshot()[0].clients, 101, 'the window after: all still counted (the previous window weighs)');
  lim.hit(rule, 'keep', 12_000);
  assert.deepEqual(lim.snapshot(), [{ rule: '/ 5/1s', allowed: 102, limited: 0, clients: 1 }]);
  // Keys given by the worker processes reach the same counts.
  assert.equal(lim.bucketByKey('/ 5/1s\0keep', 1000, 12_500).curr, 1);
});
