// Members found by DNS (a balancer's `dns:`, Apache `BalancerMember … discover=…`) as an App
// plugin of the process that owns the runtime state: one watcher per balancer and name, looked up
// before the listeners open (bounded: a DNS that does not answer delays the start by at most the
// resolver's timeouts), followed across reloads. The manager and `<manager>/api/discovery` show
// each name's members and lookups; members show where they came from.
import type { AppContext } from '../plugin/contract.js';
import type { ConfigModel } from '../config/model.js';
import { MANAGER, METRICS } from '../manager/plugins.js';
import { sendJson } from '../manager/respond.js';
import { formatMs } from '../manager/format.js';
import { html, type Html } from '../util/html.js';
import type { Registry } from 'prom-client';
import type { PromClient } from '../manager/metrics/metrics.js';
import { DISCOVERY, type DiscoveryPlugin } from './key.js';
import { DnsWatcher, type WatcherView } from './watcher.js';
import type { QueryFn } from './lookup.js';
import type { ResolverOptions } from './dns-client.js';
import { DNS_DEFAULTS } from '../config/resolve-fleet.js';

export { DISCOVERY, type DiscoveryPlugin } from './key.js';

export interface DiscoveryPluginOptions {
  /** The DNS query function (tests of the scheduling; the default asks real servers). */
  ask?: QueryFn;
}

function key(balancer: string, name: string): string {
  return `${balancer}\u0000${name}`;
}

function resolverOf(config: ConfigModel): ResolverOptions {
  return { servers: config.resolver?.servers ?? [], timeoutMs: config.resolver?.timeoutMs ?? DNS_DEFAULTS.timeoutMs };
}

export function discoveryPlugin(opts: DiscoveryPluginOptions = {}): DiscoveryPlugin {
  const watchers = new Map<string, DnsWatcher>();
  let app: AppContext | undefined;

  /** Starts, keeps or stops watchers to match the balancers' DNS names; returns the new ones. */
  const sync = (a: AppContext): DnsWatcher[] => {
    const want = new Map<string, { balancer: string; json: string; source: NonNullable<ConfigModel['balancers'][string]['dns']>[number] }>();
    for (const b of a.runtime.balancers.values()) for (const s of b.model.dns ?? []) want.set(key(b.name, s.name), { balancer: b.name, json: JSON.stringify(s), source: s });
    for (const [k, w] of watchers) {
      const next = want.get(k);
      if (next && JSON.stringify(w.source) === next.json) continue;
      w.stop();
      watchers.delete(k);
    }
    const fresh: DnsWatcher[] = [];
    for (const [k, { balancer, source }] of want) {
      if (watchers.has(k)) continue;
      const w = new DnsWatcher({ runtime: a.runtime, balancer, source, resolver: () => resolverOf(a.config), logger: a.logger, ask: opts.ask });
      watchers.set(k, w);
      fresh.push(w);
    }
    return fresh;
  };

  // A reload rebuilds the balancers from the config: members found by DNS come back at once.
  const onReload = () => {
    if (!app) return;
    const before = new Set(watchers.values());
    const fresh = sync(app);
    for (const w of watchers.values()) if (before.has(w)) w.restore();
    for (const w of fresh) void w.lookupNow(false);
  };

  return {
    name: DISCOVERY.name,
    watchers,
    after: [MANAGER, METRICS],
    async setup(a) {
      app = a;
      const manager = a.get(MANAGER);
      manager?.addSection(() => (watchers.size ? discoverySection([...watchers.values()].map((w) => w.view()), Date.now()) : html``));
      manager?.addApiRoute('/discovery', (req, res, ctx, rest) => {
        if (rest !== '' && rest !== '/') return sendJson(res, 404, { error: `not found: ${ctx.path}` });
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'GET only here' }, { Allow: 'GET, HEAD' });
        sendJson(res, 200, [...watchers.values()].map((w) => w.view()));
      });
      a.get(METRICS)?.register((registry, prom) => discoveryMetrics(registry, prom, () => [...watchers.values()]));
      a.runtime.events.on('reload', onReload);
      // The first lookups before the listeners open: members are there for the first request.
      await Promise.all(sync(a).map((w) => w.lookupNow(false)));
    },
    async close(a) {
      a.runtime.events.off('reload', onReload);
      for (const w of watchers.values()) w.stop();
      watchers.clear();
    },
  };
}

function discoverySection(views: WatcherView[], now: number): Html {
  return html`<section class="card" id="discovery"><h2>Members found by DNS</h2>
<table><thead><tr><th>Balancer</th><th>Name</th><th>Members (route → address)</th><th>Last answer</th><th>Next lookup</th><th>Problem</th></tr></thead><tbody>${views.map(
    (v) =>
      html`<tr><td>${v.balancer}</td><td>${v.name} (${v.type})</td><td>${v.found.map((f) => html`<div>${f.route} → ${f.address}:${f.port}</div>`)}${v.draining.map((d) => html`<div class="meta">${d.id}: left DNS, draining since ${formatMs(now - d.since)}</div>`)}</td><td>${v.lastOkAt ? `${formatMs(now - v.lastOkAt)} ago${v.server ? ` from ${v.server}` : ''}` : 'none yet'}</td><td>${v.nextAt ? `in ${formatMs(Math.max(0, v.nextAt - now))}` : ''}</td><td>${v.error ? `${v.error} (since ${formatMs(now - (v.errorSince ?? now))}; the last good list stays)` : ''}</td></tr>`,
  )}</tbody></table></section>`;
}

function discoveryMetrics(registry: Registry, prom: PromClient, watchers: () => DnsWatcher[]): void {
  const registers = [registry];
  new prom.Gauge({
    name: 'stickylb_dns_members',
    help: 'Members of the last good DNS answer, by balancer and name.',
    labelNames: ['balancer', 'name'],
    registers,
    collect() {
      this.reset();
      for (const w of watchers()) this.set({ balancer: w.balancer, name: w.source.name }, w.view().found.length);
    },
  });
  new prom.Counter({
    name: 'stickylb_dns_lookup_failures_total',
    help: 'DNS lookups that failed (the last good list stayed), by balancer and name.',
    labelNames: ['balancer', 'name'],
    registers,
    collect() {
      this.reset();
      for (const w of watchers()) this.inc({ balancer: w.balancer, name: w.source.name }, w.failures);
    },
  });
  new prom.Gauge({
    name: 'stickylb_dns_last_answer_timestamp_seconds',
    help: 'When the last good DNS answer came (Unix time), by balancer and name.',
    labelNames: ['balancer', 'name'],
    registers,
    collect() {
      this.reset();
      for (const w of watchers()) {
        const at = w.view().lastOkAt;
        if (at) this.set({ balancer: w.balancer, name: w.source.name }, at / 1000);
      }
    },
  });
}
