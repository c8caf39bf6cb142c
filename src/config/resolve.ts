// Raw (schema-checked) config to the frozen model: defaults, units, implicit balancers, and the
// cross-field checks a schema cannot express.
import type {
  RawBalancer,
  RawConfig,
  RawHealth,
  RawMember,
  RawSite,
  RawNodes,
} from './schema.js';
import {
  applyStatus,
  noFlags,
  type BalancerModel,
  type ConfigModel,
  type HandlerModel,
  type HealthModel,
  type ListenerModel,
  type MemberModel,
  type NodesModel,
  type ReverseModel,
  type RuleModel,
  type SiteModel,
  type StickyNames,
  type WorkersModel,
} from './model.js';
import { availableParallelism } from 'node:os';
import { ConfigError, durationMs, type Diagnostic, type SourceMap } from './diagnostics.js';
import { checkHealthExpect } from '../health/expr.js';
import { checkLogFormat } from '../log/access-format.js';
import { resolveHsts, resolveListenerTls, resolveProtocols, resolveRedirectToHttps, resolveRedirects, resolveSiteTls, tlsSiteDiagnostics } from './resolve-tls.js';
import { edgeSiteOf, inheritedAccess, prepareEdge, resolveHandlerAccess, resolveSiteEdge } from './edge-resolve.js';
import { resolveAcme } from './resolve-acme.js';
import { resolveDnsSources, resolveFleet, resolveResolver } from './resolve-fleet.js';
import { DEFAULTS } from './defaults.js';
import { httpUrl, memberKey } from './member-url.js';

/** Standard Apache log formats, available by nickname. */
export const STANDARD_LOG_FORMATS: Record<string, string> = {
  common: '%h %l %u %t "%r" %>s %b',
  combined: '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
  vhost_combined: '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
  referer: '%{Referer}i -> %U',
  agent: '%{User-agent}i',
};

export function parseListen(v: number | string | { host?: string; port: number }): ListenerModel {
  if (typeof v === 'number') return { port: v };
  if (typeof v === 'object') return { host: v.host, port: v.port };
  const m = /^(?:\[([^\]]+)\]:|([^\s:]+):)?(\d+)$/.exec(v)!;
  const host = m[1] ?? m[2];
  return { host: host === '*' || host === '0.0.0.0' ? undefined : host, port: Number(m[3]) };
}

function normaliseStickyNames(v: RawBalancer['stickysession']): StickyNames | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'object') return { cookie: v.cookie, url: v.url };
  const [cookie, url] = v.split('|');
  return { cookie, url: url ?? cookie };
}

export function resolveHealth(
  h: RawHealth | undefined,
  fallback: RawHealth | undefined,
  raw: RawConfig,
  path: string,
  diags: Diagnostic[],
  /** The check's timeout when none is set (Apache: the member's); else the interval, at most 10 s. */
  timeoutMs?: number,
): HealthModel | undefined {
  const tpl = h?.template ?? fallback?.template;
  let merged: RawHealth = { ...(fallback ?? {}), ...(h ?? {}) };
  if (tpl) {
    const t = raw.healthTemplates?.[tpl];
    if (!t) diags.push({ severity: 'error', path, message: `${path}.template: no health template named "${tpl}"` });
    else merged = { ...t, ...merged };
  }
  if (!merged.method) return undefined;
  let expect = merged.expect;
  if (expect && raw.healthExpressions && Object.prototype.hasOwnProperty.call(raw.healthExpressions, expect)) {
    // Named expressions are checked once, where they are defined.
    expect = raw.healthExpressions[expect];
  } else if (expect) {
    const problem = checkHealthExpect(expect, raw.healthExpressions);
    if (problem) diags.push({ severity: 'error', path: `${path}.expect`, message: `${path}.expect: ${problem}`, code: 'health-expect' });
  }
  const intervalMs = durationMs(merged.interval, DEFAULTS.healthIntervalMs);
  if (intervalMs < 100) diags.push({ severity: 'error', path, message: `${path}.interval: must be at least 100ms` });
  return {
    method: merged.method.toUpperCase() as HealthModel['method'],
    uri: merged.uri ?? '/',
    intervalMs,
    timeoutMs: durationMs(merged.timeout, timeoutMs ?? Math.min(intervalMs, 10_000)),
    passes: merged.passes ?? 1,
    fails: merged.fails ?? 1,
    expect,
  };
}

