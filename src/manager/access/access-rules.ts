// Allow/deny rules for the built-in handlers: "all", "none", "local", an IP, a CIDR or netmask,
// a partial IP (`10.1` is 10.1.0.0/16, as Apache's `Allow from 10.1`), or `host example.org`
// (double-reverse DNS, as Apache's host names). Access is granted when an allow rule matches and
// no deny rule does; the config front end has already turned Apache's Order into these two lists.
import { BlockList, isIP, isIPv4 } from 'node:net';

export type AccessRule =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'local' }
  | { kind: 'net'; text: string; list: BlockList }
  | { kind: 'host'; name: string }
  /** A rule that could not be read; allow rules of this kind match nothing, deny rules everything. */
  | { kind: 'invalid'; text: string; reason: string };

export interface ClientAddress {
  /** The peer's address (IPv4-mapped IPv6 is handled). */
  remote: string;
  /** Our address on the connection; a client connecting to one of our own addresses is local. */
  local?: string;
}

/** `::ffff:127.0.0.1` → `127.0.0.1`; lower-case IPv6 otherwise. */
export function plainAddress(addr: string): string {
  const a = addr.toLowerCase();
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return m ? m[1] : a.replace(/%.*$/, '');
}

function maskBits(mask: string): number | undefined {
  if (!isIPv4(mask)) return undefined;
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  let bits = 0;
  for (let i = 31; i >= 0; i--) {
    if (n & (2 ** i)) bits++;
    else break;
  }
  // A netmask must be contiguous ones.
  return (n >>> 0) === (bits === 0 ? 0 : ((0xffffffff << (32 - bits)) >>> 0)) ? bits : undefined;
}

export function parseRule(text: string): AccessRule {
  const t = text.trim();
  const lower = t.toLowerCase();
  if (lower === 'all') return { kind: 'all' };
  if (lower === 'none') return { kind: 'none' };
  if (lower === 'local' || lower === 'localhost') return { kind: 'local' };
  const hostM = /^host\s+(\S+)$/i.exec(t);
  if (hostM) return { kind: 'host', name: hostM[1].toLowerCase().replace(/^\.+|\.+$/g, '') };
  const list = new BlockList();
  const slash = t.indexOf('/');
  if (slash >= 0) {
    const addr = plainAddress(t.slice(0, slash));
    const suffix = t.slice(slash + 1);
    const family = isIP(addr);
    if (!family) return { kind: 'invalid', text, reason: `${addr} is not an IP address` };
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const bits = /^\d+$/.test(suffix) ? Number(suffix) : family === 4 ? maskBits(suffix) : undefined;
    if (bits === undefined || bits > (family === 4 ? 32 : 128)) return { kind: 'invalid', text, reason: `/${suffix} is not a prefix length or netmask` };
    list.addSubnet(addr, bits, type);
    return { kind: 'net', text, list };
  }
  const addr = plainAddress(t);
  const family = isIP(addr);
  if (family) {
    list.addAddress(addr, family === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'net', text, list };
  }
  // Partial IPv4: 1 to 3 leading octets, optionally with a trailing dot.
  const partial = /^(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?\.?$/.exec(t);
  if (partial) {
    const octets = partial.slice(1).filter((o) => o !== undefined).map(Number);
    if (octets.some((o) => o > 255)) return { kind: 'invalid', text, reason: 'octets must be 0..255' };
    const full = [...octets, 0, 0, 0].slice(0, 4).join('.');
    list.addSubnet(full, octets.length * 8, 'ipv4');
    return { kind: 'net', text, list };
  }
  // A bare domain name, as Apache 2.2 wrote `Allow from example.org`.
  if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(t) && /[a-z]/i.test(t)) {
    return { kind: 'host', name: lower.replace(/\.+$/, '') };
  }
  return { kind: 'invalid', text, reason: 'expected all, none, local, an IP, a CIDR, a partial IP or "host NAME"' };
}

export function isLoopback(addr: string): boolean {
  const a = plainAddress(addr);
  return a === '::1' || /^127\./.test(a);
}

/** Names the client's address resolves back to (double-reverse DNS), for host rules. */
export type ReverseLookup = (addr: string) => Promise<string[]>;

/** Matches one rule without DNS; host rules answer undefined (they need a lookup). */
export function matchesWithoutDns(rule: AccessRule, client: ClientAddress): boolean | undefined {
  const remote = plainAddress(client.remote);
  switch (rule.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'local':
      return isLoopback(remote) || (client.local !== undefined && plainAddress(client.local) === remote);
    case 'net': {
      const family = isIP(remote);
      return family ? rule.list.check(remote, family === 4 ? 'ipv4' : 'ipv6') : false;
    }
    case 'host':
      return undefined;
    case 'invalid':
      return false;
  }
}

export function hostMatches(name: string, verifiedNames: string[]): boolean {
  return verifiedNames.some((n) => {
    const h = n.toLowerCase().replace(/\.$/, '');
    return h === name || h.endsWith(`.${name}`);
  });
}

export interface AccessDecision {
  allowed: boolean;
  /** Why, for the 403 body and the log. */
  reason: string;
}

/** Allowed when an allow rule matches and no deny rule does. */
export async function decideAccess(
  allow: AccessRule[],
  deny: AccessRule[],
  client: ClientAddress,
  reverse: ReverseLookup,
): Promise<AccessDecision> {
  let names: string[] | undefined;
  const matches = async (r: AccessRule): Promise<boolean> => {
    const quick = matchesWithoutDns(r, client);
    if (quick !== undefined) return quick;
    names ??= await reverse(plainAddress(client.remote)).catch(() => []);
    return hostMatches((r as { name: string }).name, names);
  };
  const who = plainAddress(client.remote);
  for (const r of deny) {
    if (r.kind === 'invalid') return { allowed: false, reason: `access rule "${r.text}" is invalid (${r.reason}); refusing everyone` };
    if (await matches(r)) return { allowed: false, reason: `${who} is denied by "${ruleText(r)}"` };
  }
  for (const r of allow) if (await matches(r)) return { allowed: true, reason: `${who} is allowed by "${ruleText(r)}"` };
  return { allowed: false, reason: `${who} is not in the allowed list (${allow.map(ruleText).join(', ') || 'empty'})` };
}

export function ruleText(r: AccessRule): string {
  switch (r.kind) {
    case 'net':
    case 'invalid':
      return r.text;
    case 'host':
      return `host ${r.name}`;
    default:
      return r.kind;
  }
}
