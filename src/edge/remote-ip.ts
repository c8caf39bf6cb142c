// The real client address behind declared proxies, as Apache's mod_remoteip finds it: the
// address list of the client-address header (X-Forwarded-For, …) is walked from the right, one
// hop at a time, for as long as the hop that handed it over is a declared proxy; the walk stops
// at the first hop that is not. Internal proxies (RemoteIPInternalProxy) may present private
// addresses; trusted ones (RemoteIPTrustedProxy) may not, and once a trusted proxy has spoken an
// internal one further left counts as trusted only. Pure.
import { isIP } from 'node:net';
import { inNet, inNet4, parse4, parseIp, parseNet, type Ip, type Net } from './ip-match.js';

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
export interface Matcher {
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

function findProxy4(c: CompiledRemoteIp, n: number): Matcher | undefined {
  const ms = c.matchers;
  for (let i = 0; i < ms.length; i++) if (inNet4(n, ms[i].net)) return ms[i];
  return undefined;
}

/** The declared proxy entry that takes `addr`, if any. */
export function findProxy(c: CompiledRemoteIp, addr: string): Matcher | undefined {
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

function isPrivate4(n: number): boolean {
  const a = Math.floor(n / 16777216);
  const b = Math.floor(n / 65536) % 256;
  return a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168);
}

function isPrivateIp(ip: Ip): boolean {
  return ip.v6 ? (ip.parts[0] & 0xe000) !== 0x2000 : isPrivate4(ip.parts[0]);
}

/** The characters String.prototype.trim removes. */
function isTrimmed(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

export interface ClientResolution {
  /** The client's address: taken from the header, or the peer's. */
  client: string;
  /** The peer (the connection's other end) is a declared proxy. */
  viaProxy: boolean;
  /** What the header still says after the addresses taken from it (Apache leaves this). */
  remaining?: string;
}

/** What walkHeader found: the address taken last (none: undefined), and where the rest ends. */
export interface HeaderWalk {
  client: string | undefined;
  /** The header's part not taken is `text[from, rest)`; -1 when every address was taken. */
  rest: number;
}

/**
 * mod_remoteip's walk over the address list `text[from, to)`, behind the declared proxy `hop`
 * (the peer's entry): the list is read from the right, an address at a time, for as long as the
 * hop that handed it over is a declared proxy. Writes the result into `out` and allocates only
 * the address taken (IPv4 addresses are read in place).
 */
export function walkHeader(c: CompiledRemoteIp, hop: Matcher, text: string, from: number, to: number, out: HeaderWalk): void {
  let end = to;
  let internal = true;
  let next: Matcher | undefined = hop;
  out.client = undefined;
  while (next !== undefined) {
    if (internal) internal = next.internal;
    // The last comma of text[from, end) (lastIndexOf would search on past `from`).
    let comma = end - 1;
    while (comma >= from && text.charCodeAt(comma) !== 0x2c) comma--;
    if (comma < from) comma = -1;
    let ws = comma < 0 ? from : comma + 1;
    let we = end;
    while (ws < we && isTrimmed(text.charCodeAt(ws))) ws++;
    while (we > ws && isTrimmed(text.charCodeAt(we - 1))) we--;
    if (ws === we) break;
    const n = parse4(text, ws, we);
    let addr: string;
    if (n !== undefined) {
      // A dotted quad is its own plainIp.
      if (!internal && isPrivate4(n)) break;
      addr = text.slice(ws, we);
      next = comma < 0 ? undefined : findProxy4(c, n);
    } else {
      addr = plainIp(text.slice(ws, we));
      const ip = parseIp(addr);
      if (ip === undefined || (!internal && isPrivateIp(ip))) break;
      next = comma < 0 ? undefined : findProxyIp(c, ip);
    }
    out.client = addr;
    end = comma;
    if (comma < 0) break;
  }
  out.rest = end;
}

/**
 * mod_remoteip's walk: `peer` is the connection's address, `header` the client-address header
 * (repeated fields joined with ", "), or undefined when the request has none.
 */
export function resolveClient(c: CompiledRemoteIp, peer: string, header: string | undefined): ClientResolution {
  const current = plainIp(peer);
  const first = findProxy(c, current);
  if (first === undefined) return { client: current, viaProxy: false, remaining: header };
  if (header === undefined) return { client: current, viaProxy: true };
  const out: HeaderWalk = { client: undefined, rest: 0 };
  walkHeader(c, first, header, 0, header.length, out);
  return { client: out.client ?? current, viaProxy: true, remaining: out.rest < 0 ? undefined : out.rest === header.length ? header : header.slice(0, out.rest) };
}
