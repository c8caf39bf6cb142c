// Active health checks against real backends on 127.0.0.1 port 0. Scheduling runs on fake
// timers (time moves when the test says so); probes are real sockets, waited for with a deadline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';
import { HealthChecker } from '../../src/health/checker.js';
import { probe } from '../../src/health/probe.js';
import { compileHealthExpr } from '../../src/health/expr.js';
import { healthPlugin } from '../../src/health/plugin.js';
import { FakeTimers, until } from '../helpers/fake-timers.js';
import { deadPort, startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';

const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

/** A backend whose answers follow a script: each entry is [status, body], the last one repeats. */
async function scripted(script: [number, string][]): Promise<Backend> {
  let i = 0;
  const b = await startBackend({
    name: 'scripted',
    handler: (_req, res) => {
      const [status, body] = script[Math.min(i++, script.length - 1)];
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(body);
    },
  });
  closers.push(() => b.close());
  return b;
}

/** A server that accepts connections and never answers. */
async function hanging(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port, connections: () => count };
}

function start(raw: RawConfig, logger?: { warn(f: object, m: string): void; info(f: object, m: string): void }) {
  const t = new FakeTimers();
  const runtime = new RuntimeState(validateConfig(raw), t.clock);
  const checker = new HealthChecker(runtime, { timers: t, logger }).start();
  closers.push(() => checker.stop());
  return { t, runtime, checker, b: runtime.balancer('c')! };
}

function balancer(members: Record<string, unknown>[]): RawConfig {
  return { balancers: { c: { members: members as never } } };
}

test('health checks: a member answering 503 fails after hcfails and recovers after hcpasses of 200', async () => {
  const be = await scripted([[503, 'down'], [503, 'down'], [200, 'up'], [200, 'up']]);
  const { t, b } = start(balancer([{ url: be.url, route: 'first', health: { method: 'GET', uri: '/health', interval: 5, fails: 2, passes: 2 } }]));
  const m = b.members[0];
  const checkNo = async (n: number) => {
    if (n > 1) await t.advance(5_000);
    else await t.advance(0);
    await until(() => m.health.checks === n, `check ${n}`);
  };
  await checkNo(1);
  assert.deepEqual([m.health.last, m.health.lastStatus, m.flags.C], ['fail', 503, false]);
  await checkNo(2);
  assert.equal(m.flags.C, true);
  assert.equal(m.health.lastDetail, 'status 503');
  await checkNo(3);
  assert.equal(m.flags.C, true, 'one pass is not enough with hcpasses 2');
  await checkNo(4);
  assert.equal(m.flags.C, false);
  assert.equal(m.isUsable(), true);
  assert.deepEqual(be.seen.map((r) => [r.method, r.url]), [['GET', '/health'], ['GET', '/health'], ['GET', '/health'], ['GET', '/health']]);
  assert.equal(be.seen[0].headers['user-agent'], 'stickylb-health-check');
  assert.equal(be.seen[0].headers.host, `127.0.0.1:${be.port}`);
});

test('health checks: a refused connection fails the check and is logged once with its cause', async () => {
  const port = await deadPort();
  const lines: string[] = [];
  const logger = { warn: (_f: object, msg: string) => lines.push(msg), info: (_f: object, msg: string) => lines.push(msg) };
  const { t, b } = start(balancer([{ url: `http://127.0.0.1:${port}`, route: 'first', health: { method: 'TCP', interval: 1, fails: 3 } }]), logger);
  const m = b.members[0];
  for (let n = 1; n <= 4; n++) {
    await t.advance(n === 1 ? 0 : 1_000);
    await until(() => m.health.checks === n, `check ${n}`);
  }
  assert.equal(m.flags.C, true);
  assert.deepEqual(lines, [`member http://127.0.0.1:${port} route=first: health check failed (3/3: connection refused)`]);
});

test('health checks: checks do not pile up against a hanging member; each ends on its timeout', async () => {
  const h = await hanging();
  const { t, b, checker } = start(balancer([{ url: `http://127.0.0.1:${h.port}`, route: 'first', health: { method: 'GET', interval: 1, timeout: 5, fails: 1 } }]));
  const m = b.members[0];
  await t.advance(0);
  await until(() => h.connections() === 1, 'the first probe to connect');
  for (let i = 0; i < 4; i++) await t.advance(1_000);
  assert.equal(checker.inFlight(), 1);
  assert.deepEqual(checker.checks().map((c) => [c.started, c.skipped]), [[1, 4]]);
  assert.equal(m.health.checks, 0);
  await t.advance(1_000);
  await until(() => m.health.checks === 1, 'the timeout to end the probe');
  assert.equal(m.flags.C, true);
  assert.equal(m.health.lastDetail, 'timeout after 5s');
  await t.advance(1_000);
  await until(() => h.connections() === 2, 'the next probe');
  assert.equal(h.connections(), 2, 'never more than one connection per interval window');
});

