// Failover with the request body sent again (Apache's proxy_balancer.t: a dead first member and a
// hot standby echo POST bodies of 8, 64, 2048 and 4096 bytes), and the bounded replay of a
// request whose pooled keep-alive connection turns out dead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { startBackend, deadPort, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';

/** POSTs `body` (or streams `chunks` with chunked encoding) and returns status, member and echoed bytes. */
function post(url: string, body: Buffer | Buffer[], headers: Record<string, string> = {}): Promise<{ status: number; member?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunked = Array.isArray(body);
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: chunked ? headers : { ...headers, 'Content-Length': String(body.length) },
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, member: res.headers['x-member'] as string | undefined, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (chunked) {
      for (const c of body) req.write(c);
      req.end();
    } else req.end(body);
  });
}

/** Echoes the request body byte for byte and says who answered. */
function echo(name: string) {
  return (_req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Member': name, 'X-Length': String(body.length) });
    res.end(body);
  };
}

const SIZES = [8, 64, 2048, 4096, 100 * 1024];

let alive: Backend;
let lbStandby: RunningBalancer;
let lbSticky: RunningBalancer;

before(async () => {
  alive = await startBackend({ name: 'alive', handler: echo('alive') });
  const dead = `http://127.0.0.1:${await deadPort()}`;
  lbStandby = await startBalancer({
    balancers: { c: { members: [{ url: dead, route: 'dead' }, { url: alive.url, route: 'alive', status: '+H' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  lbSticky = await startBalancer({
    balancers: { c: { stickysession: '_s', nofailover: false, members: [{ url: dead, route: 'dead' }, { url: alive.url, route: 'alive' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
});

after(async () => {
  await lbStandby.close();
  await lbSticky.close();
  await alive.close();
});

/** Puts the dead member back in service so the next request meets it first. */
function revive(lb: RunningBalancer): { errors: () => number } {
  const b = lb.app.runtime.balancer('c')!;
  const m = b.member('dead')!;
  b.setFlag(m, 'E', false, 'test');
  // Its byrequests turn comes first.
  for (const x of b.members) x.lbstatus = 0;
  return { errors: () => m.errors };
}

for (const size of SIZES) {
  test(`failover to a hot standby replays a ${size}-byte POST body byte for byte`, async () => {
    const dead = revive(lbStandby);
    const before = dead.errors();
    const body = randomBytes(size);
    const r = await post(`${lbStandby.url}/echo`, body);
    assert.equal(r.status, 200);
    assert.equal(r.member, 'alive');
    assert.equal(dead.errors(), before + 1, 'the dead member was tried first');
    assert.ok(r.body.equals(body), `echo differs: got ${r.body.length} bytes`);
  });
}

test('failover of a sticky request (nofailover Off) replays Content-Length and chunked bodies', async () => {
  for (const size of SIZES) {
    const dead = revive(lbSticky);
    const before = dead.errors();
    const body = randomBytes(size);
    const r = await post(`${lbSticky.url}/echo?_s=abc.dead`, body);
    assert.equal(r.status, 200, `size ${size}`);
    assert.equal(dead.errors(), before + 1);
    assert.ok(r.body.equals(body), `size ${size}`);
  }
  const dead = revive(lbSticky);
  const before = dead.errors();
  const chunks = [randomBytes(1), randomBytes(10_000), randomBytes(70_000), randomBytes(3)];
  const r = await post(`${lbSticky.url}/echo`, chunks, { Cookie: '_s=abc.dead' });
  assert.equal(r.status, 200);
  assert.equal(dead.errors(), before + 1);
  assert.ok(r.body.equals(Buffer.concat(chunks)));
  const seen = alive.seen[alive.seen.length - 1];
  assert.equal(seen.headers['transfer-encoding'], 'chunked');
});

test('nofailover On: a dead sticky member gives 503 and the body goes nowhere', async () => {
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const lb = await startBalancer({
    balancers: { c: { stickysession: '_s', nofailover: true, members: [{ url: dead, route: 'dead' }, { url: alive.url, route: 'alive' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    const seen = alive.seen.length;
    const r = await post(`${lb.url}/echo?_s=abc.dead`, randomBytes(100));
    assert.equal(r.status, 503);
    assert.equal(alive.seen.length, seen);
  } finally {
    await lb.close();
  }
});

// ---- A pooled keep-alive connection that the member closed ----

interface Flaky {
  url: string;
  /** Request bodies the member received completely, with the connection number. */
  got: { conn: number; body: Buffer }[];
  connections: number;
  /**
   * 'reused': reset requests that arrive on a connection that already answered, at once;
   * 'reused-after-body': the same, once the whole body was read; 'all': reset everything.
   */
  mode: 'reused' | 'reused-after-body' | 'all' | 'none';
  close(): Promise<void>;
}

/** A member that drops a keep-alive connection when the next request arrives on it. */
async function flakyBackend(): Promise<Flaky> {
  const answered = new WeakMap<Socket, number>();
  const ids = new WeakMap<Socket, number>();
  const server = http.createServer({ keepAliveTimeout: 30_000 });
  const f: Flaky = { url: '', got: [], connections: 0, mode: 'reused', close: async () => {} };
  server.on('connection', (s: Socket) => ids.set(s, ++f.connections));
  server.on('request', (req, res) => {
    const n = answered.get(req.socket) ?? 0;
    if (f.mode === 'all' || (f.mode === 'reused' && n > 0)) {
      req.socket.destroy();
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (f.mode === 'reused-after-body' && n > 0) {
        req.socket.destroy();
        return;
      }
      const body = Buffer.concat(parts);
      f.got.push({ conn: ids.get(req.socket)!, body });
      answered.set(req.socket, n + 1);
      res.writeHead(200, { 'X-Member': 'flaky', 'Content-Type': 'application/octet-stream' });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  f.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  f.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return f;
}

test('a request on a dead pooled keep-alive connection is sent once more on a fresh one', async () => {
  const flaky = await flakyBackend();
  const lb = await startBalancer({
    balancers: { c: { members: [{ url: flaky.url, route: 'f' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    const warm = await post(`${lb.url}/warm`, Buffer.from('warm'));
    assert.equal(warm.status, 200);
    assert.equal(flaky.connections, 1);
    for (const size of [0, 8, 4096, 60_000]) {
      const body = randomBytes(size);
      const got = flaky.got.length;
      const conns: number = flaky.connections;
      const r = await post(`${lb.url}/again`, body);
      assert.equal(r.status, 200, `size ${size}`);
      assert.ok(r.body.equals(body), `size ${size}`);
      // The pooled connection was dropped, and the replay went over exactly one new connection.
      assert.equal(flaky.connections, conns + 1);
      assert.equal(flaky.got.length, got + 1);
      assert.equal(flaky.got[flaky.got.length - 1].conn, conns + 1);
    }
    // A stale connection is no member failure.
    const m = lb.app.runtime.balancer('c')!.members[0];
    assert.equal(m.flags.E, false);
    assert.equal(m.busy, 0);
  } finally {
    await lb.close();
    await flaky.close();
  }
});

test('the replay is bounded: once on a fresh connection, then 502; bodies over replayBuffer are not replayed', async () => {
  const flaky = await flakyBackend();
  const lb = await startBalancer({
    replayBuffer: 1024,
    balancers: { c: { members: [{ url: flaky.url, route: 'f' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    assert.equal((await post(`${lb.url}/warm`, Buffer.from('warm'))).status, 200);
    flaky.mode = 'all';
    const conns: number = flaky.connections;
    const r = await post(`${lb.url}/x`, randomBytes(100));
    assert.equal(r.status, 502);
    assert.equal(flaky.connections, conns + 1, 'one fresh connection, no more');

    flaky.mode = 'none';
    assert.equal((await post(`${lb.url}/warm`, Buffer.from('warm'))).status, 200);
    flaky.mode = 'reused-after-body';
    const conns2: number = flaky.connections;
    // 4 kB were read from the client and sent: more than replayBuffer keeps, so no replay.
    const r2 = await post(`${lb.url}/big`, randomBytes(4096));
    assert.equal(r2.status, 502);
    assert.equal(flaky.connections, conns2);
    // Within replayBuffer, the same failure is replayed on a fresh connection.
    flaky.mode = 'none';
    assert.equal((await post(`${lb.url}/warm`, Buffer.from('warm'))).status, 200);
    flaky.mode = 'reused-after-body';
    const small = randomBytes(1000);
    const r3 = await post(`${lb.url}/small`, small);
    assert.equal(r3.status, 200);
    assert.ok(r3.body.equals(small));
    const m = lb.app.runtime.balancer('c')!.members[0];
    assert.equal(m.busy, 0);
  } finally {
    await lb.close();
    await flaky.close();
  }
});
