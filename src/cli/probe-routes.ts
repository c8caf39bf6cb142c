// `stickylb check --probe`: one request to each member of every sticky balancer, reading the
// session id the member issues (the sticky cookie in Set-Cookie, the sticky URL parameter in
// Location) and the route it carries, as route verification reads them on live traffic.
import http from 'node:http';
import https from 'node:https';
import type { BalancerModel, ConfigModel, MemberModel } from '../config/model.js';
import { issuedIds } from '../proxy/core/issued-ids.js';
import { isSafeRoute, routeOf } from '../balancer/sticky/route-id.js';
import { memberHostHeader } from '../config/member-url.js';

export type ProbeVerdict = 'ok' | 'mismatch' | 'no-route' | 'no-session' | 'unreachable' | 'not-checked';

export interface RouteProbe {
  balancer: string;
  member: string;
  /** The member's configured route ('' for none). */
  route: string;
  /** The path requested (member base path included). */
  path: string;
  status?: number;
  /** The first session id issued: where, its name, and the route it carries ('' for none). */
  issued?: { where: 'cookie' | 'url'; name: string; route: string };
  verdict: ProbeVerdict;
  /** What happened, in words. */
  detail: string;
}

export interface ProbeOptions {
  /** Path to request on each member; default: the target path of the first ProxyPass rule to the balancer, else `/`. */
  path?: string;
  timeoutMs?: number;
}

function targetPath(model: ConfigModel, balancer: string): string {
  for (const site of model.sites) {
    for (const r of site.rules) if (r.kind === 'proxy' && r.balancer === balancer && !r.targetPath.includes('$')) return r.targetPath || '/';
  }
  return '/';
}

function get(m: MemberModel, path: string, timeoutMs: number): Promise<{ status: number; rawHeaders: string[] }> {
  return new Promise((resolve, reject) => {
    const lib = m.protocol === 'https:' ? https : http;
    const req = lib.request(
      {
        host: m.hostname,
        port: m.port,
        path,
        method: 'GET',
        headers: { Host: memberHostHeader(m), 'User-Agent': 'stickylb check --probe', Accept: 'text/html,*/*' },
        agent: false,
        // Members' certificates are not checked, as health checks do not check them (Apache).
        rejectUnauthorized: false,
        timeout: timeoutMs,
      },
      (res) => {
        resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders });
        res.resume();
        res.on('error', () => undefined);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function probeMember(b: BalancerModel, m: MemberModel, path: string, timeoutMs: number): Promise<RouteProbe> {
  const full = `${m.basePath}${path.startsWith('/') ? path : `/${path}`}`;
  const base = { balancer: b.name, member: m.url, route: m.route, path: full };
  let answer: { status: number; rawHeaders: string[] };
  try {
    answer = await get(m, full, timeoutMs);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ...base, verdict: 'unreachable', detail: `GET ${full}: ${err.code ?? err.message}` };
  }
  const ids = issuedIds(answer.rawHeaders, b.sticky!, b.scolonpathdelim);
  const said = `GET ${full} answered ${answer.status}`;
  if (!ids) {
    const names = [b.sticky!.cookie && `cookie ${b.sticky!.cookie}`, b.sticky!.url && `URL parameter ${b.sticky!.url}`].filter(Boolean).join(' or ');
    return { ...base, status: answer.status, verdict: 'no-session', detail: `${said} without a session id (${names}); if the application starts sessions on another page, probe that one with --probe-path` };
  }
  const id = ids[0];
  const r = routeOf(id.value, b.separator);
  const issued = r !== undefined && isSafeRoute(r) ? r : '';
  const where = id.where === 'cookie' ? `cookie ${id.name}` : `URL parameter ${id.name} in Location`;
  const result = { ...base, status: answer.status, issued: { where: id.where, name: id.name, route: issued } };
  if (!m.route) return { ...result, verdict: 'not-checked', detail: `${said} with a session id (${where}) of route "${issued}"; the member has no route in the config` };
  if (issued === m.route) return { ...result, verdict: 'ok', detail: `${said} with a session id (${where}) of route "${issued}", its own` };
  const fix = `give the node its route: Seaside WAAdmin makeAllClusteredWith: '${m.route}', Tomcat jvmRoute="${m.route}", stickylb/cluster STICKYLB_ROUTE=${m.route}; or correct route= in the config`;
  if (!issued) return { ...result, verdict: 'no-route', detail: `${said} with a session id without a route (${where}), but its route is "${m.route}": ${fix}` };
  return { ...result, verdict: 'mismatch', detail: `${said} with a session id (${where}) of route "${issued}", not its own "${m.route}": ${fix}` };
}

/** Probes every member of every sticky balancer a person configured, in parallel. */
export async function probeRoutes(model: ConfigModel, opts: ProbeOptions = {}): Promise<RouteProbe[]> {
  const jobs: Promise<RouteProbe>[] = [];
  for (const b of Object.values(model.balancers)) {
    if (b.implicit || !b.sticky) continue;
    const path = opts.path ?? targetPath(model, b.name);
    for (const m of b.members) jobs.push(probeMember(b, m, path, opts.timeoutMs ?? 5000));
  }
  return Promise.all(jobs);
}

/** The probe results as text lines for `check`. */
export function renderProbes(probes: RouteProbe[], model: ConfigModel): string {
  const sticky = Object.values(model.balancers).filter((b) => !b.implicit && b.sticky);
  if (!sticky.length) return 'Route probe: no sticky balancer to probe.';
  const mark: Record<ProbeVerdict, string> = { ok: 'ok', mismatch: 'WRONG ROUTE', 'no-route': 'NO ROUTE', 'no-session': 'no session id', unreachable: 'unreachable', 'not-checked': 'no route configured' };
  const out = ['Route probe (one request to each member):'];
  for (const b of sticky) {
    out.push(`  balancer ${b.name}`);
    for (const p of probes.filter((x) => x.balancer === b.name)) out.push(`    ${p.member}${p.route ? ` (route ${p.route})` : ''}: ${mark[p.verdict]}: ${p.detail}`);
  }
  return out.join('\n');
}