test('health checks: a stopped member is never probed; the others are', async () => {
  const stopped = await scripted([[200, 'up']]);
  const running = await scripted([[200, 'up']]);
  const { t, b } = start(
    balancer([
      { url: stopped.url, route: 'first', status: 'S', health: { method: 'GET', interval: 1 } },
      { url: running.url, route: 'second', health: { method: 'GET', interval: 1 } },
    ]),
  );
  for (let n = 1; n <= 3; n++) {
    await t.advance(n === 1 ? 0 : 1_000);
    await until(() => b.members[1].health.checks === n, `check ${n} of the running member`);
  }
  assert.equal(stopped.seen.length, 0);
  assert.equal(b.members[0].health.checks, 0);
  assert.equal(running.seen.length, 3);
});

test('health checks: GET with a body expression, HEAD and OPTIONS', async () => {
  const be = await scripted([[200, 'state: maintenance'], [200, 'state: up']]);
  const head = await scripted([[204, '']]);
  const options = await scripted([[500, '']]);
  const { t, b } = start(
    balancer([
      { url: `${be.url}/app`, route: 'first', health: { method: 'GET', uri: '/status', interval: 1, expect: 'status 2xx and body !contains "maintenance"' } },
      { url: head.url, route: 'second', health: { method: 'HEAD', interval: 1 } },
      { url: options.url, route: 'third', health: { method: 'OPTIONS', interval: 1 } },
    ]),
  );
  const [m1, m2, m3] = b.members;
  await t.advance(0);
  await until(() => m1.health.checks === 1 && m2.health.checks === 1 && m3.health.checks === 1, 'the first checks');
  assert.equal(m1.flags.C, true);
  assert.equal(m1.health.lastDetail, 'status 200, expect not met: status 2xx and body !contains "maintenance"');
  assert.equal(m2.flags.C, false);
  assert.equal(m3.flags.C, true);
  assert.equal(m3.health.lastDetail, 'status 500');
  assert.deepEqual([be.seen[0].method, be.seen[0].url, head.seen[0].method, options.seen[0].method], ['GET', '/app/status', 'HEAD', 'OPTIONS']);
  await t.advance(1_000);
  await until(() => m1.health.checks === 2, 'the second check');
  assert.equal(m1.flags.C, false);
});

test('probe: used on its own, it ends on its own timeout and reports the body snippet', async () => {
  const h = await hanging();
  const r = await probe({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: h.port, path: '/' }, { timeoutMs: 150 });
  assert.deepEqual([r.ok, r.detail], [false, 'timeout after 150ms']);
  const be = await scripted([[200, 'ready and willing']]);
  const ok = await probe(
    { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: be.port, path: '/', expect: compileHealthExpr('body matches /ready/') },
    { timeoutMs: 2000 },
  );
  assert.deepEqual([ok.ok, ok.status, ok.detail, ok.bodySnippet], [true, 200, 'status 200', 'ready and willing']);
  const tcp = await probe({ method: 'TCP', protocol: 'http:', hostname: '127.0.0.1', port: be.port, path: '/' }, { timeoutMs: 2000 });
  assert.deepEqual([tcp.ok, tcp.detail], [true, 'connected']);
});

test('health plugin: a running balancer stops sending new sessions to a member that fails its check', async () => {
  const good = await startBackend({ name: 'good', route: 'good' });
  const bad = await startBackend({
    name: 'bad',
    route: 'bad',
    handler: (req, res) => {
      res.writeHead(req.url === '/health' ? 503 : 200, { 'x-member': 'bad' });
      res.end('bad');
    },
  });
  closers.push(() => good.close(), () => bad.close());
  const health = { method: 'GET' as const, uri: '/health', interval: '100ms' };
  const lb = await startBalancer(
    {
      proxyPass: [{ path: '/', to: 'balancer://c/' }],
      balancers: { c: { members: [{ url: good.url, route: 'good', health }, { url: bad.url, route: 'bad', health }] } },
    },
    { plugins: [healthPlugin({ log: false })] },
  );
  closers.push(() => lb.close());
  const bad0 = lb.app.runtime.balancer('c')!.members[1];
  await until(() => bad0.flags.C, 'the failing member to be marked');
  const who = new Set<string>();
  for (let i = 0; i < 6; i++) who.add(String((await request(`${lb.url}/x`)).headers['x-member']));
  assert.deepEqual([...who], ['good']);
});
