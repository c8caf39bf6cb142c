// The real client address behind declared proxies, as Apache's mod_remoteip finds it: the
// address list of the client-address header (X-Forwarded-For, …) is walked from the right, one
// hop at a time, for as long as the hop that handed it over is a declared proxy; the walk stops
// at the first hop that is not. Internal proxies (RemoteIPInternalProxy) may present private
// addresses; trusted ones (RemoteIPTrustedProxy) may not, and once a trusted proxy has spoken an
// internal one further left counts as trusted only. Pure.
import { isIP } from 'node:net';
import { inNet, parseIp, parseNet, type Ip, type Net } from './ip-match.js';

export interface ProxyEntry {
  /** An address or network: `10.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`. */
  net: string;
  /** RemoteIPInternalProxy (true) or RemoteIPTrustedProxy (false). */
  internal: boolean;
}

/** The trust settings of a site (schema: `remoteIp`). */
export interface RemoteIpSettings {
  /** Lower-case name of the header that carries the client address list; none: trust only. */
  header?: string;
  proxies: ProxyEntry[];
}

/** One proxy entry, ready to match. */
interface Matcher {
  net: Net;
  internal: boolean;
}

export interface CompiledRemoteIp {
  header?: string;
  matchers: Matcher[];
}

/** `::ffff:10.0.0.1` → `10.0.0.1`; zone ids dropped; IPv6 lower-cased. */
export function plainIp(addr: string): string {
  let a = addr.toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
  const pct = a.indexOf('%');
  return pct >= 0 ? a.slice(0, pct) : a;
}

/** Reads one proxy entry; returns the reason when it is not an address or network. */
export function proxyEntryProblem(net: string): string | undefined {
  const slash = net.indexOf('/');
  const addr = slash >= 0 ? net.slice(0, slash) : net;
  const family = isIP(addr);
  if (!family) return `"${net}" is not an IP address or network (host names are not resolved: give addresses)`;
  if (slash < 0) return undefined;
  const bits = net.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return `"${net}": /${bits} is not a prefix length`;
  return undefined;
}

function matcherOf(e: ProxyEntry): Matcher {
  return { net: parseNet(e.net)!, internal: e.internal };
}

const compiledCache = new WeakMap<RemoteIpSettings, CompiledRemoteIp>();

export function compileRemoteIp(s: RemoteIpSettings): CompiledRemoteIp {
  let c = compiledCache.get(s);
  if (!c) {
    c = { header: s.header, matchers: s.proxies.filter((e) => !proxyEntryProblem(e.net)).map(matcherOf) };
    compiledCache.set(s, c);
  }
  return c;
}

function findProxyIp(c: CompiledRemoteIp, ip: Ip | undefined): Matcher | undefined {
  if (ip === undefined) return undefined;
  const ms = c.matchers;
  for (let i = 0; i < ms.length; i++) if (inNet(ip, ms[i].net)) return ms[i];
  return undefined;
}

function findProxy(c: CompiledRemoteIp, addr: string): Matcher | undefined {
  return findProxyIp(c, parseIp(addr));
}

/** True when `addr` is one of the declared proxies (trusted or internal). */
export function isDeclaredProxy(c: CompiledRemoteIp, addr: string): boolean {
  return findProxy(c, plainIp(addr)) !== undefined;
}

/**
 * Private and otherwise non-public addresses a trusted (not internal) proxy may not present as a
 * client's: 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16, and IPv6 outside 2000::/3.
 */
export function isPrivateAddress(addr: string): boolean {
  const family = isIP(addr);
  if (family === 4) {
    const [a, b] = addr.split('.').map(Number);
    return a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168);
  }
  if (family === 6) {
    const first = addr.split(':')[0];
    const word = first === '' ? 0 : parseInt(first, 16);
    return (word & 0xe000) !== 0x2000;
  }
  return true;
}

function isPrivateIp(ip: Ip): boolean {
  if (!ip.v6) {
    const n = ip.parts[0];
    const a = Math.floor(n / 16777216);
    const b = Math.floor(n / 65536) % 256;
    return a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168);
  }
  return (ip.parts[0] & 0xe000) !== 0x2000;
}

export interface ClientResolution {
  /** The client's address: taken from the header, or the peer's. */
  client: string;
  /** The peer (the connection's other end) is a declared proxy. */
  viaProxy: boolean;
  /** What the header still says after the addresses taken from it (Apache leaves this). */
  remaining?: string;
}

/**
 * mod_remoteip's walk: `peer` is the connection's address, `header` the client-address header
 * (repeated fields joined with ", "), or undefined when the request has none.
 */
export function resolveClient(c: CompiledRemoteIp, peer: string, header: string | undefined): ClientResolution {
  let current = plainIp(peer);
  const first = findProxy(c, current);
  if (first === undefined) return { client: current, viaProxy: false, remaining: header };
  if (header === undefined) return { client: current, viaProxy: true };
  let remote: string | undefined = header;
  let internal = true;
  let hop: Matcher | undefined = first;
  while (remote !== undefined) {
    if (hop === undefined) break;
    if (internal) internal = hop.internal;
    const comma: number = remote.lastIndexOf(',');
    const word = (comma < 0 ? remote : remote.slice(comma + 1)).trim();
    const rest: string | undefined = comma < 0 ? undefined : remote.slice(0, comma);
    if (word === '') break;
    const addr = plainIp(word);
    const ip = parseIp(addr);
    if (ip === undefined) break;
    if (!internal && isPrivateIp(ip)) break;
    current = addr;
    remote = rest;
    hop = remote === undefined ? undefined : findProxyIp(c, ip);
  }
  return { client: current, viaProxy: true, remaining: remote };
}
