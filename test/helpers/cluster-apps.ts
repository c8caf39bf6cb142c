// Small Express, Fastify and socket.io nodes that use the stickylb/cluster adapters, on 127.0.0.1
// port 0. Each answer says which route served it; each node records the session ids it saw.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import Fastify from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { Server as SocketIoServer } from 'socket.io';
import {
  clusterGenerateId,
  clusterGenid,
  clusterIdGenerator,
  clusterSessionCookie,
  clusterSigner,
  cookieValue,
  createCluster,
  liveSessionsHandler,
  storeLength,
  urlParam,
  type Cluster,
} from '../../src/cluster/index.js';

export const SECRET = 'test secret, at least thirty-two characters long';

export interface AppNode {
  route: string;
  cluster: Cluster;
  port: number;
  url: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}

export interface ExpressNode extends AppNode {
  /** Requests answered by this node. */
  served: number;
}

/** Express + express-session (MemoryStore) with clusterGenid and clusterSessionCookie. */
export async function startExpressNode(route: string, opts: { routeLast?: boolean } = {}): Promise<ExpressNode> {
  const cluster = createCluster({ route });
  const store = new session.MemoryStore();
  const app = express();
  const node = { route, cluster, served: 0 } as ExpressNode;
  app.use(liveSessionsHandler({ route: cluster, count: storeLength(store) }));
  if (opts.routeLast !== false) app.use(clusterSessionCookie());
  app.use(session({ genid: clusterGenid(cluster), secret: SECRET, resave: false, saveUninitialized: true, store }));
  app.get('/count', (req, res) => {
    node.served++;
    const s = req.session as unknown as { n?: number };
    s.n = (s.n ?? 0) + 1;
    res.json({ route, n: s.n, id: req.sessionID });
  });
  const server = http.createServer(app);
  node.port = await listen(server);
  node.url = `http://127.0.0.1:${node.port}`;
  node.close = () => closeServer(server);
  return node;
}

/** Fastify + @fastify/session with clusterIdGenerator and clusterSigner. */
export async function startFastifyNode(route: string): Promise<AppNode> {
  const cluster = createCluster({ route });
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: clusterSigner(SECRET),
    idGenerator: clusterIdGenerator(cluster),
    cookie: { secure: false },
  });
  app.get('/count', async (request) => {
    const s = request.session as unknown as { get(k: string): unknown; set(k: string, v: unknown): void; sessionId: string };
    const n = ((s.get('n') as number | undefined) ?? 0) + 1;
    s.set('n', n);
    return { route, n, id: s.sessionId };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { route, cluster, port, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export interface SocketIoNode extends AppNode {
  io: SocketIoServer;
  /** Every polling request and WebSocket upgrade this node received after a handshake. */
  seen: { sid: string; transport: string; upgrade: boolean; cookie: string }[];
  /** Messages handled: the engine sid of the connection each came in on. */
  handled: { sid: string; transport: string }[];
}

/** socket.io whose engine issues route-suffixed sids; `cookie` turns engine.io's `io` cookie on. */
export async function startSocketIoNode(route: string, opts: { cookie?: boolean } = {}): Promise<SocketIoNode> {
  const cluster = createCluster({ route });
  const server = http.createServer();
  const node = { route, cluster, seen: [], handled: [] } as unknown as SocketIoNode;
  const note = (upgrade: boolean) => (req: http.IncomingMessage) => {
    const url = req.url ?? '';
    const sid = urlParam(url, 'sid');
    if (sid === undefined) return;
    node.seen.push({ sid, transport: urlParam(url, 'transport') ?? '', upgrade, cookie: cookieValue(req.headers.cookie, 'io') ?? '' });
  };
  const io = new SocketIoServer(server, { cookie: opts.cookie ? true : false, transports: ['polling', 'websocket'] });
  // After attaching: engine.io moves earlier 'request' listeners behind its own path check.
  server.prependListener('request', note(false));
  server.prependListener('upgrade', note(true));
  io.engine.generateId = clusterGenerateId(cluster);
  io.on('connection', (socket) => {
    socket.on('msg', (payload: { i: number }, ack: (reply: unknown) => void) => {
      // The engine's session id: engine.io types mark it private, but it is what the client sends as `sid`.
      const sid = (socket.conn as unknown as { id: string }).id;
      const transport = socket.conn.transport.name;
      node.handled.push({ sid, transport });
      ack({ route, sid, transport, i: payload.i });
    });
  });
  node.io = io;
  node.port = await listen(server);
  node.url = `http://127.0.0.1:${node.port}`;
  node.close = async () => {
    io.disconnectSockets(true);
    await new Promise<void>((r) => io.close(() => r()));
    await closeServer(server).catch(() => undefined);
  };
  return node;
}