function resolveMember(
  m: RawMember,
  b: RawBalancer | undefined,
  raw: RawConfig,
  path: string,
  diags: Diagnostic[],
): MemberModel {
  const u = new URL(m.url);
  const https = u.protocol === 'https:' || u.protocol === 'wss:';
  const apache = raw.defaults === 'apache';
  // Apache's balancer timeout is only the wait for a usable member; stickylb's is also the
  // members' answer timeout when they set none.
  const responseTimeout = m.timeout ?? (apache ? undefined : b?.timeout) ?? raw.proxyTimeout ?? raw.timeout;
  const timeoutMs = durationMs(responseTimeout, DEFAULTS.timeoutMs);
  return {
    id: memberKey(m.url),
    url: httpUrl(m.url),
    protocol: https ? 'https:' : 'http:',
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || (https ? 443 : 80)),
    basePath: u.pathname.replace(/\/+$/, ''),
    route: m.route ?? '',
    loadfactor: m.loadfactor ?? 1,
    lbset: m.lbset ?? 0,
    redirect: m.redirect ?? '',
    retryMs: durationMs(m.retry, DEFAULTS.retryMs),
    timeoutMs,
    // Apache waits for a connection as long as for an answer (the member's timeout, else Timeout).
    connectTimeoutMs: durationMs(m.connectiontimeout, apache ? timeoutMs : DEFAULTS.connectTimeoutMs),
    max: m.max ?? 256,
    keepalive: m.keepalive ?? true,
    disablereuse: m.disablereuse ?? false,
    status: applyStatus(noFlags(), m.status ?? ''),
    slowstartMs: durationMs(m.slowstart ?? b?.slowstart, 0),
    health: resolveHealth(m.health, b?.health, raw, `${path}.health`, diags, apache ? timeoutMs : undefined),
  };
}

function resolveBalancer(name: string, b: RawBalancer, raw: RawConfig, diags: Diagnostic[], implicit = false): BalancerModel {
  const path = `balancers.${name}`;
  const members = b.members.map((m, i) => resolveMember(m, b, raw, `${path}.members[${i}]`, diags));
  const seen = new Map<string, number>();
  members.forEach((m, i) => {
    const prev = seen.get(m.id);
    if (prev !== undefined) {
      diags.push({
        severity: 'error',
        path: `${path}.members[${i}]`,
        message: `${path}.members[${i}].url: ${m.url} is already member ${prev} of balancer ${name}`,
        code: 'duplicate-member',
      });
    }
    seen.set(m.id, i);
  });
  const sep = b.stickysessionsep;
  return {
    name,
    implicit,
    lbmethod: b.lbmethod ?? 'byrequests',
    sticky: normaliseStickyNames(b.stickysession),
    separator: sep === undefined ? '.' : sep.toLowerCase() === 'off' ? null : sep,
    scolonpathdelim: b.scolonpathdelim ?? false,
    nofailover: b.nofailover ?? false,
    maxattempts: b.maxattempts,
    timeoutMs: durationMs(b.timeout, 0),
    failonstatus: b.failonstatus ?? [],
    failontimeout: b.failontimeout ?? false,
    forcerecovery: b.forcerecovery ?? true,
    growth: b.growth ?? 0,
    routeCookie: b.routecookie,
    balancerHeaders: b.balancerheaders ?? false,
    routeCheck: b.routecheck ?? true,
    // Apache retries a member in error after `retry` every time: no back-off unless asked for.
    retryBackoffMaxMs:
      b.retrybackoff === undefined ? (raw.defaults === 'apache' ? 0 : undefined) : b.retrybackoff === true ? undefined : b.retrybackoff === false ? 0 : durationMs(b.retrybackoff, 0),
    members,
    ...dnsOf(
      b.dns,
      `${path}.dns`,
      // Every member found gets these settings; its address, route and id replace the placeholders.
      // New names join with slow start: 30 s unless the balancer or the source says.
      (settings, at) => resolveMember({ slowstart: b.slowstart ?? 30, ...settings, url: 'http://0.0.0.0:1' } as RawMember, b, raw, at, diags),
      { idleMs: durationMs(raw.rolling?.idle, 10_000), maxWaitMs: durationMs(raw.rolling?.maxWait, 300_000) },
      diags,
    ),
  };
}

