// Request and response header handling for the forwarder: hop-by-hop removal and the
// X-Forwarded-* headers Apache adds. Pure functions over Node's raw header arrays.
import type { BalancerState } from '../balancer/balancer-state.js';
import type { PickOutcome } from '../balancer/pick.js';
import type { SiteModel } from '../config/model.js';
import type { RequestRecord } from './core/record.js';

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
  /** The address of the connection's other end: appended to X-Forwarded-For. */
  clientIp: string;
  /**
   * The other end is a declared proxy: its X-Forwarded-For, -Host and -Server are kept and
   * extended and its X-Forwarded-Proto and Forwarded kept. Otherwise a client's own forwarding
   * headers are dropped and replaced by ours.
   */
  viaProxy?: boolean;
  /** Add an RFC 7239 Forwarded header (extending a declared proxy's). */
  forwarded?: boolean;
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

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** One element of an RFC 7239 Forwarded header for this hop. */
export function forwardedElement(clientIp: string, host: string | undefined, proto: string): string {
  const node = clientIp.includes(':') ? `"[${clientIp}]"` : clientIp || 'unknown';
  let s = `for=${node}`;
  if (host !== undefined) s += `;host=${TOKEN.test(host) ? host : `"${host.replace(/["\\]/g, '\\$&')}"`}`;
  return `${s};proto=${proto}`;
}

/**
 * Builds the upstream request headers as a flat [name, value, …] array: hop-by-hop headers
 * dropped (TE kept only as `trailers`), Host set, X-Forwarded-For/-Host/-Server merged as Apache
 * merges them when the other end is a declared proxy (replaced by ours otherwise),
 * X-Forwarded-Proto set unless a declared proxy set it.
 */
export function upstreamRequestHeaders(raw: string[], o: UpstreamHeaderOptions): string[] {
  const drop = connectionTokens(raw);
  const out: string[] = [];
  const trusted = o.viaProxy === true;
  let xff: string | undefined;
  let xfh: string | undefined;
  let xfs: string | undefined;
  let xfp: string | undefined;
  let fwd: string | undefined;
  let teTrailers = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    const value = raw[i + 1];
    if (lower === 'host') continue;
    if (lower === 'x-forwarded-for') {
      if (trusted) xff = xff ? `${xff}, ${value}` : value;
      continue;
    }
    if (lower === 'x-forwarded-host') {
      if (trusted) xfh = xfh ? `${xfh}, ${value}` : value;
      continue;
    }
    if (lower === 'x-forwarded-server') {
      if (trusted) xfs = xfs ? `${xfs}, ${value}` : value;
      continue;
    }
    if (lower === 'x-forwarded-proto') {
      if (trusted) xfp = xfp ? `${xfp}, ${value}` : value;
      continue;
    }
    if (lower === 'forwarded') {
      if (trusted) fwd = fwd ? `${fwd}, ${value}` : value;
      continue;
    }
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
  out.push('X-Forwarded-Proto', xfp ?? o.proto);
  if (o.forwarded) {
    const mine = forwardedElement(o.clientIp, o.host, o.proto);
    out.push('Forwarded', fwd ? `${fwd}, ${mine}` : mine);
  } else if (fwd !== undefined) out.push('Forwarded', fwd);
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

/** What a transport knows of a request that the member's request headers are made from. */
export interface MemberHeadersInput {
  /** The request's record: the connection's other end, whether it is a declared proxy, the scheme. */
  record: RequestRecord;
  site: SiteModel;
  balancer: BalancerState;
  pick: PickOutcome & { kind: 'member' };
  /** The client's Host (HTTP/2: :authority). */
  host: string | undefined;
  serverName: string;
  /** Keep Upgrade/Connection for a WebSocket handshake. */
  upgrade?: boolean;
}

/**
 * The request headers for a member, from the client's raw pairs: upstreamRequestHeaders with the
 * site's rules (ProxyPreserveHost, Forwarded) and the balancer's X-Stickylb-* headers. Every
 * transport that sends name/value pairs (node:http, HTTP/2, WebSocket) builds them here.
 */
export function memberHeaders(raw: string[], i: MemberHeadersInput): string[] {
  return upstreamRequestHeaders(raw, {
    clientIp: i.record.peerAddress ?? '',
    viaProxy: i.record.viaProxy,
    forwarded: i.site.forwarded,
    host: i.host,
    upstreamHost: i.site.preserveHost && i.host ? i.host : i.pick.member.hostHeader,
    serverName: i.serverName,
    proto: i.record.scheme,
    upgrade: i.upgrade,
    extra: balancerHeaders(i.balancer, i.pick),
  });
}

/** Methods whose requests carry no body unless they say so (Node's client adds no framing). */
export const NO_BODY_DEFAULT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * Adds the body framing of a member request to `headers`: chunked for a body of unknown length,
 * `Content-Length: 0` for a method that would otherwise be read as having a body. A
 * Content-Length of the client's is already among the headers.
 */
export function addBodyFraming(headers: string[], method: string, chunked: boolean, hasLength: boolean): void {
  if (chunked) headers.push('Transfer-Encoding', 'chunked');
  else if (!hasLength && !NO_BODY_DEFAULT.has(method)) headers.push('Content-Length', '0');
}
