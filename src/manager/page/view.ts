// A plain snapshot of the runtime state: what the manager page, the JSON API, the XML view and
// server-status all render. Pure: built from the state objects, no I/O.
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { MemberState } from '../../balancer/member-state.js';
import type { RuntimeState } from '../../balancer/runtime.js';
import type { ConfigModel, HealthModel, StatusFlags } from '../../config/model.js';

export interface HealthView {
  method: HealthModel['method'];
  uri: string;
  intervalMs: number;
  passes: number;
  fails: number;
  expect?: string;
  last?: 'pass' | 'fail';
  lastCheckAt?: number;
  lastDetail?: string;
  lastStatus?: number;
  lastDurationMs?: number;
  consecutivePasses: number;
  consecutiveFails: number;
  checks: number;
}

export interface MemberView {
  /** Stable key (normalised URL); what `w` and the JSON API accept, besides the URL and route. */
  id: string;
  url: string;
  scheme: string;
  hostname: string;
  port: number;
  route: string;
  redirect: string;
  lbfactor: number;
  lbset: number;
  flags: StatusFlags;
  /** Status for people: Ok, Drain, Standby, Spare, Disabled, Stopped, Error, Health check failed. */
  status: string[];
  /** Apache's short form (`Init Drn Ok`), for XML and ?auto. */
  statusText: string;
  usable: boolean;
  elected: number;
  busy: number;
  lbstatus: number;
  bytesTo: number;
  bytesFrom: number;
  errors: number;
  responses: Record<string, number>;
  retries: number;
  errorTime?: number;
  errorCause?: string;
  health?: HealthView;
  /** Route verification: session ids the member issued with a route not its own (or none). */
  routeMismatches: number;
  /** The last of them; `active` while no id with the member's own route came after it. */
  lastRouteMismatch?: { issued: string; expected: string; where: 'cookie' | 'url'; name: string; at: number; active: boolean };
  /** Where the member came from: `config`, `manager` (added there), or `dns NAME` (found under NAME by looking up QUERY). */
  source?: string;
  /** Settings whose current value was set in the manager (`lbfactor`, `status.D`, …). */
  changedAtRuntime: string[];
  /** The values the config file gives, to show next to values set in the manager. */
  config: { lbfactor: number; lbset: number; route: string; redirect: string; flags: StatusFlags };
}

export interface BalancerView {
  name: string;
  /** Per balancer, random; every change must carry it. */
  nonce: string;
  lbmethod: string;
  sticky: { cookie?: string; url?: string } | null;
  nofailover: boolean;
  /** Seconds to wait for a usable member (Apache's `timeout`). */
  timeout: number;
  /** Effective failover attempts (members - 1 unless set). */
  maxattempts: number;
  maxattemptsSet: boolean;
  scolonpathdelim: boolean;
  /** Where the balancer is used: `/app`, `www.example.org -> /`, `~ ^/x(.*)`. */
  paths: string[];
  growth: number;
  growthLeft: number;
  refused: number;
  members: MemberView[];
  changedAtRuntime: string[];
  config: { lbmethod: string; timeout: number; maxattempts?: number; nofailover: boolean; sticky: { cookie?: string; url?: string } | null };
}

export interface ManagerView {
  serverName: string;
  version: string;
  startedAt: number;
  now: number;
  persist: { file: string } | null;
  balancers: BalancerView[];
}

export interface ViewOptions {
  runtime: RuntimeState;
  config: ConfigModel;
  nonceOf(balancer: string): string;
  serverName: string;
  version: string;
  now: number;
}