/** `{dns}` when a balancer has DNS names, else nothing (models without them stay as they were). */
function dnsOf(...args: Parameters<typeof resolveDnsSources>): { dns?: BalancerModel['dns'] } {
  const dns = resolveDnsSources(...args);
  return dns ? { dns } : {};
}

function nodesToMembers(n: RawNodes): { route: string; port: number }[] {
  if (n.list) return n.list;
  const count = n.count ?? 2;
  const base = n.basePort ?? 8081;
  const prefix = n.routePrefix ?? 'node';
  return Array.from({ length: count }, (_, i) => ({ route: `${prefix}${i + 1}`, port: base + i }));
}

function splitCommand(cmd: string | string[]): string[] {
  if (Array.isArray(cmd)) return cmd;
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(cmd))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]));
  return out;
}

function resolveNodes(raw: RawConfig, balancers: Record<string, RawBalancer>, diags: Diagnostic[]): NodesModel | undefined {
  const n = raw.nodes;
  if (!n) return undefined;
  const names = Object.keys(balancers);
  const balancer = n.balancer ?? (names.length === 1 ? names[0] : 'cluster');
  const host = n.host ?? '127.0.0.1';
  const nodes = nodesToMembers(n);
  const routes = new Set<string>();
  for (const node of nodes) {
    if (routes.has(node.route)) diags.push({ severity: 'error', path: 'nodes', message: `nodes: route "${node.route}" is used twice` });
    routes.add(node.route);
  }
  // The members come from the nodes: add the ones the balancer does not list yet.
  const b: RawBalancer = balancers[balancer] ?? { stickysession: '_s', nofailover: true, members: [] };
  const existing = new Set(b.members.map((m) => memberKey(m.url)));
  const added = nodes
    .map((node) => ({ url: `http://${host}:${node.port}`, route: node.route, health: n.health }))
    .filter((m) => !existing.has(memberKey(m.url)));
  balancers[balancer] = { ...b, members: [...b.members, ...added] };
  return {
    command: splitCommand(n.command),
    nodes,
    env: n.env ?? {},
    cwd: n.cwd,
    balancer,
    host,
    stopTimeoutMs: durationMs(n.stopTimeout, 10_000),
  };
}

function parseTarget(to: string): { balancer?: string; url?: string; path: string } {
  const m = /^balancer:\/\/([^/]+)(\/.*)?$/i.exec(to);
  if (m) return { balancer: m[1], path: m[2] ?? '' };
  const u = /^((?:https?|wss?):\/\/[^/]+)(\/.*)?$/i.exec(to)!;
  return { url: u[1], path: u[2] ?? '' };
}

