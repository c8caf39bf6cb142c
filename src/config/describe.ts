// The effective setup of a config in plain words: listeners and hosts, which paths go where in
// which order, each balancer's members, stickiness and failover, and who may use the manager.
// Pure: `describeConfig` gives data (for --json), `renderSetup` the text.
import { STATUS_LETTERS, STATUS_WORDS, type AcmeModel, type BalancerModel, type ConfigModel, type HandlerModel, type ListenerModel, type SiteModel } from './model.js';
import { formatRenewWindow } from '../acme/schedule.js';
import { resolveConfigPath } from './base-dir.js';

export interface RouteLine {
  /** The path or pattern as configured. */
  path: string;
  /** What happens to it, in words. */
  action: string;
}

export interface SiteSetup {
  title: string;
  listen: string;
  serverName?: string;
  aliases: string[];
  hostHeader: string;
  routes: RouteLine[];
  redirects: { path: string; from: string[]; relative: boolean }[];
  cookieRewrites: string[];
  handlers: { handler: string; path: string; who: string }[];
  static?: string;
  accessLogs: string[];
  /** Certificates, redirects answered by stickylb, the move to HTTPS, HSTS. */
  https?: string[];
}

export interface MemberSetup {
  url: string;
  route: string;
  loadfactor: number;
  lbset: number;
  status: string;
  redirect?: string;
}

export interface BalancerSetup {
  name: string;
  lbmethod: string;
  sticky: string;
  failover: string;
  attempts: string;
  usedBy: string[];
  members: MemberSetup[];
  /** DNS names whose records are members too, in words. */
  dns?: string[];
}

export interface Setup {
  listeners: string[];
  sites: SiteSetup[];
  balancers: BalancerSetup[];
  serverStatus: string;
  errorLog: string;
  persist: string;
  /** The fleet this balancer is part of, in words. */
  fleet?: string;
  timeouts: string;
  /** Whose defaults the settings left out got. */
  defaults: string;
  /** The managed (ACME) certificates, when there are some. */
  certificates?: string[];
  /** Worker processes, when the config asks for them. */
  workers?: string;
}

/** The managed domains and how their certificates are got, one line each. */
function describeAcme(acme: AcmeModel): string[] {
  const w = acme.renewWindow;
  const renew = 'percent' in w ? `when ${w.percent}% of the lifetime is left` : `${formatRenewWindow(w)} before expiry`;
  const ways = acme.challenges.map((c) => (c === 'http-01' ? 'HTTP-01 on port 80' : 'TLS-ALPN-01 on port 443')).join(' or ');
  const how = `from ${acme.directory} (ACME, ${ways}), renewed ${renew}, kept in ${acme.storeDir}`;
  return acme.domains.map((d) => `${d.names.join(', ')} ${how}`);
}

function listener(l: ListenerModel): string {
  const where = l.host ? `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}` : `port ${l.port} on every address`;
  if (l.tls) return `${where} (HTTPS${l.protocols?.includes('h2') ? ' and HTTP/2' : ''}, ${l.tls.minVersion === l.tls.maxVersion ? l.tls.minVersion : `${l.tls.minVersion} to ${l.tls.maxVersion}`})`;
  return l.protocols?.includes('h2c') ? `${where} (HTTP/1.1 and h2c)` : where;
}

/** A site's HTTPS setup in words: certificates, its own redirects, the move to HTTPS, HSTS. */
function httpsLines(model: ConfigModel, site: SiteModel): string[] {
  const out: string[] = [];
  for (const c of site.tls?.certificates ?? []) out.push(`Certificate: ${resolveConfigPath(model, c.cert)}${c.key ? `, key ${resolveConfigPath(model, c.key)}` : ''}${c.chain ? `, chain ${resolveConfigPath(model, c.chain)}` : ''}`);
  for (const r of site.redirects ?? []) out.push(`Redirect: ${r.path} → ${r.to === undefined ? `${r.status} (gone)` : `${r.to}… (${r.status})`}`);
  if (site.redirectToHttps) out.push(`Plain HTTP is redirected to https://${site.redirectToHttps.port && site.redirectToHttps.port !== 443 ? ` (port ${site.redirectToHttps.port})` : ''} with ${site.redirectToHttps.status}`);
  if (site.hsts) out.push(`HSTS on HTTPS answers: Strict-Transport-Security: ${site.hsts}`);
  return out;
}

