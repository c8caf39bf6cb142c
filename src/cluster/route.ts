// Where a node's route comes from and what a route may look like. A node is started with its own
// route (STICKYLB_ROUTE=first) and everything else identical, as Seaside images are with
// `WAAdmin makeAllClusteredWith: 'first'`. A bad route is refused at start-up: a node that issues
// session ids the balancer cannot route would lose every session on its next request.
import { ClusterError } from './errors.js';

/** The environment variable that names the node's route. */
export const ROUTE_ENV = 'STICKYLB_ROUTE';

/** The default separator between the random part of a session id and the route. */
export const DEFAULT_SEPARATOR = '.';

/**
 * Separators that pass unencoded through encodeURIComponent, URLSearchParams and cookie
 * serialisation: the balancer compares raw bytes and never decodes, so an encoded separator
 * would hide the route.
 */
export const SEPARATORS: readonly string[] = ['.', '-', '_', '*'];

/** The balancer (like Apache) refuses routes of 64 characters or more. */
export const MAX_ROUTE_LENGTH = 63;

const ROUTE_CHARS = /^[A-Za-z0-9_-]+$/;

/** Refuses a separator the balancer could not see. */
export function validateSeparator(separator: string): string {
  if (!SEPARATORS.includes(separator)) {
    throw new ClusterError(
      'ERR_STICKYLB_SEPARATOR',
      `session id separator ${JSON.stringify(separator)} is not supported: use one of ${SEPARATORS.map((s) => JSON.stringify(s)).join(', ')} ` +
        '(one character that URLs and cookies carry unencoded), and set the same stickysessionsep on the balancer',
    );
  }
  return separator;
}

/**
 * Refuses a route that the balancer could not find again in a session id: empty, too long,
 * containing the separator (the balancer takes everything after the first separator), or with
 * characters outside [A-Za-z0-9_-]. `source` names where the route came from, for the message.
 */
export function validateRoute(route: string, separator = DEFAULT_SEPARATOR, source = 'route'): string {
  validateSeparator(separator);
  if (route.length === 0) {
    throw new ClusterError(
      'ERR_STICKYLB_ROUTE_EMPTY',
      `${source} is empty: give each node a non-empty route made of [A-Za-z0-9_-], the same as route= on its BalancerMember (e.g. ${ROUTE_ENV}=first)`,
    );
  }
  if (route.length > MAX_ROUTE_LENGTH) {
    throw new ClusterError(
      'ERR_STICKYLB_ROUTE_LENGTH',
      `${source} ${JSON.stringify(route)} is ${route.length} characters long: routes must be shorter than 64 characters`,
    );
  }
  if (route.includes(separator)) {
    throw new ClusterError(
      'ERR_STICKYLB_ROUTE_SEPARATOR',
      `${source} ${JSON.stringify(route)} contains the session id separator ${JSON.stringify(separator)}: ` +
        `the balancer takes everything after the first ${JSON.stringify(separator)} as the route, so it would look for ` +
        `${JSON.stringify(route.slice(route.indexOf(separator) + 1))}; use only [A-Za-z0-9_-] without ${JSON.stringify(separator)}`,
    );
  }
  if (!ROUTE_CHARS.test(route)) {
    const bad = [...route].find((c) => !ROUTE_CHARS.test(c)) ?? '';
    throw new ClusterError(
      'ERR_STICKYLB_ROUTE_CHARS',
      `${source} ${JSON.stringify(route)} contains ${JSON.stringify(bad)}: routes may contain only letters, digits, "_" and "-" ` +
        '(they travel unencoded in URLs and cookies)',
    );
  }
  return route;
}

/**
 * The node's route: the explicit one if given, else STICKYLB_ROUTE from `env`. Throws a
 * ClusterError when neither is set or the value is not a usable route.
 */
export function resolveRoute(
  explicit: string | undefined,
  separator = DEFAULT_SEPARATOR,
  env: Record<string, string | undefined> = process.env,
): string {
  if (explicit !== undefined) return validateRoute(explicit, separator, 'route');
  const fromEnv = env[ROUTE_ENV];
  if (fromEnv === undefined) {
    throw new ClusterError(
      'ERR_STICKYLB_ROUTE_MISSING',
      `${ROUTE_ENV} is not set: start each node with its own route (${ROUTE_ENV}=first), the same as route=first on its BalancerMember, or pass the route explicitly`,
    );
  }
  return validateRoute(fromEnv, separator, ROUTE_ENV);
}