function resolveSite(
  site: RawSite,
  index: string,
  raw: RawConfig,
  balancers: Record<string, RawBalancer>,
  implicit: Record<string, RawBalancer>,
  diags: Diagnostic[],
  /** Config path of each rule, when the rules were merged from several places. */
  rulePaths?: string[],
): SiteModel {
  const rules: RuleModel[] = [];
  (site.proxyPass ?? []).forEach((r, i) => {
    const path = rulePaths?.[i] ?? `${index}proxyPass[${i}]`;
    if (r.to === '!') {
      rules.push({ kind: 'exclude', path: r.path, match: r.match });
      return;
    }
    if (r.match) {
      try {
        new RegExp(r.match);
      } catch (e) {
        diags.push({ severity: 'error', path, message: `${path}.match: ${JSON.stringify(r.match)} is not a valid regular expression (${(e as Error).message})` });
      }
    }
    const t = parseTarget(r.to);
    let name: string;
    if (t.balancer) {
      name = Object.keys(balancers).find((k) => k.toLowerCase() === t.balancer!.toLowerCase()) ?? t.balancer;
      const b = balancers[name];
      if (!b) {
        diags.push({
          severity: 'error',
          path,
          message: `${path}.to: no balancer named "${t.balancer}" (defined: ${Object.keys(balancers).join(', ') || 'none'})`,
          code: 'unknown-balancer',
        });
        return;
      }
      if (r.params) balancers[name] = { ...b, ...r.params, members: b.members };
    } else {
      const key = memberKey(t.url!);
      name = `url:${key}`;
      implicit[name] ??= { members: [{ url: t.url!, ...(r.member ?? {}) }], maxattempts: 0, forcerecovery: true };
    }
    rules.push({ kind: 'proxy', path: r.path, match: r.match, balancer: name, targetPath: t.path });
  });

  const reverse: ReverseModel[] = (site.proxyPassReverse ?? []).map((r) => {
    const t = parseTarget(r.to);
    // Apache leaves relative redirects alone; stickylb maps them to the local path by default.
    const relative = r.relative ?? raw.defaults !== 'apache';
    if (t.balancer) {
      const name = Object.keys(balancers).find((k) => k.toLowerCase() === t.balancer!.toLowerCase());
      const members = name ? balancers[name].members : [];
      return { path: r.path, prefixes: members.map((m) => joinUrl(httpUrl(m.url), t.path)), upstreamPath: t.path || '/', relative };
    }
    return { path: r.path, prefixes: [joinUrl(t.url!, t.path)], upstreamPath: t.path || '/', relative };
  });

  const handlers: HandlerModel[] = (site.handlers ?? []).map((h, hi) => ({
    path: h.path,
    handler: h.handler,
    allow: h.allow ?? ['local'],
    deny: h.deny ?? [],
    htpasswd: h.htpasswd,
    realm: h.realm ?? 'stickylb',
    access: resolveHandlerAccess(h, `${index}handlers[${hi}]`, diags),
  }));

  return {
    serverName: site.serverName,
    serverAliases: site.serverAliases ?? [],
    listen: site.listen?.map(parseListen),
    preserveHost: site.preserveHost ?? false,
    rules,
    reverse,
    cookiePath: site.cookiePath ?? [],
    cookieDomain: site.cookieDomain ?? [],
    handlers,
    ...resolveSiteEdge(site, index, diags),
    static: site.static
      ? {
          root: site.static.root,
          index: site.static.index ?? ['index.html'],
          dotfiles: site.static.dotfiles ?? 'ignore',
          precompressed: site.static.precompressed ?? false,
          maxAgeMs: durationMs(site.static.maxAge, 0),
        }
      : undefined,
    accessLog: (site.accessLog ?? []).map((l, i) => {
      const format = raw.logFormats?.[l.format ?? 'combined'] ?? STANDARD_LOG_FORMATS[l.format ?? 'combined'] ?? l.format ?? 'combined';
      const problem = checkLogFormat(format);
      if (problem) diags.push({ severity: 'error', path: `${index}accessLog[${i}].format`, message: `${index}accessLog[${i}].format: ${problem} in "${format}" (see docs/logging.md for the directives)`, code: 'log-format' });
      return { path: l.path, format, json: l.json ?? false };
    }),
    tls: resolveSiteTls(site.tls),
    redirects: resolveRedirects(site.redirects),
    redirectToHttps: resolveRedirectToHttps(site.redirectToHttps),
    hsts: resolveHsts(site.hsts),
  };
}

function joinUrl(base: string, path: string): string {
  const b = base.replace(/\/+$/, '');
  if (!path || path === '/') return `${b}/`;
  return `${b}${path.startsWith('/') ? '' : '/'}${path}`;
}

/** The top-level site fields of a config, as a site (the default site). */
function topSite(raw: RawConfig): RawSite {
  const handlers = [...(raw.handlers ?? [])];
  const sugar: [keyof RawConfig, HandlerModel['handler'], string][] = [
    ['manager', 'balancer-manager', DEFAULTS.managerPath],
    ['serverStatus', 'server-status', DEFAULTS.statusPath],
    ['metrics', 'metrics', DEFAULTS.metricsPath],
  ];
  for (const [key, handler, defPath] of sugar) {
    const v = raw[key] as { path?: string } | undefined;
    if (v) handlers.push({ ...v, path: v.path ?? defPath, handler });
  }
  return {
    serverName: raw.serverName,
    serverAliases: raw.serverAliases,
    preserveHost: raw.preserveHost,
    proxyPass: raw.proxyPass,
    proxyPassReverse: raw.proxyPassReverse,
    cookiePath: raw.cookiePath,
    cookieDomain: raw.cookieDomain,
    handlers,
    static: raw.static,
    accessLog: raw.accessLog,
    ...edgeSiteOf(raw),
    tls: raw.tls,
    redirects: raw.redirects,
    redirectToHttps: raw.redirectToHttps,
    hsts: raw.hsts,
  };
}