function accessEntry(e: string): string {
  if (e === 'local') return 'this machine';
  if (e === 'all') return 'everyone';
  if (e === 'none') return 'nobody';
  if (e.startsWith('host ')) return `hosts in ${e.slice(5)}`;
  return e;
}

/** Who may use a handler, in words. */
export function describeAccess(h: Pick<HandlerModel, 'allow' | 'deny' | 'htpasswd'>): string {
  let who: string;
  if (h.allow.includes('none') || h.allow.length === 0) who = 'nobody';
  else if (h.allow.includes('all')) who = 'everyone';
  else who = h.allow.map(accessEntry).join(', ');
  if (who !== 'nobody' && h.deny.length) who += `, except ${h.deny.map(accessEntry).join(', ')}`;
  if (who !== 'nobody' && h.htpasswd) who += `, after logging in (users in ${h.htpasswd})`;
  return who;
}

function memberStatus(m: BalancerModel['members'][number]): string {
  const set = STATUS_LETTERS.filter((l) => m.status[l]).map((l) => STATUS_WORDS[l]);
  return set.length ? set.join(', ') : 'ok';
}

function target(model: ConfigModel, name: string, targetPath: string): string {
  const b = model.balancers[name];
  if (b?.implicit) return `${b.members[0]?.url.replace(/\/+$/, '') ?? name}${targetPath}`;
  return `balancer ${name}${targetPath && targetPath !== '/' ? ` (as ${targetPath}…)` : ''}`;
}

function describeSite(model: ConfigModel, site: SiteModel, index: number): SiteSetup {
  const listen = site.listen ? site.listen.map((l) => (l.host ? `${l.host}:${l.port}` : `*:${l.port}`)).join(', ') : 'every listener';
  const title = model.sites.length === 1 ? 'Site' : `Virtual host ${index + 1}`;
  const routes: RouteLine[] = [];
  for (const h of site.handlers) routes.push({ path: h.path, action: `${h.handler} (answered by stickylb; ${describeAccess(h)})` });
  for (const r of site.rules) {
    const path = r.match !== undefined ? `~ ${r.match}` : r.path!;
    if (r.kind === 'exclude') {
      const h = r.path !== undefined ? site.handlers.find((x) => x.path === r.path) : undefined;
      if (h) continue;
      routes.push({ path, action: site.static ? `not proxied: files from ${site.static.root}` : 'not proxied (404: nothing serves it)' });
    } else {
      routes.push({ path, action: `→ ${target(model, r.balancer, r.targetPath)}` });
    }
  }
  const covered = site.rules.some((r) => r.path === '/' && r.kind === 'proxy');
  if (!covered) routes.push({ path: '(anything else)', action: site.static ? `files from ${site.static.root}` : '404' });
  return {
    title,
    listen,
    serverName: site.serverName,
    aliases: site.serverAliases,
    hostHeader: site.preserveHost ? "the client's Host header is passed to members (ProxyPreserveHost On)" : "members see their own host:port as Host (ProxyPreserveHost Off)",
    routes,
    redirects: site.reverse.map((r) => ({ path: r.path, from: r.prefixes, relative: r.relative })),
    cookieRewrites: [
      ...site.cookiePath.map((c) => `cookie path ${c.from} → ${c.to}`),
      ...site.cookieDomain.map((c) => `cookie domain ${c.from} → ${c.to}`),
    ],
    handlers: site.handlers.map((h) => ({ handler: h.handler, path: h.path, who: describeAccess(h) })),
    static: site.static?.root,
    accessLogs: site.accessLog.map((l) => `${l.path === '-' ? 'standard output' : resolveConfigPath(model, l.path)}${l.json ? ' (JSON)' : ''}`),
    https: httpsLines(model, site),
  };
}

