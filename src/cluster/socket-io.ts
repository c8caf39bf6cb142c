// socket.io / engine.io. The engine's session id (`sid`) is what every later request of a client
// carries: in the query string of each polling request and of the WebSocket upgrade
// (`/socket.io/?EIO=4&transport=polling&sid=<id>`), and, when the server's `cookie` option is on, in
// the cookie `io` (engine.io's default name) set by the handshake answer. With route-suffixed sids
// the balancer sticks on `stickysession=io|sid` and never needs a table of connections.
import { createCluster, type Cluster, type ClusterOptions } from './session-id.js';

/** engine.io's default cookie name (when `cookie: true` or `cookie: {}`). */
export const ENGINE_IO_COOKIE = 'io';

/** The query parameter engine.io clients use for the session id. */
export const ENGINE_IO_SID_PARAM = 'sid';

/** `io.engine.generateId = clusterGenerateId()`: route-suffixed sids. Throws at once on a bad route. */
export function clusterGenerateId(options?: Cluster | ClusterOptions): (req?: unknown) => string {
  const cluster = options && 'newSessionId' in options ? options : createCluster(options);
  return () => cluster.newSessionId();
}
