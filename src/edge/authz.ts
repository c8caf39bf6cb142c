// Authorization rules as Apache 2.4's mod_authz_core evaluates them, and the 2.2 rules of
// mod_access_compat (Order/Allow/Deny), both pure. A Require tree gives one of four results:
// granted, denied, denied for want of a user (a login may change it), or neutral (no opinion);
// containers combine them exactly as apply_authz_sections does. Address and name matching is
// the caller's (see ClientFacts): nothing here does I/O.
import { isIP } from 'node:net';
import { inNet, parse4, parseIp, parseNet, type Ip, type Net } from './ip-match.js';
import { plainIp } from './remote-ip.js';

export const GRANTED = 0;
export const DENIED = 1;
export const DENIED_NO_USER = 2;
export const NEUTRAL = 3;
/** A host rule needs a DNS answer that is not there yet. */
export const PENDING = 4;
export type AuthzResult = typeof GRANTED | typeof DENIED | typeof DENIED_NO_USER | typeof NEUTRAL | typeof PENDING;

/** Providers stickylb enforces. */
export const PROVIDERS = ['all', 'ip', 'host', 'forward-dns', 'local', 'valid-user', 'user', 'group', 'method'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** One address rule (Require ip, Allow from): a network, or a host name matched by DNS. */
export type AddressRule = { kind: 'all' } | { kind: 'net'; text: string; net: Net } | { kind: 'host'; name: string };

export type RequireNode =
  | { kind: 'provider'; provider: Provider; negate: boolean; text: string; args: string[]; nets?: AddressRule[] }
  | { kind: 'container'; op: 'and' | 'or'; negate: boolean; children: RequireNode[]; text: string };

/** The request as the rules see it. */
export interface ClientFacts {
  /** The real client address (after trusted proxies and the PROXY protocol). */
  client: string;
  /** `client` parsed, once (filled in when first needed). */
  ip?: Ip | null;
  /** Our own address on the connection (`Require local` also takes a client that is us). */
  local?: string;
  method: string;
  /** The authenticated user, once there is one. */
  user?: string;
  /** Groups of the user (AuthGroupFile), when known. */
  groups?: ReadonlySet<string>;
  /** Double-reverse verified names of `client`, or undefined when not looked up yet. */
  names?: readonly string[];
  /** Addresses of a forward-dns name, or undefined when not looked up yet. */
  forward?(name: string): readonly string[] | undefined;
}

function maskBits(mask: string): number | undefined {
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  let bits = 0;
  for (let i = 31; i >= 0 && n & 2 ** i; i--) bits++;
  return (n >>> 0) === (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0) ? bits : undefined;
}

/**
 * One address word of `Require ip` or `Allow from`: a full or partial IP (`10.1`, `10.1.`), a
 * network (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `2001:db8::/32`) or, where `hosts` is true, a host
 * or domain name (`example.org`, `.example.org`). Returns the reason when it is none of these.
 */
export function addressRule(word: string, hosts: boolean): AddressRule | string {
  const w = word.trim();
  if (hosts && /^all$/i.test(w)) return { kind: 'all' };
  const slash = w.indexOf('/');
  if (slash >= 0) {
    const addr = w.slice(0, slash);
    const suffix = w.slice(slash + 1);
    const family = isIP(addr);
    if (!family) return `"${w}": ${addr} is not an IP address`;
    const bits = /^\d{1,3}$/.test(suffix) ? Number(suffix) : family === 4 && isIP(suffix) === 4 ? maskBits(suffix) : undefined;
    if (bits === undefined || bits > (family === 4 ? 32 : 128)) return `"${w}": /${suffix} is not a prefix length or netmask`;
    return { kind: 'net', text: w, net: parseNet(`${addr}/${bits}`)! };
  }
  if (isIP(w)) return { kind: 'net', text: w, net: parseNet(w)! };
  const partial = /^(\d{1,3}(?:\.\d{1,3}){0,2})\.?$/.exec(w);
  if (partial) {
    const octets = partial[1].split('.').map(Number);
    if (octets.some((o) => o > 255)) return `"${w}" is not an IP address`;
    return { kind: 'net', text: w, net: parseNet(`${[...octets, 0, 0, 0].slice(0, 4).join('.')}/${octets.length * 8}`)! };
  }
  if (hosts && /^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(w) && /[A-Za-z]/.test(w)) {
    return { kind: 'host', name: w.toLowerCase().replace(/^\.+|\.+$/g, '') };
  }
  return hosts ? `"${w}" is not an IP address, a network or a host name` : `"${w}" is not an IP address or a network`;
}

/** A name the client's verified names match: the name itself, or a domain it is in. */
export function hostMatches(name: string, verified: readonly string[]): boolean {
  for (const n of verified) {
    const h = n.toLowerCase().replace(/\.$/, '');
    if (h === name || h.endsWith(`.${name}`)) return true;
  }
  return false;
}

export function isLoopback(addr: string): boolean {
  const a = plainIp(addr);
  return a === '::1' || a.startsWith('127.');
}

function netMatches(rule: AddressRule & { kind: 'net' }, f: ClientFacts): boolean {
  if (f.ip === undefined) {
    // A dotted quad (the usual client) is its own plainIp.
    const v4 = parse4(f.client);
    f.ip = v4 !== undefined ? { v6: false, parts: [v4] } : (parseIp(plainIp(f.client)) ?? null);
  }
  return f.ip !== null && inNet(f.ip, rule.net);
}

/** Matches one address rule; undefined when a DNS answer is needed and missing. */
export function addressMatches(rule: AddressRule, facts: ClientFacts): boolean | undefined {
  if (rule.kind === 'all') return true;
  if (rule.kind === 'net') return netMatches(rule, facts);
  if (facts.names === undefined) return undefined;
  return hostMatches(rule.name, facts.names);
}

function provider(node: RequireNode & { kind: 'provider' }, f: ClientFacts): AuthzResult {
  switch (node.provider) {
    case 'all':
      return node.args[0] === 'granted' ? GRANTED : DENIED;
    case 'local': {
      const c = plainIp(f.client);
      return isLoopback(c) || (f.local !== undefined && plainIp(f.local) === c) ? GRANTED : DENIED;
    }
    case 'ip':
    case 'host': {
      let pending = false;
      for (const r of node.nets!) {
        const m = addressMatches(r, f);
        if (m === true) return GRANTED;
        if (m === undefined) pending = true;
      }
      return pending ? PENDING : DENIED;
    }
    case 'forward-dns': {
      const c = plainIp(f.client);
      let pending = false;
      for (const name of node.args) {
        const addrs = f.forward?.(name);
        if (addrs === undefined) pending = true;
        else if (addrs.some((a) => plainIp(a) === c)) return GRANTED;
      }
      return pending ? PENDING : DENIED;
    }
    case 'method':
      return node.args.includes(f.method) ? GRANTED : DENIED;
    case 'valid-user':
      return f.user === undefined ? DENIED_NO_USER : GRANTED;
    case 'user':
      if (f.user === undefined) return DENIED_NO_USER;
      return node.args.includes(f.user) ? GRANTED : DENIED;
    case 'group':
      if (f.user === undefined) return DENIED_NO_USER;
      if (f.groups === undefined) return PENDING;
      return node.args.some((g) => f.groups!.has(g)) ? GRANTED : DENIED;
  }
}

/** mod_authz_core's apply_authz_sections: the result of a Require tree for a request. */
export function evaluate(node: RequireNode, f: ClientFacts): AuthzResult {
  let result: AuthzResult;
  if (node.kind === 'provider') result = provider(node, f);
  else {
    result = NEUTRAL;
    for (const child of node.children) {
      const r = evaluate(child, f);
      if (r === PENDING) return PENDING;
      if (r === NEUTRAL) continue;
      if (node.op === 'and') {
        if (r === DENIED) {
          result = r;
          break;
        }
        if ((r === DENIED_NO_USER && result !== DENIED) || result === NEUTRAL) result = r;
      } else {
        if (r === GRANTED) {
          result = r;
          break;
        }
        if ((r === DENIED_NO_USER && result === DENIED) || result === NEUTRAL) result = r;
      }
    }
  }
  if (result === PENDING) return PENDING;
  if (node.negate) {
    if (result === GRANTED) return DENIED;
    if (result === DENIED || result === DENIED_NO_USER) return NEUTRAL;
  }
  return result;
}

/** True when the tree can need a DNS answer (host and forward-dns rules). */
export function needsDns(node: RequireNode): boolean {
  if (node.kind === 'container') return node.children.some(needsDns);
  return node.provider === 'forward-dns' || (node.provider === 'host' && node.nets!.some((r) => r.kind === 'host'));
}

// ---- Apache 2.2: Order, Allow, Deny (mod_access_compat) ----

export interface CompatRules {
  order: 'deny,allow' | 'allow,deny' | 'mutual-failure';
  allow: AddressRule[];
  deny: AddressRule[];
  satisfy: 'all' | 'any';
}

function anyMatches(rules: AddressRule[], f: ClientFacts): boolean | undefined {
  let pending = false;
  for (const r of rules) {
    const m = addressMatches(r, f);
    if (m === true) return true;
    if (m === undefined) pending = true;
  }
  return pending ? undefined : false;
}

/** mod_access_compat's check_dir_access: true when the address rules let the client in. */
export function compatAllows(c: CompatRules, f: ClientFacts): boolean | undefined {
  const allow = anyMatches(c.allow, f);
  const deny = anyMatches(c.deny, f);
  if (allow === undefined || deny === undefined) return undefined;
  if (c.order === 'allow,deny') return allow && !deny;
  if (c.order === 'deny,allow') return allow || !deny;
  return allow && !deny;
}

export function compatNeedsDns(c: CompatRules): boolean {
  return [...c.allow, ...c.deny].some((r) => r.kind === 'host');
}
