// stickylb/cluster: the app-side half of sticky sessions. Each node appends its route to the
// session ids it issues (`<random>.first`), and the balancer reads the route back out. Nothing here
// loads a web framework; the adapters take plain values and return plain functions.
export { ClusterError, type ClusterErrorCode } from './errors.js';
export { DEFAULT_SEPARATOR, MAX_ROUTE_LENGTH, ROUTE_ENV, SEPARATORS, resolveRoute, validateRoute, validateSeparator } from './route.js';
export {
  MIN_BITS,
  alphabetFor,
  createCluster,
  defaultCluster,
  isOwnSession,
  newSessionId,
  randomToken,
  routeOf,
  type Cluster,
  type ClusterOptions,
} from './session-id.js';
export { appendSetCookie, cookieValue, serializeCookie, type CookieOptions } from './cookies.js';
export { urlParam, withParams } from './url.js';
export {
  DEFAULT_SESSION_KEY,
  DEFAULT_TTL_MS,
  createSessions,
  readSessionId,
  type Resumed,
  type Session,
  type SessionSource,
  type Sessions,
  type SessionsOptions,
} from './http.js';
export { LIVE_SESSIONS_PATH, liveSessionsHandler, type LiveSessionsBody, type LiveSessionsOptions } from './live-sessions.js';
export { SIGNATURE_MARK, expressToRouteLast, routeLastSigner, routeLastToExpress, type CookieSigner } from './signed-cookie.js';
export { EXPRESS_SESSION_COOKIE, clusterGenid, clusterSessionCookie, storeLength, type SessionCookieOptions } from './express.js';
export { FASTIFY_SESSION_COOKIE, clusterIdGenerator, clusterSigner } from './fastify.js';
export { ENGINE_IO_COOKIE, ENGINE_IO_SID_PARAM, clusterGenerateId } from './socket-io.js';