function describeBalancer(model: ConfigModel, b: BalancerModel): BalancerSetup {
  let sticky: string;
  if (!b.sticky) sticky = `not sticky: every request is placed by ${b.lbmethod}`;
  else {
    const parts = [
      b.sticky.url ? `URL parameter "${b.sticky.url}"${b.scolonpathdelim ? ' (";" also ends it)' : ''}` : undefined,
      b.sticky.cookie ? `cookie "${b.sticky.cookie}"` : undefined,
    ].filter(Boolean);
    const where = parts.length === 2 ? `${parts[0]}, else in ${parts[1]}` : parts[0];
    const route = b.separator === null ? 'the whole value is the route' : `the route is what follows the first "${b.separator}"`;
    sticky = `session id in ${where}; ${route}`;
  }
  const failover = b.nofailover
    ? 'off (nofailover On): requests of a session whose member is down get 503'
    : 'on: requests of a session whose member is down go to another member';
  const attempts = `${b.maxattempts ?? Math.max(b.members.length - 1, 0)} more attempt(s) after a failed connection${b.timeoutMs ? `; waits up to ${b.timeoutMs / 1000}s for a usable member` : ''}${b.failonstatus.length ? `; status ${b.failonstatus.join(', ')} puts a member in error` : ''}`;
  const usedBy: string[] = [];
  model.sites.forEach((s, i) =>
    s.rules.forEach((r) => {
      if (r.kind === 'proxy' && r.balancer === b.name) usedBy.push(`${r.match !== undefined ? `~ ${r.match}` : r.path}${model.sites.length > 1 ? ` (virtual host ${i + 1})` : ''}`);
    }),
  );
  return {
    name: b.name,
    lbmethod: b.lbmethod,
    sticky,
    failover,
    attempts,
    usedBy,
    members: b.members.map((m) => ({
      url: m.url,
      route: m.route,
      loadfactor: m.loadfactor,
      lbset: m.lbset,
      status: memberStatus(m),
      redirect: m.redirect || undefined,
    })),
    ...(b.dns?.length
      ? { dns: b.dns.map((d) => `${d.name} (${d.type}${d.port ? ` port ${d.port}` : ''}; routes from ${d.route === 'name' ? 'the names' : 'the addresses'}; looked up again as the TTL says)`) }
      : {}),
  };
}

/** The effective setup of a model, as data. */
export function describeConfig(model: ConfigModel): Setup {
  const ms = (n: number) => (n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);
  return {
    listeners: model.listeners.map(listener),
    ...(model.workers
      ? { workers: `${model.workers.count} worker process${model.workers.count === 1 ? '' : 'es'} serve the listeners; one owner process keeps the state, manager and health checks${model.workers.nodeArgs.length ? ` (workers run with ${model.workers.nodeArgs.join(' ')})` : ''}` }
      : {}),
    sites: model.sites.map((s, i) => describeSite(model, s, i)),
    // One-member balancers of `ProxyPass /x http://host/` rules show as plain targets instead.
    balancers: Object.values(model.balancers)
      .filter((b) => !b.implicit)
      .map((b) => describeBalancer(model, b)),
    serverStatus: model.proxyStatus ? 'server-status shows the balancers (ProxyStatus On)' : 'server-status does not show the balancers (ProxyStatus Off)',
    errorLog: `${model.errorLog.path === '-' ? 'standard output' : resolveConfigPath(model, model.errorLog.path)}, level ${model.errorLog.level}, ${model.errorLog.format === 'text' ? 'text lines' : 'JSON lines'}`,
    persist: model.persist ? `manager changes are kept in ${model.persist.file} (BalancerPersist On)` : 'manager changes last until restart',
    ...(model.fleet
      ? { fleet: `${model.fleet.name}: manager changes, rolling restarts and the saved state are shared with the other balancers through ${model.fleet.redis.replace(/\/\/[^@/]*@/, '//***@')}${model.persist ? ' (the state file is the cache while Redis is away)' : ''}` }
      : {}),
    timeouts: `Timeout ${ms(model.timeoutMs)}, KeepAliveTimeout ${ms(model.keepAliveTimeoutMs)}`,
    certificates: model.acme ? describeAcme(model.acme) : undefined,
    defaults:
      model.defaults === 'apache'
        ? "Apache 2.4's for what the config leaves out (see the differences in docs/apache-migration.md)"
        : "stickylb's for what the config leaves out (defaults: apache gives Apache 2.4's)",
  };
}

