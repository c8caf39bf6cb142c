// One lookup of a DNS source: SRV records and their targets' addresses, or a name's A/AAAA
// records, as members with their routes, and the TTLs that say when to look again. A failure is
// reported as such (the caller keeps the last good list); a name without records is an answer.
import type { DnsSourceModel } from '../config/fleet-model.js';
import { query, type DnsRecord, type ResolverOptions } from './dns-client.js';
import { routeOf, type Found } from './targets.js';

export type LookupResult = { ok: true; found: Found[]; ttls: number[]; server: string } | { ok: false; error: string };

export type QueryFn = typeof query;

function addresses(records: DnsRecord[]): string[] {
  return records.flatMap((r) => (r.type === 'A' || r.type === 'AAAA' ? [r.address] : [])).sort();
}

/**
 * Looks `src` up. `previous` (the last good list) gives the address of an SRV target whose own
 * lookup failed this time, so one flaky answer does not drain it.
 */
export async function lookup(src: DnsSourceModel, resolver: ResolverOptions, previous: readonly Found[] = [], ask: QueryFn = query): Promise<LookupResult> {
  try {
    if (src.type === 'SRV') {
      const srv = await ask(src.name, 'SRV', resolver);
      const ttls = srv.records.map((r) => r.ttl);
      const found: Found[] = [];
      const targets = srv.records.flatMap((r) => (r.type === 'SRV' ? [r] : [])).sort((a, b) => a.priority - b.priority || a.target.localeCompare(b.target) || a.port - b.port);
      for (const t of targets) {
        let addrs: string[] = [];
        try {
          const a = await ask(t.target, 'A', resolver);
          ttls.push(...a.records.map((r) => r.ttl));
          addrs = addresses(a.records);
          if (!addrs.length) {
            const aaaa = await ask(t.target, 'AAAA', resolver);
            ttls.push(...aaaa.records.map((r) => r.ttl));
            addrs = addresses(aaaa.records);
          }
        } catch {
          // The target's address is unknown this time: keep the one it had.
          const before = previous.find((p) => p.name === t.target && p.port === t.port);
          if (before) found.push(before);
          continue;
        }
        // A target with several addresses is one node: its first address.
        if (addrs.length) found.push({ name: t.target, address: addrs[0], port: t.port, route: routeOf(src, t.target, addrs[0]) });
      }
      return { ok: true, found, ttls, server: srv.server };
    }
    const types = src.type === 'A+AAAA' ? (['A', 'AAAA'] as const) : ([src.type] as const);
    const found: Found[] = [];
    const ttls: number[] = [];
    let server = '';
    for (const type of types) {
      const r = await ask(src.name, type, resolver);
      server = r.server;
      ttls.push(...r.records.map((x) => x.ttl));
      for (const address of addresses(r.records)) found.push({ name: src.name, address, port: src.port!, route: routeOf(src, src.name, address) });
    }
    // Routes from a name make one member per name.
    return { ok: true, found: src.route === 'name' ? found.slice(0, 1) : found, ttls, server };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