export function resolveConfig(raw: RawConfig, opts: { source?: string; sourceMap?: SourceMap } = {}): ConfigModel {
  const diags: Diagnostic[] = [];
  for (const [name, text] of Object.entries(raw.healthExpressions ?? {})) {
    const problem = checkHealthExpect(text);
    if (problem) diags.push({ severity: 'error', path: `healthExpressions.${name}`, message: `healthExpressions.${name}: ${problem}`, code: 'health-expect' });
  }
  const edge = prepareEdge(raw, opts.source, diags);
  const balancers: Record<string, RawBalancer> = { ...(raw.balancers ?? {}) };
  const nodes = resolveNodes(raw, balancers, diags);
  const implicit: Record<string, RawBalancer> = {};

  const top = topSite(raw);
  let sites: SiteModel[];
  if (raw.virtualHosts?.length) {
    // Virtual hosts inherit what the main server sets. Apache 2.4 (ProxyPassInherit On) puts the
    // main server's ProxyPass and ProxyPassReverse rules before the host's own: checked against a
    // running httpd, a main-server `ProxyPass /x` wins over the same rule in a <VirtualHost>.
    sites = raw.virtualHosts.map((vh, i) =>
      resolveSite(
        {
          ...top,
          ...vh,
          proxyPass: [...(top.proxyPass ?? []), ...(vh.proxyPass ?? [])],
          proxyPassReverse: [...(top.proxyPassReverse ?? []), ...(vh.proxyPassReverse ?? [])],
          handlers: [...(vh.handlers ?? []), ...(top.handlers ?? [])],
          // mod_alias tries the host's redirects, then the main server's.
          redirects: [...(vh.redirects ?? []), ...(top.redirects ?? [])],
          ...inheritedAccess(top, vh),
        },
        `virtualHosts[${i}].`,
        raw,
        balancers,
        implicit,
        diags,
        [...(top.proxyPass ?? []).map((_, k) => `proxyPass[${k}]`), ...(vh.proxyPass ?? []).map((_, k) => `virtualHosts[${i}].proxyPass[${k}]`)],
      ),
    );
  } else {
    sites = [resolveSite(top, '', raw, balancers, implicit, diags)];
  }

  const model: Record<string, BalancerModel> = {};
  for (const [name, b] of Object.entries(balancers)) model[name] = resolveBalancer(name, b, raw, diags);
  for (const [name, b] of Object.entries(implicit)) model[name] = resolveBalancer(name, b, raw, diags, true);

  for (const b of Object.values(model)) {
    const routes = new Set(b.members.map((m) => m.route).filter(Boolean));
    b.members.forEach((m, i) => {
      if (m.redirect && !routes.has(m.redirect)) {
        diags.push({
          severity: 'error',
          path: `balancers.${b.name}.members[${i}].redirect`,
          message: `balancers.${b.name}.members[${i}].redirect: no member has route "${m.redirect}" (routes: ${[...routes].join(', ') || 'none'})`,
        });
      }
    });
  }

  const acme = resolveAcme(raw.acme, opts.source, diags, raw.defaults === 'apache');
  const fleet = resolveFleet(raw.fleet, opts.source, diags);
  const listenerTls = (raw.listen ?? []).map((l, i) => {
    const tls = typeof l === 'object' ? resolveListenerTls(l.tls, `listen[${i}]`, diags) : undefined;
    const protocols = resolveProtocols(l, tls !== undefined, `listen[${i}]`, diags);
    return { ...(tls ? { tls } : {}), ...(protocols ? { protocols } : {}) };
  });
  if (acme?.challenges.includes('tls-alpn-01') && !listenerTls.some((l) => l.tls)) {
    // TLS-ALPN-01 is answered in the TLS handshake: without a TLS listener nothing can answer it.
    const alone = acme.challenges.length === 1;
    diags.push({
      severity: alone ? 'error' : 'warning',
      path: 'acme.challenges',
      message: `acme.challenges: tls-alpn-01 is answered on TLS listeners (the CA connects to port 443), and no listener has tls${alone ? '; add one, or answer http-01' : `: only ${acme.challenges.filter((c) => c !== 'tls-alpn-01').join(', ')} will be answered`}`,
      code: 'acme-challenge',
    });
  }

  const errors = diags.filter((d) => d.severity === 'error');
  if (errors.length) {
    for (const d of errors) {
      const loc = d.path && opts.sourceMap ? findSource(opts.sourceMap, d.path) : undefined;
      d.file = loc?.file ?? opts.source;
      d.line = loc?.line;
      d.directive = loc?.directive;
    }
    throw new ConfigError(errors);
  }

  const listeners: ListenerModel[] = (raw.listen ?? [DEFAULTS.listen.port]).map((l, i) => ({ ...parseListen(l), ...listenerTls[i] }));
  // A fleet keeps a local copy of its shared state (its cache while Redis is away) unless told not to.
  const persist =
    raw.persist === true || (raw.persist === undefined && raw.fleet) ? { file: defaultPersistFile(opts.source) } : raw.persist ? { file: raw.persist.file } : undefined;
  const config: ConfigModel = {
    source: opts.source,
    defaults: raw.defaults ?? 'stickylb',
    listeners,
    balancers: model,
    sites,
    proxyRequests: raw.proxyRequests ?? false,
    proxyStatus: raw.proxyStatus ?? false,
    timeoutMs: durationMs(raw.timeout, DEFAULTS.timeoutMs),
    keepAliveTimeoutMs: durationMs(raw.keepAliveTimeout, DEFAULTS.keepAliveTimeoutMs),
    maxHeaderSize: raw.maxHeaderSize ?? DEFAULTS.maxHeaderSize,
    replayBuffer: raw.replayBuffer ?? DEFAULTS.replayBuffer,
    engine: raw.engine ?? DEFAULTS.engine,
    healthExpressions: raw.healthExpressions ?? {},
    logFormats: { ...STANDARD_LOG_FORMATS, ...(raw.logFormats ?? {}) },
    // Apache writes text lines; stickylb's own default is JSON, one object a line.
    errorLog: { path: raw.errorLog?.path ?? '-', level: raw.errorLog?.level ?? 'warn', format: raw.errorLog?.format ?? (raw.defaults === 'apache' ? 'text' : 'json') },
    persist,
    nodes,
    rolling: {
      maxDraining: raw.rolling?.maxDraining ?? 1,
      idleMs: durationMs(raw.rolling?.idle, 10_000),
      maxWaitMs: durationMs(raw.rolling?.maxWait, 300_000),
      hook: raw.rolling?.hook,
      sessionsPath: raw.rolling?.sessionsPath,
    },
    adminPath: raw.admin?.path ?? DEFAULTS.adminPath,
    edge,
    acme,
    ...(fleet ? { fleet } : {}),
    ...(raw.resolver ? { resolver: resolveResolver(raw.resolver) } : {}),
    ...(raw.workers !== undefined ? { workers: resolveWorkers(raw.workers) } : {}),
    gracefulShutdownTimeoutMs: durationMs(raw.gracefulShutdownTimeout, DEFAULTS.gracefulShutdownTimeoutMs),
  };
  // Every site a TLS listener serves needs a certificate: checked on the whole model, which knows
  // the managed (ACME) domains too.
  const tlsErrors = tlsSiteDiagnostics(
    config,
    config.sites.map((_, i) => (raw.virtualHosts?.length ? `virtualHosts[${i}]` : raw.tls ? 'tls' : '')),
    listeners.map((_, i) => `listen[${i}]`),
  );
  if (tlsErrors.length) throw locatedError(tlsErrors, opts);
  return config;
}

function locatedError(errors: Diagnostic[], opts: { source?: string; sourceMap?: SourceMap }): ConfigError {
  for (const d of errors) {
    const loc = d.path && opts.sourceMap ? findSource(opts.sourceMap, d.path) : undefined;
    d.file = loc?.file ?? opts.source;
    d.line = loc?.line;
    d.directive = loc?.directive;
  }
  return new ConfigError(errors);
}

/** `auto` is the number of cores Node can use (os.availableParallelism). */
function resolveWorkers(w: NonNullable<RawConfig['workers']>): WorkersModel {
  const spec = typeof w === 'object' ? w : { count: w };
  return { count: spec.count === 'auto' ? availableParallelism() : spec.count, nodeArgs: (typeof w === 'object' && w.nodeArgs) || [] };
}

function defaultPersistFile(source?: string): string {
  return source ? `${source}.state.json` : '.stickylb-state.json';
}

function findSource(map: SourceMap, path: string) {
  let p = path;
  for (;;) {
    const hit = map.get(p);
    if (hit) return hit;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) return undefined;
    p = p.slice(0, cut);
  }
}
