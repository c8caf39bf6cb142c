// Route-suffixed session ids: `<random>.<route>`, Seaside-Cluster's and Tomcat's jvmRoute format.
// The balancer keeps no table of sessions; it reads the route back out of the id, so the id is all
// the state there is. The random part comes from node:crypto and never contains the separator.
import { randomBytes } from 'node:crypto';
import { ClusterError } from './errors.js';
import { DEFAULT_SEPARATOR, resolveRoute, validateSeparator } from './route.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The least randomness a session id may carry. */
export const MIN_BITS = 128;

export interface ClusterOptions {
  /** The node's route; STICKYLB_ROUTE when absent. */
  route?: string;
  /** Between the random part and the route; must match the balancer's stickysessionsep. Default `.`. */
  separator?: string;
  /** Random bits per id, at least 128 (the default). */
  bits?: number;
  /** Where STICKYLB_ROUTE is read from; process.env by default. */
  env?: Record<string, string | undefined>;
}

export interface Cluster {
  readonly route: string;
  readonly separator: string;
  /** The characters of the random part: base64url without the separator. */
  readonly alphabet: string;
  /** A fresh id, `<random><separator><route>`. */
  newSessionId(): string;
  /** The route the balancer will read from `id` (what follows the first separator). */
  routeOf(id: string): string | undefined;
  /** True when `id` is well formed and carries this node's route. */
  isOwnSession(id: string): boolean;
}

/** The alphabet of the random part for a separator. */
export function alphabetFor(separator: string): string {
  return BASE64URL.split(separator).join('');
}

/**
 * A uniformly random string over `alphabet` (at most 64 characters) with at least `bits` bits.
 * Each byte gives 6 bits; values past the alphabet are dropped rather than folded, so no
 * character is more likely than another.
 */
export function randomToken(bits: number, alphabet: string): string {
  const length = Math.ceil(bits / Math.log2(alphabet.length));
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(length + 8);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const v = bytes[i] & 63;
      if (v < alphabet.length) out += alphabet[v];
    }
  }
  return out;
}

/** What the balancer reads as the route of `id`: the text after the first separator. */
export function routeOf(id: string, separator = DEFAULT_SEPARATOR): string | undefined {
  const at = id.indexOf(separator);
  if (at < 0) return undefined;
  const route = id.slice(at + separator.length);
  return route || undefined;
}

/**
 * The app-side half of a cluster node. Throws a ClusterError at once when the route, the
 * separator or the bit count is unusable, so a misconfigured node fails at start-up.
 */
export function createCluster(options: ClusterOptions = {}): Cluster {
  const separator = validateSeparator(options.separator ?? DEFAULT_SEPARATOR);
  const route = resolveRoute(options.route, separator, options.env ?? process.env);
  const bits = options.bits ?? MIN_BITS;
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > 1024) {
    throw new ClusterError('ERR_STICKYLB_OPTION', `bits must be an integer from ${MIN_BITS} to 1024, got ${String(options.bits)}`);
  }
  const alphabet = alphabetFor(separator);
  const suffix = separator + route;
  const isAlphabet = new Set(alphabet);
  return Object.freeze({
    route,
    separator,
    alphabet,
    newSessionId: () => randomToken(bits, alphabet) + suffix,
    routeOf: (id: string) => routeOf(id, separator),
    isOwnSession(id: string): boolean {
      if (typeof id !== 'string' || !id.endsWith(suffix)) return false;
      const random = id.slice(0, id.length - suffix.length);
      if (random.length === 0) return false;
      for (const c of random) if (!isAlphabet.has(c)) return false;
      return true;
    },
  });
}

let fromEnv: { key: string; cluster: Cluster } | undefined;

/** The cluster described by STICKYLB_ROUTE with default options, built once per route value. */
export function defaultCluster(): Cluster {
  const key = process.env.STICKYLB_ROUTE ?? '\u0000unset';
  if (!fromEnv || fromEnv.key !== key) fromEnv = { key, cluster: createCluster() };
  return fromEnv.cluster;
}

/** A fresh session id for this node (STICKYLB_ROUTE, separator `.`). */
export function newSessionId(): string {
  return defaultCluster().newSessionId();
}

/** True when `id` was issued by this node (STICKYLB_ROUTE, separator `.`). */
export function isOwnSession(id: string): boolean {
  return defaultCluster().isOwnSession(id);
}
