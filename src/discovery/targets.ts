// From DNS records to members: each record's address and port, its route (the first label of a
// stable name, as Kubernetes StatefulSet pods have: app-0.app.ns.svc.cluster.local → app-0; or the
// address), and the member model with the source's settings. Then what changes between the members
// a balancer has and the ones DNS gives now. Pure.
import net from 'node:net';
import type { DnsSourceModel } from '../config/fleet-model.js';
import type { MemberModel } from '../config/model.js';
import { memberKey } from '../config/member-url.js';
import { nameIdentity } from '../balancer/member-identity.js';

/** A member as DNS gives it. */
export interface Found {
  /** The name it was found under: the SRV target, or the looked-up name for A/AAAA. */
  name: string;
  address: string;
  port: number;
  route: string;
}

/** "10.0.0.5" → "10-0-0-5"; "fd00::5" → "fd00--5" (routes carry no dots or colons). */
export function addressRoute(address: string): string {
  return address.replace(/[.:]/g, '-');
}

/** The first label of a name: "app-0.app.ns.svc.cluster.local" → "app-0". */
export function nameRoute(name: string): string {
  return name.replace(/\.$/, '').split('.')[0].slice(0, 63);
}

export function routeOf(src: Pick<DnsSourceModel, 'route'>, name: string, address: string): string {
  return src.route === 'name' ? nameRoute(name) : addressRoute(address);
}

export function memberUrl(src: Pick<DnsSourceModel, 'scheme' | 'path'>, address: string, port: number): string {
  const host = net.isIPv6(address) ? `[${address}]` : address;
  return `${src.scheme}://${host}:${port}${src.path}`;
}

/** The member model of a found member: the source's settings, its address, port and route. */
export function memberModelOf(src: DnsSourceModel, f: Found): MemberModel {
  const url = memberUrl(src, f.address, f.port);
  return {
    ...src.template,
    id: memberKey(url),
    url,
    protocol: src.scheme === 'https' ? 'https:' : 'http:',
    hostname: f.address,
    port: f.port,
    basePath: src.path,
    route: f.route,
    redirect: '',
    // Routed by name, the name is the member: its settings follow it to another address.
    source: { kind: 'dns', query: src.name, name: f.name, ...(src.route === 'name' ? { identity: nameIdentity(f.name, f.port) } : {}) },
  };
}

/** What a balancer has of one source now. */
export interface Present {
  id: string;
  route: string;
  /** Drained because its name left DNS. */
  draining: boolean;
}

export type Step =
  /** New in DNS: joins (with slow start, after the first lookup). */
  | { kind: 'add'; found: Found; model: MemberModel }
  /** Gone from DNS: drained, removed once idle. */
  | { kind: 'drain'; id: string }
  /** Back in DNS while draining. */
  | { kind: 'undrain'; id: string }
  /** Its route is at another address now (a pod came back with a new IP): removed at once, the new address takes the route. */
  | { kind: 'remove'; id: string; why: string }
  /** Same address, another name. */
  | { kind: 'route'; id: string; route: string };

/** The steps from what a balancer has to what DNS says; removals come before additions. */
export function plan(src: DnsSourceModel, present: readonly Present[], found: readonly Found[]): Step[] {
  const want = new Map<string, { f: Found; model: MemberModel }>();
  for (const f of found) {
    const model = memberModelOf(src, f);
    if (!want.has(model.id) && want.size < src.max) want.set(model.id, { f, model });
  }
  const wantedRoutes = new Map([...want.values()].map((w) => [w.f.route, w.model.id]));
  const first: Step[] = [];
  const then: Step[] = [];
  for (const p of present) {
    const w = want.get(p.id);
    if (w) {
      if (p.draining) then.push({ kind: 'undrain', id: p.id });
      if (w.f.route !== p.route) then.push({ kind: 'route', id: p.id, route: w.f.route });
      continue;
    }
    const movedTo = src.route === 'name' ? wantedRoutes.get(p.route) : undefined;
    if (movedTo && movedTo !== p.id) first.push({ kind: 'remove', id: p.id, why: `${p.route} is at ${want.get(movedTo)!.f.address} now` });
    else if (!p.draining) then.push({ kind: 'drain', id: p.id });
  }
  const have = new Set(present.map((p) => p.id));
  for (const [id, w] of want) if (!have.has(id)) then.push({ kind: 'add', found: w.f, model: w.model });
  return [...first, ...then];
}

/** When a drained member may go: it no longer answers, it is idle, or it was drained for long enough. */
export function drainOver(
  m: { busy: number; lastStickyAt: number; flags: { E: boolean } },
  drainedAt: number,
  now: number,
  src: Pick<DnsSourceModel, 'drainIdleMs' | 'drainMaxMs'>,
): string | undefined {
  if (m.flags.E) return 'it no longer answers';
  if (m.busy === 0 && now - Math.max(m.lastStickyAt, drainedAt) >= src.drainIdleMs) return `no request of its sessions for ${Math.round(src.drainIdleMs / 1000)}s`;
  if (now - drainedAt >= src.drainMaxMs) return `drained for ${Math.round(src.drainMaxMs / 1000)}s, the longest allowed`;
  return undefined;
}

/** The next lookup in: the least TTL, within [minTtl, maxTtl]. */
export function nextLookupMs(ttlSeconds: readonly number[], src: Pick<DnsSourceModel, 'minTtlMs' | 'maxTtlMs'>): number {
  const ttl = ttlSeconds.length ? Math.min(...ttlSeconds) * 1000 : src.maxTtlMs;
  return Math.min(src.maxTtlMs, Math.max(src.minTtlMs, ttl));
}
