// A DNS stub resolver for members found by DNS: asks the configured servers (or the system's)
// for A, AAAA or SRV records and returns them with their TTLs, which Node's resolver does not
// give for SRV. Messages are encoded and decoded by dns-packet; this file only sends them (UDP,
// TCP when the answer is truncated), with a timeout, trying each server twice. An answer that
// says the name has no such records (NXDOMAIN, or no records of the type) is an answer; a server
// that fails, refuses or does not answer is an error.
import dgram from 'node:dgram';
import net from 'node:net';
import { getServers } from 'node:dns';
import { randomInt } from 'node:crypto';
import type packetLib from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';

/** dns-packet, loaded by the first query: a balancer that finds no members by DNS does not carry it. */
let packet: typeof packetLib;

export type QueryType = 'A' | 'AAAA' | 'SRV';

export type DnsRecord =
  | { type: 'A' | 'AAAA'; name: string; ttl: number; address: string }
  | { type: 'SRV'; name: string; ttl: number; target: string; port: number; priority: number; weight: number };

export interface DnsAnswer {
  /** NOERROR or NXDOMAIN. */
  rcode: 'NOERROR' | 'NXDOMAIN';
  records: DnsRecord[];
  /** Which server answered. */
  server: string;
}

export class DnsError extends Error {
  readonly code = 'ERR_DNS';
}

export interface ResolverOptions {
  /** host:port of each server, "[v6]:port" for IPv6; empty: the system's (resolv.conf). */
  servers: string[];
  timeoutMs: number;
}

/** "127.0.0.1:5353" → {host, port}; "[::1]:53" → {host: "::1", port: 53}. */
export function parseServer(s: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1], port: Number(v6[2] ?? 53) };
  if (net.isIPv6(s)) return { host: s, port: 53 };
  const i = s.lastIndexOf(':');
  return i > 0 ? { host: s.slice(0, i), port: Number(s.slice(i + 1)) } : { host: s, port: 53 };
}

function systemServers(): string[] {
  return getServers().map((s) => (net.isIPv6(s) ? `[${s}]:53` : s.includes(':') ? s : `${s}:53`));
}

function records(p: DecodedPacket, type: QueryType): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const a of (p.answers ?? []) as Answer[]) {
    if (a.type !== type) continue;
    const ttl = a.ttl ?? 0;
    if (a.type === 'A' || a.type === 'AAAA') out.push({ type: a.type, name: a.name.toLowerCase(), ttl, address: a.data });
    else if (a.type === 'SRV') out.push({ type: 'SRV', name: a.name.toLowerCase(), ttl, target: a.data.target.toLowerCase().replace(/\.$/, ''), port: a.data.port, priority: a.data.priority ?? 0, weight: a.data.weight ?? 0 });
  }
  return out;
}

function rcodeOf(p: DecodedPacket): string {
  return (p as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
}

function udp(server: { host: string; port: number }, msg: Buffer, id: number, timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new DnsError(`no answer within ${timeoutMs}ms`)), timeoutMs);
    const finish = (err?: Error, p?: DecodedPacket) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(p!);
    };
    sock.on('error', (e) => finish(new DnsError(e.message)));
    sock.on('message', (buf) => {
      let p: DecodedPacket;
      try {
        p = packet.decode(buf);
      } catch {
        return;
      }
      // Answers to someone else's question are not ours.
      if (p.id === id && p.type === 'response') finish(undefined, p);
    });
    sock.send(msg, server.port, server.host, (e) => {
      if (e) finish(new DnsError(e.message));
    });
  });
}

function tcp(server: { host: string; port: number }, q: Parameters<typeof packet.streamEncode>[0], timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(server.port, server.host);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new DnsError(`no answer over TCP within ${timeoutMs}ms`)), timeoutMs);
    const finish = (err?: Error, p?: DecodedPacket) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(p!);
    };
    sock.on('error', (e) => finish(new DnsError(e.message)));
    sock.on('connect', () => sock.write(packet.streamEncode(q)));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      try {
        finish(undefined, packet.streamDecode(buf) as DecodedPacket);
      } catch (e) {
        finish(new DnsError(`bad answer: ${(e as Error).message}`));
      }
    });
    sock.on('end', () => finish(new DnsError('connection closed before the answer')));
  });
}

/** Asks for `type` records of `name`; resolves with the records (none for NXDOMAIN), rejects with DnsError. */
export async function query(name: string, type: QueryType, opts: ResolverOptions): Promise<DnsAnswer> {
  packet ??= (await import('dns-packet')).default;
  const servers = opts.servers.length ? opts.servers : systemServers();
  if (!servers.length) throw new DnsError('no DNS server configured (resolver.servers, or nameserver in /etc/resolv.conf)');
  const errors: string[] = [];
  for (const s of servers) {
    const server = parseServer(s);
    for (let attempt = 0; attempt < 2; attempt++) {
      const id = randomInt(0, 0xffff);
      const q = { type: 'query' as const, id, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' as const }] };
      try {
        let p = await udp(server, packet.encode(q), id, opts.timeoutMs);
        if (p.flag_tc) p = await tcp(server, q, opts.timeoutMs);
        const rcode = rcodeOf(p);
        if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') return { rcode, records: records(p, type), server: s };
        // SERVFAIL, REFUSED, …: this server cannot say; the next one may.
        errors.push(`${s}: ${rcode}`);
        break;
      } catch (e) {
        errors.push(`${s}: ${(e as Error).message}`);
      }
    }
  }
  throw new DnsError(`${type} ${name}: ${errors.join('; ')}`);
}
