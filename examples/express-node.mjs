// Express with express-session, made sticky with stickylb/cluster.
//   PORT=8081 STICKYLB_ROUTE=first  node examples/express-node.mjs
//   PORT=8082 STICKYLB_ROUTE=second node examples/express-node.mjs
// Balancer: stickysession=connect.sid, nofailover=On.
import express from 'express';
import session from 'express-session';
import { clusterGenid, clusterSessionCookie, createCluster, liveSessionsHandler, storeLength } from 'stickylb/cluster';

// Reads STICKYLB_ROUTE; a missing or unusable route stops the node here, at start-up.
const cluster = createCluster();
const store = new session.MemoryStore();
const app = express();

// GET /.well-known/stickylb/sessions -> {"route":"first","sessions":N}
app.use(liveSessionsHandler({ route: cluster, count: storeLength(store) }));
// Before session(): express-session signs its cookie as `s:<id>.<signature>`, which would put the
// signature after the route. This keeps the cookie as `<hex signature>~<random>.first` on the wire.
app.use(clusterSessionCookie());
app.use(
  session({
    genid: clusterGenid(cluster), // ids such as `Xk3f9…q.first`
    secret: process.env.SESSION_SECRET ?? 'replace me with a long random secret, the same on every node',
    resave: false,
    saveUninitialized: true,
    store,
  }),
);

app.get('/', (req, res) => {
  req.session.visits = (req.session.visits ?? 0) + 1;
  res.json({ route: cluster.route, pid: process.pid, session: req.sessionID, visits: req.session.visits });
});

const server = app.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`express example route=${cluster.route} listening on http://${address}:${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
