// A bare node:http app with Seaside-like sessions from stickylb/cluster.
// Run one per node, each with its own route:
//   PORT=8081 STICKYLB_ROUTE=first  node examples/http-node.mjs
//   PORT=8082 STICKYLB_ROUTE=second node examples/http-node.mjs
// Balancer: stickysession=_s|_s (cookie `_s` and URL parameter `_s`), nofailover=On.
import http from 'node:http';
import { createSessions, liveSessionsHandler } from 'stickylb/cluster';

// Reads STICKYLB_ROUTE; a missing or unusable route stops the node here, at start-up.
const sessions = createSessions({ create: () => ({ visits: 0 }) });
const route = sessions.cluster.route;
const live = liveSessionsHandler({ route, count: () => sessions.size });

const server = http.createServer((req, res) => {
  // GET /.well-known/stickylb/sessions -> {"route":"first","sessions":N}
  if (live(req, res)) return;
  if (req.url === '/favicon.ico') {
    res.writeHead(404).end();
    return;
  }
  // `_s` from the URL (?_s= or ;_s=) or else the `_s` cookie; a new session when there is none.
  const { session } = sessions.resume(req, res);
  session.data.visits++;
  // Links carry `_s`, so the app also works with cookies off. Ids and routes are [A-Za-z0-9_.-].
  const again = sessions.url('/', session);
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><title>node ${route}</title>
<p>Visit <strong id="visits">${session.data.visits}</strong> of session <code>${session.id}</code>,
served by node <strong>${route}</strong> (pid ${process.pid}).</p>
<p><a href="${again}">Again</a></p>\n`);
});

server.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`http example route=${route} listening on http://${address}:${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    sessions.close();
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
