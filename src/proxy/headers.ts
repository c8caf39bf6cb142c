// Request and response header handling for the forwarder: hop-by-hop removal and the
// X-Forwarded-* headers Apache adds. Pure functions over Node's raw header arrays.
import type { BalancerState } from '../balancer/balancer-state.js';
import type { PickOutcome } from '../balancer/pick.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Header names listed in Connection (they are hop-by-hop too). */
function connectionTokens(raw: string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection') {
      for (const t of raw[i + 1].split(',')) {
        const name = t.trim().toLowerCase();
        if (name) (out ??= new Set()).add(name);
      }
    }
  }
  return out;
}

export interface UpstreamHeaderOptions {
  clientIp: string;
  /** The client's Host header. */
  host: string | undefined;
  /** Host header to send upstream (member host:port, or the client's with ProxyPreserveHost). */
  upstreamHost: string;
  serverName: string;
  proto: 'http' | 'https';
  /** Keep Upgrade/Connection for a WebSocket handshake. */
  upgrade?: boolean;
  extra?: [string, string][];
}

/**
 * Builds the upstream request headers as a flat [name, value, …] array: hop-by-hop headers
 * dropped (TE kept only as `trailers`), Host set, X-Forwarded-For/-Host/-Server merged as Apache
 * merges them, X-Forwarded-Proto set.
 */
export function upstreamRequestHeaders(raw: string[], o: UpstreamHeaderOptions): string[] {
  const drop = connectionTokens(raw);
  const out: string[] = [];
  let xff: string | undefined;
  let xfh: string | undefined;
  let xfs: string | undefined;
  let teTrailers = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    const value = raw[i + 1];
    if (lower === 'host') continue;
    if (lower === 'x-forwarded-for') {
      xff = xff ? `${xff}, ${value}` : value;
      continue;
    }
    if (lower === 'x-forwarded-host') {
      xfh = xfh ? `${xfh}, ${value}` : value;
      continue;
    }
    if (lower === 'x-forwarded-server') {
      xfs = xfs ? `${xfs}, ${value}` : value;
      continue;
    }
    if (lower === 'x-forwarded-proto') continue;
    if (lower.startsWith('x-stickylb-')) continue;
    if (lower === 'te') {
      if (/(^|,)\s*trailers\s*(;|,|$)/i.test(value)) teTrailers = true;
      continue;
    }
    if (o.upgrade && (lower === 'upgrade' || lower === 'connection')) {
      out.push(name, value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || drop?.has(lower)) continue;
    out.push(name, value);
  }
  out.push('Host', o.upstreamHost);
  if (teTrailers) out.push('TE', 'trailers');
  out.push('X-Forwarded-For', xff ? `${xff}, ${o.clientIp}` : o.clientIp);
  if (o.host !== undefined) out.push('X-Forwarded-Host', xfh ? `${xfh}, ${o.host}` : o.host);
  out.push('X-Forwarded-Server', xfs ? `${xfs}, ${o.serverName}` : o.serverName);
  out.push('X-Forwarded-Proto', o.proto);
  if (o.extra) for (const [k, v] of o.extra) out.push(k, v);
  return out;
}

/** Response headers to pass to the client: hop-by-hop dropped (Trailer kept for trailers). */
export function downstreamResponseHeaders(raw: string[]): string[] {
  const drop = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (lower === 'trailer') {
      out.push(raw[i], raw[i + 1]);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || drop?.has(lower)) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** The Host header for a member: IPv6 addresses in brackets, the default port left out. */
export function memberHostHeader(m: { hostname: string; port: number; protocol: string }): string {
  const host = m.hostname.includes(':') ? `[${m.hostname}]` : m.hostname;
  const def = m.protocol === 'https:' ? 443 : 80;
  return m.port === def ? host : `${host}:${m.port}`;
}

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase());
}

/**
 * Trailer fields never passed on, in either direction: they would change framing or routing
 * (RFC 9110 §6.5.1). Both engines drop them.
 */
export function forbiddenTrailer(name: string): boolean {
  const l = name.toLowerCase();
  return l === 'content-length' || l === 'host' || HOP_BY_HOP.has(l);
}

/** Trailer pairs (flat raw trailers) that may be passed on. */
export function allowedTrailers(raw: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) if (!forbiddenTrailer(raw[i])) pairs.push([raw[i], raw[i + 1]]);
  return pairs;
}

/** The outcome as X-Stickylb-* request headers, when the balancer passes it to the app. */
export function balancerHeaders(b: BalancerState, out: PickOutcome & { kind: 'member' }): [string, string][] | undefined {
  if (!b.model.balancerHeaders) return undefined;
  const h: [string, string][] = [
    ['X-Stickylb-Balancer', b.name],
    ['X-Stickylb-Member', out.member.url],
    ['X-Stickylb-Route', out.member.route],
  ];
  if (out.sticky.name) h.push(['X-Stickylb-Session-Sticky', out.sticky.name]);
  if (out.sticky.route) h.push(['X-Stickylb-Session-Route', out.sticky.route]);
  if (out.routeChanged) h.push(['X-Stickylb-Route-Changed', '1']);
  return h;
}
