// Addresses and networks as numbers, matched with a few integer compares: node's BlockList costs
// microseconds a check, too much for every request. IPv4 as one 32-bit word, IPv6 as eight
// 16-bit groups; IPv4-mapped IPv6 (`::ffff:10.0.0.1`) matches IPv4 networks. Pure.

export interface Ip {
  v6: boolean;
  /** IPv4: one number; IPv6: eight 16-bit groups. */
  parts: number[];
}

export interface Net extends Ip {
  bits: number;
}

/** A dotted-quad IPv4 address in `s[from, to)` as one number; undefined when it is not one. */
export function parse4(s: string, from = 0, to = s.length): number | undefined {
  let value = 0;
  let octet = -1;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (octet < 0 || ++dots > 3) return undefined;
      value = value * 256 + octet;
      octet = -1;
    } else if (c >= 0x30 && c <= 0x39) {
      octet = octet < 0 ? c - 0x30 : octet * 10 + (c - 0x30);
      if (octet > 255) return undefined;
    } else return undefined;
  }
  if (octet < 0 || dots !== 3) return undefined;
  return value * 256 + octet;
}

function hexGroup(g: string): number | undefined {
  if (g.length === 0 || g.length > 4) return undefined;
  let v = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g.charCodeAt(i) | 0x20;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return undefined;
    v = v * 16 + d;
  }
  return v;
}

function parse6(s: string): number[] | undefined {
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const groups = (t: string): number[] | undefined => {
    if (t === '') return [];
    const out: number[] = [];
    const parts = t.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parse4(p);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        const g = hexGroup(p);
        if (g === undefined) return undefined;
        out.push(g);
      }
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return undefined;
  if (dbl < 0) return h.length === 8 ? h : undefined;
  if (h.length + t.length > 7) return undefined;
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** An address (IPv4, IPv6 with or without a zone); undefined when it is not one. */
export function parseIp(addr: string): Ip | undefined {
  const v4 = parse4(addr);
  if (v4 !== undefined) return { v6: false, parts: [v4] };
  if (addr.indexOf(':') < 0) return undefined;
  const pct = addr.indexOf('%');
  const g = parse6(pct >= 0 ? addr.slice(0, pct) : addr);
  if (!g) return undefined;
  // IPv4-mapped: compare as the IPv4 address it is.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return { v6: false, parts: [g[6] * 65536 + g[7]] };
  return { v6: true, parts: g };
}

/** `10.0.0.0/8`, `2001:db8::/32`, or an address (a network of one). */
export function parseNet(text: string): Net | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!ip) return undefined;
  const max = ip.v6 ? 128 : 32;
  const bits = slash >= 0 ? Number(text.slice(slash + 1)) : max;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  return { ...ip, bits };
}

/** True when the address is inside the network. */
export function inNet(ip: Ip, net: Net): boolean {
  if (ip.v6 !== net.v6) return false;
  if (!ip.v6) return inNet4(ip.parts[0], net);
  let bits = net.bits;
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = bits >= 16 ? 16 : bits;
    const shift = 16 - take;
    if (ip.parts[i] >> shift !== net.parts[i] >> shift) return false;
    bits -= take;
  }
  return true;
}

/** True when the IPv4 address `n` (parse4's number) is inside the network (IPv6 ones never). */
export function inNet4(n: number, net: Net): boolean {
  if (net.v6) return false;
  // The bits that differ, shifted past the host part (32-bit unsigned integer operations).
  return net.bits === 0 || (n ^ net.parts[0]) >>> (32 - net.bits) === 0;
}
