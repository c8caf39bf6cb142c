// Limits on both engines: LimitRequestBody answered 413 for a Content-Length and for a chunked
// body (the member never sees the rest), Apache's head limits, RequestReadTimeout cutting slow
// heads and slow bodies, MaxKeepAliveRequests, a per-client connection limit (503, others still
// served) and a per-client rate limit (429 with Retry-After), with their counters in the
// manager's JSON API and the metrics.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { recordingMember, type RecordingMember } from '../helpers/raw.js';
import { startBackend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { get, rawConn } from '../helpers/edge.js';
import type { RawConfig } from '../../src/config/schema.js';

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function setup(engine: 'lean' | 'node', extra: RawConfig): Promise<{ lb: RunningBalancer; m: RecordingMember }> {
  const m = await recordingMember();
  cleanup.push(() => m.close());
  const lb = await startBalancer({
    engine,
    balancers: { c: { members: [{ url: m.url, route: 'm' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
    manager: { allow: ['local'] },
    metrics: { allow: ['local'] },
    ...extra,
  });
  cleanup.push(() => lb.close());
  return { lb, m };
}

for (const engine of ['lean', 'node'] as const) {
  test(`${engine}: LimitRequestBody answers 413 for a Content-Length and for a chunked body; the member never sees the rest [limit-request-body]`, async () => {
    const { lb, m } = await setup(engine, { limitRequestBody: 1000, access: [{ path: '/big', limitRequestBody: 0 }] });
    const small = await get(lb.port, '/up', { method: 'POST', body: 'x'.repeat(1000) });
    assert.equal(small.status, 200);
    const big = await get(lb.port, '/up', { method: 'POST', body: 'y'.repeat(2000) });
    assert.equal(big.status, 413);
    assert.ok(!m.received.join('').includes('y'), 'nothing of the refused body reached the member');
    // Chunked: the first chunks may stream, the one past the limit and the end never do.
    const c = rawConn(lb.port);
    await c.ready;
    c.write('POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    c.write(`258\r\n${'a'.repeat(600)}\r\n`);
    c.write(`258\r\n${'b'.repeat(600)}\r\n`);
    c.write('5\r\nzzzzz\r\n0\r\n\r\n');
    await until(() => c.closed(), 'the chunked request to be refused');
    assert.match(c.text(), /^HTTP\/1\.1 413 /);
    const seen = m.received.join('');
    assert.ok(!seen.includes('zzzzz') && !seen.includes('\r\n0\r\n\r\n'.repeat(1) + 'GET'), 'the member never got the end of the body');
    assert.ok(!/b{600}/.test(seen), 'nor the chunk past the limit');
    // A section without a limit (limitRequestBody 0) takes a larger body.
    assert.equal((await get(lb.port, '/big/x', { method: 'POST', body: 'w'.repeat(5000) })).status, 200);
    assert.equal(lb.app.server.edge.counters.bodyTooLarge, 2);
  });

  test(`${engine}: LimitRequestFields, LimitRequestFieldSize and LimitRequestLine as Apache answers them`, async () => {
    const { lb } = await setup(engine, { limitRequestFields: 5, limitRequestFieldSize: 200, limitRequestLine: 300 });
    const many: Record<string, string> = {};
    for (let i = 0; i < 6; i++) many[`X-H${i}`] = 'v';
    assert.equal((await get(lb.port, '/a', { headers: many })).status, 400);
    assert.equal((await get(lb.port, '/a', { headers: { 'X-Long': 'v'.repeat(300) } })).status, 400);
    assert.equal((await get(lb.port, `/${'p'.repeat(400)}`)).status, 414);
    assert.equal((await get(lb.port, '/a', { headers: { 'X-Ok': 'v'.repeat(150) } })).status, 200);
    assert.equal(lb.app.server.edge.counters.headLimits, 3);
  });

  test(`${engine}: RequestReadTimeout cuts a slow head and a slow body; a slowloris holds little`, async () => {
    // A member that answers once it has the whole body.
    const echo = await startBackend({ name: 'echo' });
    cleanup.push(() => echo.close());
    const { lb } = await setup(engine, { requestReadTimeout: 'header=1-2,MinRate=500 body=1,MinRate=500', balancers: { c: { members: [{ url: echo.url, route: 'e' }] } } });
    const slowHead = rawConn(lb.port);
    await slowHead.ready;
    slowHead.write('GET /slow HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n');
    const slowBody = rawConn(lb.port);
    await slowBody.ready;
    slowBody.write('POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    // Meanwhile others are served.
    assert.equal((await get(lb.port, '/fast')).status, 200);
    await until(() => slowHead.closed(), 'the slow head to be cut', 10_000);
    await until(() => slowBody.closed(), 'the slow body to be cut', 10_000);
    assert.match(slowHead.text(), /^HTTP\/1\.1 408 |^$/);
    assert.match(slowBody.text(), /^HTTP\/1\.1 408 /);
    assert.ok(!echo.seen.some((r) => r.url === '/slow' || r.url === '/slow-body'), 'neither slow request reached the member whole');
    const counters = lb.app.server.edge.counters;
    assert.ok(counters.bodyTimeouts === 1 && (engine === 'node' || counters.headerTimeouts === 1), JSON.stringify(counters.snapshot()));
  });

  test(`${engine}: MaxKeepAliveRequests closes the connection after that many answers`, async () => {
    const { lb } = await setup(engine, { maxKeepAliveRequests: 3 });
    const c = rawConn(lb.port);
    await c.ready;
    c.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => c.closed(), 'the connection to close after the third answer');
    const answers = c.text().match(/HTTP\/1\.1 \d{3}/g) ?? [];
    assert.equal(answers.length, 3);
    assert.match(c.text().slice(c.text().lastIndexOf('HTTP/1.1')), /Connection: close/i);
  });

  test(`${engine}: a per-client connection limit: the extra connection gets 503 and is closed; other clients are served`, async () => {
    const { lb } = await setup(engine, { maxConnectionsPerClient: 2 });
    const held = [rawConn(lb.port), rawConn(lb.port)];
    await Promise.all(held.map((h) => h.ready));
    await until(() => lb.app.server.edge.connections.of('127.0.0.1') === 2, 'two connections counted');
    const third = rawConn(lb.port);
    await third.ready;
    await until(() => third.closed(), 'the third connection to be refused');
    assert.match(third.text(), /^HTTP\/1\.1 503 /);
    // Another address is not limited by this one's connections.
    assert.equal((await get(lb.port, '/x', { from: '127.0.0.2' })).status, 200);
    for (const h of held) h.socket.destroy();
    await until(() => lb.app.server.edge.connections.of('127.0.0.1') === 0, 'the held connections to close');
    assert.equal((await get(lb.port, '/x')).status, 200);
    assert.equal(lb.app.server.edge.counters.connectionsRefusedPerClient, 1);
  });

  test(`${engine}: a per-client rate limit answers 429 with Retry-After; counters in the manager API and metrics`, async () => {
    const { lb } = await setup(engine, { rateLimits: [{ path: '/api', requests: 3, window: '1m' }] });
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push((await get(lb.port, '/api/x')).status);
    assert.deepEqual(got, [200, 200, 200, 429, 429]);
    const limited = await get(lb.port, '/api/x');
    assert.equal(limited.status, 429);
    assert.match(String(limited.headers['retry-after']), /^\d+$/);
    // Another client has its own window; other paths are not limited.
    assert.equal((await get(lb.port, '/api/x', { from: '127.0.0.2' })).status, 200);
    assert.equal((await get(lb.port, '/other')).status, 200);
    const api = (await request(`${lb.url}/balancer-manager/api/limits`)).json();
    assert.equal(api.counters.rateLimited, 3);
    assert.deepEqual(api.rateLimits, [{ rule: '/api 3/60s', allowed: 4, limited: 3, clients: 2 }]);
    const metrics = (await request(`${lb.url}/metrics`)).body;
    assert.match(metrics, /stickylb_edge_refused_total\{reason="rate-limit"\} 3/);
  });
}
