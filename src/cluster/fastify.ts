// Fastify with @fastify/session, without loading either:
// - `clusterIdGenerator()`: the `idGenerator` option, so session ids carry the route;
// - `clusterSigner(secret)`: the `secret` option. @fastify/session signs the cookie as
//   `<id>.<signature>`, in which the balancer would read the route `first.<signature>`; this signer
//   writes `<hex signature>~<random>.first` instead, which it also verifies.
import { createCluster, type Cluster, type ClusterOptions } from './session-id.js';
import { routeLastSigner, type CookieSigner } from './signed-cookie.js';

/** @fastify/session's default cookie name. */
export const FASTIFY_SESSION_COOKIE = 'sessionId';

/** `idGenerator: clusterIdGenerator()`: route-suffixed ids. Throws at once on a bad route. */
export function clusterIdGenerator(options?: Cluster | ClusterOptions): (request?: unknown) => string {
  const cluster = options && 'newSessionId' in options ? options : createCluster(options);
  return () => cluster.newSessionId();
}

/** `secret: clusterSigner(secret)`: a signer whose cookies keep the route last. */
export function clusterSigner(secret: string | readonly string[]): CookieSigner {
  return routeLastSigner(secret);
}