function table(rows: string[][], indent: string): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => r[c].length))) ?? [];
  return rows.map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  '));
}

/** The setup as text for the terminal. */
export function renderSetup(s: Setup): string {
  const out: string[] = [];
  out.push(`Listening on: ${s.listeners.join(', ')}`);
  if (s.workers) out.push(`Processes: ${s.workers}`);
  for (const site of s.sites) {
    out.push('');
    const names = site.serverName ? `, ${site.serverName}${site.aliases.length ? ` (also ${site.aliases.join(', ')})` : ''}` : '';
    out.push(`${site.title} on ${site.listen}${names}`);
    out.push('  Requests, first match wins:');
    out.push(...table(site.routes.map((r) => [r.path, r.action]), '    '));
    for (const r of site.redirects) {
      out.push(`  Redirects to ${r.from.length ? r.from.join(', ') : '(no member URLs)'} are rewritten to ${r.path}${r.relative ? ' (relative ones too)' : ''}`);
    }
    if (!site.redirects.length) out.push('  Redirects from members are passed on unchanged (no ProxyPassReverse)');
    for (const c of site.cookieRewrites) out.push(`  Set-Cookie: ${c}`);
    out.push(`  Host: ${site.hostHeader}`);
    for (const l of site.accessLogs) out.push(`  Access log: ${l}`);
    for (const l of site.https ?? []) out.push(`  ${l}`);
  }
  for (const b of s.balancers) {
    out.push('');
    out.push(`Balancer ${b.name} (${b.lbmethod})${b.usedBy.length ? `, for ${b.usedBy.join(', ')}` : ', used by no ProxyPass rule'}`);
    out.push(`  Sticky: ${b.sticky}`);
    out.push(`  Failover: ${b.failover}`);
    out.push(`  Retries: ${b.attempts}`);
    for (const d of b.dns ?? []) out.push(`  Members found by DNS: ${d}`);
    if (!b.members.length && !b.dns?.length) out.push('  Members: none');
    else if (!b.members.length) out.push('  Members: none configured');
    else {
      out.push('  Members:');
      out.push(
        ...table(
          b.members.map((m) => [m.url, m.route ? `route ${m.route}` : 'no route', `factor ${m.loadfactor}`, `set ${m.lbset}`, `${m.status}${m.redirect ? `, redirect to ${m.redirect}` : ''}`]),
          '    ',
        ),
      );
    }
  }
  const managers = s.sites.flatMap((site) =>
    site.handlers.map((h) => `${h.handler} at ${h.path}${s.sites.length > 1 ? ` on ${site.title.toLowerCase()}` : ''}: ${h.who}`),
  );
  out.push('');
  if (managers.length) for (const m of managers) out.push(`Handler: ${m}`);
  else out.push('No balancer-manager or server-status location.');
  out.push(`Status: ${s.serverStatus}`);
  for (const c of s.certificates ?? []) out.push(`Certificates: ${c}`);
  out.push(`Persistence: ${s.persist}`);
  if (s.fleet) out.push(`Fleet: ${s.fleet}`);
  out.push(`Error log: ${s.errorLog}`);
  out.push(`Timeouts: ${s.timeouts}`);
  out.push(`Defaults: ${s.defaults}`);
  return out.join('\n');
}