export function memberView(m: MemberState): MemberView {
  const h = m.model.health;
  return {
    id: m.id,
    url: m.url,
    scheme: m.protocol.replace(':', ''),
    hostname: m.hostname,
    port: m.port,
    route: m.route,
    redirect: m.redirect,
    lbfactor: m.lbfactor,
    lbset: m.lbset,
    flags: { ...m.flags },
    status: m.statusWords(),
    statusText: m.statusText(),
    usable: m.isUsable(),
    elected: m.elected,
    busy: m.busy,
    lbstatus: m.lbstatus,
    bytesTo: m.bytesTo,
    bytesFrom: m.bytesFrom,
    errors: m.errors,
    responses: { ...m.responses },
    retries: m.retries,
    errorTime: m.errorTime || undefined,
    errorCause: m.errorCause || undefined,
    health: h
      ? {
          method: h.method,
          uri: h.uri,
          intervalMs: h.intervalMs,
          passes: h.passes,
          fails: h.fails,
          expect: h.expect,
          last: m.health.last,
          lastCheckAt: m.health.lastCheckAt,
          lastDetail: m.health.lastDetail,
          lastStatus: m.health.lastStatus,
          lastDurationMs: m.health.lastDurationMs,
          consecutivePasses: m.health.consecutivePasses,
          consecutiveFails: m.health.consecutiveFails,
          checks: m.health.checks,
        }
      : undefined,
    routeMismatches: m.routeMismatches,
    lastRouteMismatch: m.lastRouteMismatch ? { ...m.lastRouteMismatch, active: m.hasRouteMismatch() } : undefined,
    ...(m.model.source ? { source: `dns ${m.model.source.name} (${m.model.source.query})` } : {}),
    changedAtRuntime: [...m.changedAtRuntime].sort(),
    config: { lbfactor: m.model.loadfactor, lbset: m.model.lbset, route: m.model.route, redirect: m.model.redirect, flags: { ...m.model.status } },
  };
}

/** The paths (and virtual hosts) whose ProxyPass rules send requests to the balancer. */
export function balancerPaths(config: ConfigModel, name: string): string[] {
  const out: string[] = [];
  for (const site of config.sites) {
    for (const r of site.rules) {
      if (r.kind !== 'proxy' || r.balancer !== name) continue;
      const where = r.path ?? `~ ${r.match}`;
      out.push(site.serverName && config.sites.length > 1 ? `${site.serverName} -> ${where}` : where);
    }
  }
  return [...new Set(out)];
}

function stickyView(s: { cookie?: string; url?: string } | undefined) {
  return s && (s.cookie || s.url) ? { cookie: s.cookie, url: s.url } : null;
}

export function balancerView(b: BalancerState, opts: Pick<ViewOptions, 'config' | 'nonceOf'>): BalancerView {
  return {
    name: b.name,
    nonce: opts.nonceOf(b.name),
    lbmethod: b.lbmethod,
    sticky: stickyView(b.sticky),
    nofailover: b.nofailover,
    timeout: b.timeoutMs / 1000,
    maxattempts: b.maxAttempts(),
    maxattemptsSet: b.maxattempts !== undefined,
    scolonpathdelim: b.model.scolonpathdelim,
    paths: balancerPaths(opts.config, b.name),
    growth: b.model.growth,
    growthLeft: b.growthLeft,
    refused: b.refused,
    members: b.members.map((m) => {
      const v = memberView(m);
      return v.source ? v : { ...v, source: b.model.members.some((c) => c.id === m.id) ? 'config' : 'manager' };
    }),
    changedAtRuntime: [...b.changedAtRuntime].sort(),
    config: {
      lbmethod: b.model.lbmethod,
      timeout: b.model.timeoutMs / 1000,
      maxattempts: b.model.maxattempts,
      nofailover: b.model.nofailover,
      sticky: stickyView(b.model.sticky),
    },
  };
}

export function managerView(opts: ViewOptions): ManagerView {
  return {
    serverName: opts.serverName,
    version: opts.version,
    startedAt: opts.runtime.startedAt,
    now: opts.now,
    persist: opts.config.persist ? { file: opts.config.persist.file } : null,
    balancers: opts.runtime.named().map((b) => balancerView(b, opts)),
  };
}

/** `cookie | url` as Apache shows sticky names; one name when both are the same. */
export function stickyText(s: { cookie?: string; url?: string } | null): string {
  if (!s) return '';
  if (s.cookie && s.url && s.cookie !== s.url) return `${s.cookie} | ${s.url}`;
  return s.cookie ?? s.url ?? '';
}
