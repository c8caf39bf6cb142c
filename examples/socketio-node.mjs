// socket.io whose engine.io session ids carry the node's route, from stickylb/cluster.
//   PORT=8081 STICKYLB_ROUTE=first  node examples/socketio-node.mjs
//   PORT=8082 STICKYLB_ROUTE=second node examples/socketio-node.mjs
// Balancer: stickysession=io|sid (engine.io's cookie `io`, and the `sid` URL parameter of every
// polling request and of the WebSocket upgrade), nofailover=On.
import http from 'node:http';
import { Server } from 'socket.io';
import { clusterGenerateId, createCluster, liveSessionsHandler } from 'stickylb/cluster';

// Reads STICKYLB_ROUTE; a missing or unusable route stops the node here, at start-up.
const cluster = createCluster();

const page = `<!doctype html><meta charset="utf-8"><title>node ${cluster.route}</title>
<p>Connected to node <strong>${cluster.route}</strong>; messages echoed by: <span id="log"></span></p>
<script src="/socket.io/socket.io.js"></script>
<script>
  const socket = io();
  setInterval(() => socket.emit('hello', Date.now(), (reply) => {
    document.getElementById('log').textContent = reply.route + ' over ' + reply.transport;
  }), 1000);
</script>\n`;

const server = http.createServer((req, res) => {
  // GET /.well-known/stickylb/sessions -> {"route":"first","sessions":N} (open connections).
  if (live(req, res)) return;
  if (req.url === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
    return;
  }
  // engine.io answers /socket.io/ itself and hands only other requests to this handler.
  res.writeHead(404).end();
});

// `cookie: true` makes engine.io set the cookie `io=<sid>` on the handshake; without it the sid
// travels only in URLs, which `stickysession=io|sid` covers as well.
const io = new Server(server, { cookie: true });
io.engine.generateId = clusterGenerateId(cluster); // sids such as `Xk3f9…q.first`
const live = liveSessionsHandler({ route: cluster, count: () => io.engine.clientsCount });

io.on('connection', (socket) => {
  socket.on('hello', (payload, ack) => ack({ route: cluster.route, transport: socket.conn.transport.name, payload }));
});

server.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`socket.io example route=${cluster.route} listening on http://${address}:${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => io.close(() => process.exit(0)));
}
