// Fastify with @fastify/session, made sticky with stickylb/cluster.
//   PORT=8081 STICKYLB_ROUTE=first  node examples/fastify-node.mjs
//   PORT=8082 STICKYLB_ROUTE=second node examples/fastify-node.mjs
// Balancer: stickysession=sessionId, nofailover=On.
import Fastify from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { LIVE_SESSIONS_PATH, clusterIdGenerator, clusterSigner, createCluster } from 'stickylb/cluster';

// Reads STICKYLB_ROUTE; a missing or unusable route stops the node here, at start-up.
const cluster = createCluster();
const sessions = new Map();
const app = Fastify();

await app.register(fastifyCookie);
await app.register(fastifySession, {
  idGenerator: clusterIdGenerator(cluster), // ids such as `Xk3f9…q.first`
  // @fastify/session signs its cookie as `<id>.<signature>`, which would put the signature after
  // the route; this signer writes `<hex signature>~<random>.first` instead.
  secret: clusterSigner(process.env.SESSION_SECRET ?? 'replace me with a long random secret, the same on every node'),
  cookie: { secure: process.env.COOKIE_SECURE === '1' },
  store: {
    set: (id, s, cb) => (sessions.set(id, s), cb()),
    get: (id, cb) => cb(null, sessions.get(id)),
    destroy: (id, cb) => (sessions.delete(id), cb()),
  },
});

// {"route":"first","sessions":N}: what a rolling restart polls before stopping a drained node.
app.get(LIVE_SESSIONS_PATH, async () => ({ route: cluster.route, sessions: sessions.size }));

app.get('/', async (request) => {
  const visits = (request.session.get('visits') ?? 0) + 1;
  request.session.set('visits', visits);
  return { route: cluster.route, pid: process.pid, session: request.session.sessionId, visits };
});

const url = await app.listen({ port: Number(process.env.PORT ?? 8081), host: process.env.HOST ?? '127.0.0.1' });
console.log(`fastify example route=${cluster.route} listening on ${url}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => app.close().then(() => process.exit(0)));
}
