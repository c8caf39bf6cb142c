// WebSocket through the balancer: the upgrade takes the same sticky pick as ordinary requests,
// then messages flow both ways on the session's node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { startWsNode, type WsNode } from '../helpers/ws-node.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { deadPort } from '../helpers/backends.js';
import { until } from '../helpers/http.js';

let first: WsNode;
let second: WsNode;
let lb: RunningBalancer;

before(async () => {
  first = await startWsNode('first');
  second = await startWsNode('second');
  lb = await startBalancer({
    balancers: {
      c: {
        stickysession: '_s',
        nofailover: true,
        members: [
          { url: first.url, route: 'first' },
          { url: second.url, route: 'second' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
});

after(async () => {
  await lb.close();
  await first.close();
  await second.close();
});

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

function next(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, binary) => resolve({ data: data as Buffer, binary })));
}

test('websocket: the upgrade follows the session cookie and echoes on the sticky node', async () => {
  for (const route of ['second', 'first', 'second']) {
    const ws = await open(`ws://127.0.0.1:${lb.port}/live?x=1`, { Cookie: `_s=abc.${route}` });
    try {
      for (let i = 0; i < 5; i++) {
        const reply = next(ws);
        ws.send(`hello ${i}`);
        assert.equal((await reply).data.toString(), `${route}:hello ${i}`);
      }
      const payload = Buffer.from([0, 1, 2, 255, 254]);
      const reply = next(ws);
      ws.send(payload, { binary: true });
      const got = await reply;
      assert.equal(got.binary, true);
      assert.ok(got.data.equals(payload));
      const big = 'x'.repeat(200_000);
      const bigReply = next(ws);
      ws.send(big);
      assert.equal((await bigReply).data.toString(), `${route}:${big}`);
    } finally {
      ws.close();
    }
  }
  const last = second.upgrades[second.upgrades.length - 1];
  assert.equal(last.cookie, '_s=abc.second');
  assert.equal(last.upgrade, 'websocket');
  assert.equal(last['x-forwarded-for'], '127.0.0.1');
});

test('websocket: the URL session parameter is used too, and busy returns to 0 after close', async () => {
  const b = lb.app.runtime.balancer('c')!;
  const m = b.member('first')!;
  const ws = await open(`ws://127.0.0.1:${lb.port}/live?_s=abc.first`);
  const reply = next(ws);
  ws.send('ping');
  assert.equal((await reply).data.toString(), 'first:ping');
  assert.equal(m.busy, 1);
  assert.ok(m.bytesTo > 0 && m.bytesFrom > 0);
  ws.close();
  await until(() => m.busy === 0, 'busy back to 0 after the socket closed');
});

test('websocket: a known but unusable sticky node → 503 with nofailover', async () => {
  const b = lb.app.runtime.balancer('c')!;
  const m = b.member('first')!;
  b.setFlag(m, 'D', true, 'test');
  try {
    await assert.rejects(open(`ws://127.0.0.1:${lb.port}/live`, { Cookie: '_s=abc.first' }), /unexpected response 503/);
    const ws = await open(`ws://127.0.0.1:${lb.port}/live`, { Cookie: '_s=abc.second' });
    ws.close();
  } finally {
    b.setFlag(m, 'D', false, 'test');
  }
});

test('websocket: a refused upgrade passes the member\'s answer on', async () => {
  // A member without WebSocket support answers the handshake as an ordinary request.
  const plain = http.createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
    res.end('upgrade required');
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  const lb2 = await startBalancer({
    balancers: { c: { members: [{ url: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`, route: 'plain' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    await assert.rejects(open(`ws://127.0.0.1:${lb2.port}/live`), /unexpected response 426/);
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(`${lb2.url}/plain`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
    });
    assert.equal(r.status, 426);
    assert.equal(r.body, 'upgrade required');
    await until(() => lb2.app.runtime.balancer('c')!.members[0].busy === 0, 'busy back to 0');
  } finally {
    await lb2.close();
    plain.closeAllConnections();
    await new Promise<void>((r) => plain.close(() => r()));
  }
});

test('websocket: a dead member fails over when nofailover is Off', async () => {
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const lb2 = await startBalancer({
    balancers: { c: { members: [{ url: dead, route: 'dead' }, { url: second.url, route: 'second' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    const ws = await open(`ws://127.0.0.1:${lb2.port}/live`);
    const reply = next(ws);
    ws.send('x');
    assert.equal((await reply).data.toString(), 'second:x');
    ws.close();
    assert.equal(lb2.app.runtime.balancer('c')!.member('dead')!.flags.E, true);
  } finally {
    await lb2.close();
  }
});

test('websocket: a member that never answers the handshake → 504 after the member timeout', async () => {
  // Accepts the connection, reads the handshake, says nothing.
  const silent = net.createServer((s) => {
    s.on('error', () => {});
    s.resume();
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const lb2 = await startBalancer({
    balancers: { c: { members: [{ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, route: 'silent', timeout: '200ms' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    const t0 = Date.now();
    await assert.rejects(open(`ws://127.0.0.1:${lb2.port}/live`), /unexpected response 504/);
    assert.ok(Date.now() - t0 >= 190, `answered after ${Date.now() - t0} ms`);
    const m = lb2.app.runtime.balancer('c')!.members[0];
    await until(() => m.busy === 0, 'busy back to 0');
    assert.equal(m.flags.E, false);
  } finally {
    await lb2.close();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('websocket: the member response timeout covers the handshake only, not an idle tunnel', async () => {
  const lb2 = await startBalancer({
    balancers: { c: { members: [{ url: second.url, route: 'second', timeout: '100ms' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    const ws = await open(`ws://127.0.0.1:${lb2.port}/live`);
    // Idle for three times the member timeout: the tunnel must stay up.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ws.readyState, WebSocket.OPEN);
    const reply = next(ws);
    ws.send('still here');
    assert.equal((await reply).data.toString(), 'second:still here');
    ws.close();
  } finally {
    await lb2.close();
  }
});

test('websocket: the Host sent to an IPv6 member is bracketed, as for ordinary requests', async (t) => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(req.headers.host);
  });
  const wss = new WebSocketServer({ server });
  const hosts: string[] = [];
  wss.on('connection', (ws, req) => {
    hosts.push(req.headers.host ?? '');
    ws.close();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::1', () => resolve());
    });
  } catch {
    t.skip('no IPv6 loopback on this machine');
    return;
  }
  const port = (server.address() as AddressInfo).port;
  const lb2 = await startBalancer({
    balancers: { c: { members: [{ url: `http://[::1]:${port}`, route: 'v6' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    const ws = await open(`ws://127.0.0.1:${lb2.port}/live`);
    await new Promise((r) => ws.once('close', r));
    assert.deepEqual(hosts, [`[::1]:${port}`]);
    const plain = await new Promise<string>((resolve, reject) => {
      http.get(`${lb2.url}/`, (res) => {
        let s = '';
        res.on('data', (d) => (s += d));
        res.on('end', () => resolve(s));
      }).on('error', reject);
    });
    assert.equal(plain, `[::1]:${port}`);
  } finally {
    await lb2.close();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('websocket: a client that leaves during the handshake leaves no tunnel behind', async () => {
  // The member takes a while to accept the upgrade.
  const server = http.createServer();
  const wss = new WebSocketServer({ server, verifyClient: (_info, cb) => setTimeout(() => cb(true), 100) });
  let opened = 0;
  wss.on('connection', () => opened++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const lb2 = await startBalancer({
    balancers: { c: { members: [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, route: 'slow' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    const m = lb2.app.runtime.balancer('c')!.members[0];
    const s = net.connect(lb2.port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('GET /live HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    await until(() => m.busy === 1, 'the handshake to reach the member');
    s.destroy();
    // Whether or not the member got to accept, nothing stays open.
    await until(() => m.busy === 0 && wss.clients.size === 0, 'the member side to be closed', 3000);
    assert.ok(opened <= 1);
  } finally {
    await lb2.close();
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
