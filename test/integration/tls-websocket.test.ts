// WebSocket over TLS (wss://, the HTTP/1.1 upgrade on a TLS listener): a raw `ws` client, and
// socket.io-client (polling handshake, then the upgrade) sticking to the node that issued its sid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { io as connect, type Socket } from 'socket.io-client';
import { routeOf } from '../../src/cluster/index.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { startSocketIoNode, type SocketIoNode } from '../helpers/cluster-apps.js';
import { certDir, makeCa, makeCert, writeCert, type TestKeyPair } from '../helpers/certs.js';

let ca: TestKeyPair;
let files: { cert: string; key: string };
let nodes: SocketIoNode[];
let lb: RunningBalancer;
let echo: http.Server;
let echoPort: number;
const upgrades: { proto: string | undefined; host: string | undefined }[] = [];

before(async () => {
  ca = await makeCa();
  files = writeCert(certDir(), 'a', await makeCert(ca, ['a.test', 'localhost']));
  nodes = [await startSocketIoNode('first'), await startSocketIoNode('second')];
  // A plain WebSocket echo member that notes the forwarding headers of its upgrades.
  echo = http.createServer();
  const wss = new WebSocketServer({ server: echo });
  wss.on('connection', (ws, req) => {
    upgrades.push({ proto: req.headers['x-forwarded-proto'] as string | undefined, host: req.headers['x-forwarded-host'] as string | undefined });
    ws.on('message', (m) => ws.send(`echo ${m}`));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as { port: number }).port;
  lb = await startBalancer(
    {
      listen: [{ host: '127.0.0.1', port: 0, tls: true }],
      serverName: 'localhost',
      tls: files,
      balancers: {
        chat: { stickysession: 'io|sid', nofailover: true, members: nodes.map((n) => ({ url: n.url, route: n.route })) },
        echo: { members: [{ url: `http://127.0.0.1:${echoPort}` }] },
      },
      proxyPass: [
        { path: '/echo', to: 'balancer://echo/echo' },
        { path: '/', to: 'balancer://chat/' },
      ],
    },
    { plugins: [] },
  );
});

after(async () => {
  await lb?.close();
  await Promise.all((nodes ?? []).map((n) => n.close()));
  echo?.closeAllConnections();
  await new Promise((r) => echo?.close(r));
});

test('wss:// through the TLS listener: the upgrade is proxied, messages go both ways, the member sees X-Forwarded-Proto https', async () => {
  const ws = new WebSocket(`wss://localhost:${lb.port}/echo`, { ca: ca.certPem });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const replies: string[] = [];
  for (let i = 0; i < 20; i++) {
    ws.send(`m${i}`);
    replies.push(await new Promise<string>((r) => ws.once('message', (d) => r(String(d)))));
  }
  ws.close();
  assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => `echo m${i}`));
  assert.deepEqual(upgrades.at(-1), { proto: 'https', host: `localhost:${lb.port}` });
});

test('socket.io-client over wss://: polling handshake, upgrade, every message on the node that issued the sid', async () => {
  const routes = new Set<string>();
  for (let c = 0; c < 4; c++) {
    const socket: Socket = connect(`https://localhost:${lb.port}`, { ca: ca.certPem, reconnection: false, forceNew: true, timeout: 10_000 } as never);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on('connect', resolve);
        socket.on('connect_error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        if (socket.io.engine.transport.name === 'websocket') return resolve();
        socket.io.engine.once('upgrade', () => resolve());
        socket.io.engine.once('upgradeError', reject);
      });
      const sid = socket.io.engine.id;
      const route = routeOf(sid)!;
      routes.add(route);
      for (let i = 0; i < 10; i++) {
        const r = await socket.timeout(10_000).emitWithAck('msg', { i });
        assert.deepEqual(r, { route, sid, transport: 'websocket', i });
      }
      const home = nodes.find((n) => n.route === route)!;
      assert.equal(home.seen.filter((s) => s.sid === sid && s.transport === 'websocket' && s.upgrade).length, 1);
    } finally {
      socket.disconnect();
    }
  }
  assert.deepEqual([...routes].sort(), ['first', 'second']);
});
