// Raw (schema-checked) edge settings to the model: trusted proxies (list files read here),
// access sections compiled to the rules authz.ts evaluates, limits with Apache's defaults. Every
// rule stickylb cannot enforce is an error with the config path of the line that asks for it.
import { readFileSync } from 'node:fs';
import { addressRule, type AddressRule, type CompatRules } from '../edge/authz.js';
import { proxyEntryProblem, type ProxyEntry } from '../edge/remote-ip.js';
import { compileRequire, needsUser, type RequireSpec } from '../edge/require-spec.js';
import { parseReadTimeout } from '../edge/read-timeout.js';
import { pcreProblem } from '../edge/regex.js';
import { resolveConfigPath } from './base-dir.js';
import { durationMs, type Diagnostic } from './diagnostics.js';
import type { AccessSectionModel, EdgeModel, RateLimitModel, RemoteIpModel, SiteEdgeModel } from './edge-model.js';
import type { z } from 'zod';
import type { accessRulesSchema, accessSectionSchema, remoteIpSchema } from './edge-schema.js';
import type { RawConfig, RawSite } from './schema.js';

type RawRules = z.infer<typeof accessRulesSchema>;
type RawSection = z.infer<typeof accessSectionSchema>;
type RawRemoteIp = z.infer<typeof remoteIpSchema>;

/** Apache's defaults (2.4.54 and later for LimitRequestBody). */
export const EDGE_DEFAULTS = {
  limitRequestBody: 1_073_741_824,
  limitRequestFields: 100,
  limitRequestFieldSize: 8190,
  limitRequestLine: 8190,
  maxKeepAliveRequests: 100,
  requestReadTimeout: 'header=20-40,MinRate=500 body=20,MinRate=500',
  proxyProtocolTimeoutMs: 5_000,
};

const resolvedRemoteIp = new WeakMap<object, RemoteIpModel>();

function err(diags: Diagnostic[], path: string, message: string, code: string): void {
  diags.push({ severity: 'error', path, message: `${path}: ${message}`, code });
}

function readProxyList(file: string, source: string | undefined, path: string, diags: Diagnostic[]): string[] {
  const abs = resolveConfigPath({ source }, file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    err(diags, path, `cannot read the proxy list ${abs} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'proxy-list');
    return [];
  }
  const out: string[] = [];
  text.split(/\r?\n/).forEach((line, n) => {
    for (const word of line.trim().split(/\s+/)) {
      if (!word) continue;
      if (word.startsWith('#')) break;
      const problem = proxyEntryProblem(word);
      if (problem) err(diags, path, `${abs} line ${n + 1}: ${problem}`, 'proxy-list');
      else out.push(word);
    }
  });
  return out;
}

function resolveRemoteIp(r: RawRemoteIp, path: string, source: string | undefined, diags: Diagnostic[]): RemoteIpModel {
  const proxies: ProxyEntry[] = [];
  const add = (list: string[] | undefined, internal: boolean, key: string) =>
    (list ?? []).forEach((net, i) => {
      const problem = proxyEntryProblem(net);
      if (problem) err(diags, `${path}.${key}[${i}]`, problem, 'remote-ip');
      else proxies.push({ net, internal });
    });
  add(r.internalProxies, true, 'internalProxies');
  add(r.trustedProxies, false, 'trustedProxies');
  (r.internalProxyList ?? []).forEach((f, i) => readProxyList(f, source, `${path}.internalProxyList[${i}]`, diags).forEach((net) => proxies.push({ net, internal: true })));
  (r.trustedProxyList ?? []).forEach((f, i) => readProxyList(f, source, `${path}.trustedProxyList[${i}]`, diags).forEach((net) => proxies.push({ net, internal: false })));
  if (r.header !== undefined && !proxies.length) {
    // mod_remoteip would take the address from the header of every client; that lets any client
    // choose its own address, so stickylb asks for the proxies to be named.
    err(
      diags,
      `${path}.header`,
      `${r.header} would be taken from every client, which lets anyone claim any address; name the proxies whose header is trusted (RemoteIPTrustedProxy / RemoteIPInternalProxy, trustedProxies / internalProxies)`,
      'remote-ip-untrusted',
    );
  }
  return { header: r.header?.toLowerCase(), proxies };
}

function proxyProtocolModel(v: RawConfig['proxyProtocol']): EdgeModel['proxyProtocol'] {
  if (v === undefined || v === false) return { all: false, listeners: [] };
  if (v === true) return { all: true, listeners: [] };
  return {
    all: false,
    listeners: v.map((l) => {
      if (typeof l === 'number') return { port: l };
      const m = /^(?:\[([^\]]+)\]:|([^\s:]+):)?(\d+)$/.exec(l)!;
      const host = m[1] ?? m[2];
      return { host: host === '*' || host === '0.0.0.0' ? undefined : host, port: Number(m[3]) };
    }),
  };
}

/**
 * The server-wide edge settings; also reads every site's trusted-proxy settings (and their list
 * files), which resolveSiteEdge then picks up. Call before the sites are resolved.
 */
export function prepareEdge(raw: RawConfig, source: string | undefined, diags: Diagnostic[]): EdgeModel {
  const declared = new Set<string>();
  const sites: [RawSite | RawConfig, string][] = [[raw, ''], ...(raw.virtualHosts ?? []).map((vh, i) => [vh, `virtualHosts[${i}].`] as [RawSite, string])];
  for (const [site, prefix] of sites) {
    if (!site.remoteIp) continue;
    const m = resolveRemoteIp(site.remoteIp, `${prefix}remoteIp`, source, diags);
    resolvedRemoteIp.set(site.remoteIp, m);
    for (const p of m.proxies) declared.add(p.net);
  }
  const rt = parseReadTimeout(raw.requestReadTimeout ?? EDGE_DEFAULTS.requestReadTimeout);
  if (typeof rt === 'string') err(diags, 'requestReadTimeout', rt, 'request-read-timeout');
  (raw.proxyProtocolExceptions ?? []).forEach((net, i) => {
    const problem = proxyEntryProblem(net);
    if (problem) err(diags, `proxyProtocolExceptions[${i}]`, problem, 'remote-ip');
  });
  return {
    limitRequestFields: raw.limitRequestFields ?? EDGE_DEFAULTS.limitRequestFields,
    limitRequestFieldSize: raw.limitRequestFieldSize ?? EDGE_DEFAULTS.limitRequestFieldSize,
    limitRequestLine: raw.limitRequestLine ?? EDGE_DEFAULTS.limitRequestLine,
    maxKeepAliveRequests: raw.maxKeepAliveRequests ?? EDGE_DEFAULTS.maxKeepAliveRequests,
    readTimeout: typeof rt === 'string' ? (parseReadTimeout(EDGE_DEFAULTS.requestReadTimeout) as Exclude<typeof rt, string>) : rt,
    maxConnections: raw.maxConnections ?? 0,
    maxConnectionsPerClient: raw.maxConnectionsPerClient ?? 0,
    proxyProtocol: proxyProtocolModel(raw.proxyProtocol),
    proxyProtocolTimeoutMs: durationMs(raw.proxyProtocolTimeout, EDGE_DEFAULTS.proxyProtocolTimeoutMs),
    proxyProtocolExceptions: raw.proxyProtocolExceptions ?? [],
    declaredProxies: [...declared],
  };
}

/** The edge fields of the default site a top-level config describes (resolve.ts's topSite). */
export function edgeSiteOf(raw: RawConfig): Partial<RawSite> {
  return { remoteIp: raw.remoteIp, forwarded: raw.forwarded, access: raw.access, limitRequestBody: raw.limitRequestBody, rateLimits: raw.rateLimits };
}

/** A virtual host's access sections come after the main server's, as Apache merges them. */
export function inheritedAccess(top: RawSite, vh: RawSite): Pick<RawSite, 'access'> {
  return top.access || vh.access ? { access: [...(top.access ?? []), ...(vh.access ?? [])] } : {};
}

/** A handler-style entry (`local`, `all`, `none`, `10.0.0.0/8`, `host example.org`) as a Require line. */
function requireLineOf(entry: string): string {
  const e = entry.trim();
  const lower = e.toLowerCase();
  if (lower === 'all') return 'all granted';
  if (lower === 'none') return 'all denied';
  if (lower === 'local' || lower === 'localhost') return 'local';
  const host = /^host\s+(\S+)$/i.exec(e);
  if (host) return `host ${host[1]}`;
  return `ip ${e}`;
}

/** The Require rules the YAML shorthands (allow, deny, htpasswd) stand for. */
function shorthandRequire(allow: string[] | undefined, deny: string[] | undefined, login: boolean): RequireSpec {
  const parts: RequireSpec[] = [];
  if (allow?.length || deny?.length) parts.push({ any: (allow?.length ? allow : ['all']).map(requireLineOf) });
  if (deny?.length) parts.push({ none: deny.map(requireLineOf) });
  if (login) parts.push('valid-user');
  return parts.length === 1 ? (parts[0] as RequireSpec) : { all: parts };
}

function compatOf(r: RawRules, path: string, diags: Diagnostic[]): CompatRules | undefined {
  if (r.order === undefined && r.allowFrom === undefined && r.denyFrom === undefined && r.satisfy === undefined) return undefined;
  const rules = (words: string[] | undefined, key: string): AddressRule[] => {
    const out: AddressRule[] = [];
    (words ?? []).forEach((w, i) => {
      if (/^env=/i.test(w)) {
        err(diags, `${path}.${key}[${i}]`, `"${w}": environment conditions cannot be enforced by stickylb (it sets no environment variables)`, 'access-unenforceable');
        return;
      }
      const rule = addressRule(w, true);
      if (typeof rule === 'string') err(diags, `${path}.${key}[${i}]`, `${rule} (expected all, an IP, a partial IP, a network or a host name)`, 'access-invalid');
      else out.push(rule);
    });
    return out;
  };
  return { order: r.order ?? 'deny,allow', allow: rules(r.allowFrom, 'allowFrom'), deny: rules(r.denyFrom, 'denyFrom'), satisfy: r.satisfy ?? 'all' };
}

/** The rules part of an access section or of a handler's `access`. */
function rulesOf(
  r: RawRules & { allow?: string[]; deny?: string[]; htpasswd?: string; realm?: string; limitRequestBody?: number },
  name: string,
  path: string,
  diags: Diagnostic[],
): Omit<AccessSectionModel, 'scope' | 'prefix' | 'match'> {
  let spec = r.require;
  let authType = r.authType;
  let authUserFile = r.authUserFile;
  let authName = r.authName;
  const shorthand = r.allow !== undefined || r.deny !== undefined || r.htpasswd !== undefined;
  if (shorthand) {
    if (spec !== undefined) err(diags, path, 'give either require or the allow/deny/htpasswd shorthands, not both', 'access-invalid');
    else spec = shorthandRequire(r.allow, r.deny, r.htpasswd !== undefined);
    if (r.htpasswd !== undefined) {
      authType ??= 'basic';
      authUserFile ??= r.htpasswd;
    }
    authName ??= r.realm;
  }
  let require;
  if (spec !== undefined) {
    const problems: { at: string; message: string }[] = [];
    require = compileRequire(spec, problems);
    for (const p of problems) err(diags, `${path}.require${p.at}`, p.message, 'access-unenforceable');
  }
  return {
    name,
    require,
    authMerging: r.authMerging ?? 'off',
    compat: compatOf(r, path, diags),
    authType,
    authName,
    authUserFile,
    authGroupFile: r.authGroupFile,
    limitRequestBody: r.limitRequestBody,
  };
}

/** Checks that every section asking for a user can get one (a file to check passwords in). */
function checkLogins(sections: AccessSectionModel[], paths: string[], diags: Diagnostic[]): void {
  let userFile = false;
  let groupFile = false;
  sections.forEach((s, i) => {
    if (s.authUserFile) userFile = true;
    if (s.authGroupFile) groupFile = true;
    const wants = s.require ? needsUser(s.require) : undefined;
    if (!wants) return;
    if (s.authType === 'none') err(diags, paths[i], `${s.name}: Require ${wants === 'group' ? 'group' : 'valid-user/user'} with AuthType None: nobody can log in`, 'access-unenforceable');
    if (!userFile) err(diags, paths[i], `${s.name}: the rules need a logged-in user but no AuthUserFile (htpasswd) is set for it; add AuthType Basic and AuthUserFile FILE`, 'access-unenforceable');
    if (wants === 'group' && !groupFile) err(diags, paths[i], `${s.name}: Require group needs an AuthGroupFile`, 'access-unenforceable');
  });
}

function regexProblem(src: string): string | undefined {
  const pcre = pcreProblem(src);
  if (pcre) return pcre;
  try {
    new RegExp(src);
  } catch (e) {
    return `not a regular expression stickylb can use (${(e as Error).message})`;
  }
  return undefined;
}

function sectionOf(s: RawSection, path: string, diags: Diagnostic[]): AccessSectionModel | undefined {
  const regex = s.match ?? s.proxyMatch;
  if (regex !== undefined) {
    const problem = regexProblem(regex);
    if (problem) {
      err(diags, `${path}.${s.match !== undefined ? 'match' : 'proxyMatch'}`, `${JSON.stringify(regex)}: ${problem}; the access rules of this section cannot be enforced`, 'access-regex');
      return undefined;
    }
  }
  const scope = s.proxy !== undefined || s.proxyMatch !== undefined ? 'proxy' : 'location';
  const what = s.path !== undefined ? `<Location ${s.path}>` : s.match !== undefined ? `<LocationMatch ${s.match}>` : s.proxy !== undefined ? `<Proxy ${s.proxy}>` : `<ProxyMatch ${s.proxyMatch}>`;
  const rules = rulesOf(s, `${what} (${path})`, path, diags);
  return { ...rules, scope, prefix: s.path ?? s.proxy, match: regex };
}

/** The edge settings of one (merged) site. */
export function resolveSiteEdge(site: RawSite, index: string, diags: Diagnostic[]): SiteEdgeModel {
  const out: SiteEdgeModel = { forwarded: site.forwarded ?? false, limitRequestBody: site.limitRequestBody ?? EDGE_DEFAULTS.limitRequestBody, edgeSteps: false };
  if (site.remoteIp) out.remoteIp = resolvedRemoteIp.get(site.remoteIp);
  if (site.access?.length) {
    const sections: AccessSectionModel[] = [];
    const paths: string[] = [];
    site.access.forEach((s, i) => {
      const m = sectionOf(s, `${index}access[${i}]`, diags);
      if (m) {
        sections.push(m);
        paths.push(`${index}access[${i}]`);
      }
    });
    checkLogins(sections, paths, diags);
    // Apache applies <Proxy> sections first (in the place of <Directory>), then <Location>.
    const order = sections.map((s, i) => i).sort((a, b) => (sections[a].scope === sections[b].scope ? a - b : sections[a].scope === 'proxy' ? -1 : 1));
    if (sections.length) out.access = order.map((i) => sections[i]);
  }
  if (site.rateLimits?.length) {
    out.rateLimits = site.rateLimits.map((r, i): RateLimitModel => {
      const windowMs = durationMs(r.window, 0);
      if (windowMs < 1000) err(diags, `${index}rateLimits[${i}].window`, 'must be at least 1s', 'rate-limit');
      const path = r.path ?? '/';
      return { id: `${path} ${r.requests}/${Math.round(windowMs / 1000)}s`, path, requests: r.requests, windowMs };
    });
  }
  out.edgeSteps = out.remoteIp !== undefined || out.access !== undefined || out.rateLimits !== undefined;
  return out;
}

/** The exact rules of a built-in handler, when its config gives them (`access`). */
export function resolveHandlerAccess(h: { path: string; access?: RawRules }, path: string, diags: Diagnostic[]): AccessSectionModel | undefined {
  if (!h.access) return undefined;
  const rules = rulesOf(h.access, `<Location ${h.path}> (${path})`, `${path}.access`, diags);
  checkLogins([{ ...rules, scope: 'location' }], [`${path}.access`], diags);
  return { ...rules, scope: 'location', prefix: h.path };
}
