// Lints: configs that load but do not do what their author most likely meant (an exclusion
// placed after the rule that swallows it, a ProxyPassReverse that misses a member, a route used
// twice, a manager open to everyone). Pure: works on the model, the raw object it came from
// (to name the config path of each rule) and the source map (to name file:line).
import type { ConfigModel, MemberModel, RuleModel, SiteModel } from './model.js';
import type { RawConfig } from './schema.js';
import type { Diagnostic, SourceMap } from './diagnostics.js';
import { memberKey } from './member-url.js';
import { matchesPrefix } from '../proxy/path.js';
import { lintTrust } from './lint-trust.js';
import { lintAcme } from './lint-acme.js';

/** Config paths of a site's rules, reverse rules and handlers, in the model's order. */
interface SiteOrigins {
  rules: string[];
  reverse: string[];
  handlers: string[];
}

const SUGAR: [keyof RawConfig, string][] = [
  ['manager', 'manager'],
  ['serverStatus', 'serverStatus'],
  ['metrics', 'metrics'],
];

/** Mirrors how resolveConfig merges the main server into each virtual host. */
function siteOrigins(raw: RawConfig): SiteOrigins[] {
  const idx = (prefix: string, list: unknown[] | undefined) => (list ?? []).map((_, i) => `${prefix}[${i}]`);
  const topHandlers = [...idx('handlers', raw.handlers), ...SUGAR.filter(([k]) => raw[k]).map(([, p]) => p)];
  const top: SiteOrigins = {
    rules: idx('proxyPass', raw.proxyPass),
    reverse: idx('proxyPassReverse', raw.proxyPassReverse),
    handlers: topHandlers,
  };
  if (!raw.virtualHosts?.length) return [top];
  return raw.virtualHosts.map((vh, k) => ({
    rules: [...idx(`virtualHosts[${k}].proxyPass`, vh.proxyPass), ...top.rules],
    reverse: [...idx(`virtualHosts[${k}].proxyPassReverse`, vh.proxyPassReverse), ...top.reverse],
    handlers: [...idx(`virtualHosts[${k}].handlers`, vh.handlers), ...top.handlers],
  }));
}

function rawAt(raw: unknown, path: string): any {
  let cur: any = raw;
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (cur === undefined || cur === null) return undefined;
    cur = m[2] !== undefined ? cur[Number(m[2])] : cur[m[1]];
  }
  return cur;
}

function normUrl(url: string): string {
  try {
    return memberKey(url).toLowerCase();
  } catch {
    return url.toLowerCase().replace(/\/+$/, '');
  }
}

function joinUrl(base: string, path: string): string {
  const b = base.replace(/\/+$/, '');
  if (!path || path === '/') return `${b}/`;
  return `${b}${path.startsWith('/') ? '' : '/'}${path}`;
}

/** Does rule `r` take requests for `path` (a literal path)? */
function ruleTakes(r: RuleModel, path: string): boolean {
  if (r.match !== undefined) {
    try {
      return new RegExp(r.match).test(path);
    } catch {
      return false;
    }
  }
  return matchesPrefix(path, r.path!);
}

export interface LintOptions {
  /** The raw object the model was resolved from. */
  raw?: unknown;
  sourceMap?: SourceMap;
  /** File to name when the source map has no entry. */
  file?: string;
  /** The config's syntax: advice is written in its terms (Apache directives, or YAML settings). */
  format?: 'apache' | 'yaml' | 'json';
}

/** How advice names things, in the terms of the config's own syntax. */
export interface Words {
  yaml: boolean;
  /** A routing rule: `ProxyPass /x balancer://c/` or `proxyPass { path: /x, to: "balancer://c/" }`. */
  rule(kind: 'path' | 'match', where: string, to: string): string;
  /** A redirect rewriting entry. */
  reverse(path: string, to: string): string;
  /** What to add for one: `"ProxyPassReverse / balancer://c/"` or `{ path: /, to: "balancer://c/" } to proxyPassReverse`. */
  addReverse(path: string, to: string): string;
  /** The rewriting entries, as a group: `ProxyPassReverse lines` or `proxyPassReverse entries`. */
  reverses: string;
  exclusion(path: string): string;
  /** Advice for a handler open to everyone. */
  restrictHandler: string;
  route: string;
  nofailoverOn: string;
  documentRoot: string;
}

const APACHE_WORDS: Words = {
  yaml: false,
  rule: (kind, where, to) => `${kind === 'match' ? 'ProxyPassMatch' : 'ProxyPass'} ${where} ${to}`,
  reverse: (path, to) => `ProxyPassReverse ${path} ${to}`.trim(),
  addReverse: (path, to) => `"ProxyPassReverse ${path} ${to}"`,
  reverses: 'ProxyPassReverse lines',
  exclusion: (path) => `"ProxyPass ${path} !"`,
  restrictHandler: 'allow only trusted addresses (Require local, Require ip 10.0.0.0/8) or add a login (AuthType Basic with AuthUserFile)',
  route: 'route=NAME',
  nofailoverOn: 'nofailover On',
  documentRoot: 'DocumentRoot',
};

const YAML_WORDS: Words = {
  yaml: true,
  rule: (kind, where, to) => `proxyPass { ${kind}: ${where}, to: "${to}" }`,
  reverse: (path, to) => `proxyPassReverse { path: ${path}, to: "${to}" }`,
  addReverse: (path, to) => `{ path: ${path}, to: "${to}" } to proxyPassReverse`,
  reverses: 'proxyPassReverse entries',
  exclusion: (path) => `{ path: ${path}, to: "!" } to proxyPass`,
  restrictHandler: 'allow only trusted addresses (allow: [local, 10.0.0.0/8]) or add a login (htpasswd: FILE)',
  route: 'route: NAME',
  nofailoverOn: 'nofailover: true',
  documentRoot: 'static',
};

/** The words of a config syntax (Apache directives unless the format is YAML or JSON). */
export function wordsFor(format: LintOptions['format']): Words {
  return format === 'yaml' || format === 'json' ? YAML_WORDS : APACHE_WORDS;
}

/** Finds the things worth a warning in a config that loaded. */
export function lintConfig(model: ConfigModel, opts: LintOptions = {}): Diagnostic[] {
  const raw = (opts.raw ?? {}) as RawConfig;
  const out: Diagnostic[] = [];
  const locate = (path: string | undefined) => {
    let p = path;
    while (p && opts.sourceMap) {
      const hit = opts.sourceMap.get(p);
      if (hit) return hit;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) break;
      p = p.slice(0, cut);
    }
    return undefined;
  };
  const lineOf = (path: string | undefined) => locate(path)?.line;
  const at = (path: string | undefined) => {
    const l = lineOf(path);
    return l ? `line ${l}` : path ?? '?';
  };
  const warn = (severity: Diagnostic['severity'], path: string | undefined, code: string, message: string) => {
    const loc = locate(path);
    // The directive is left out: lint messages name what they are about themselves.
    out.push({ severity, file: loc?.file ?? opts.file, line: loc?.line, path, code, message });
  };
  const origins = siteOrigins(raw);
  const words = wordsFor(opts.format);
  const ruleText = (o: string | undefined, r: RuleModel) => {
    const rr = o ? rawAt(raw, o) : undefined;
    const to = rr?.to ?? (r.kind === 'exclude' ? '!' : `balancer://${r.balancer}${r.kind === 'proxy' ? r.targetPath : ''}`);
    return words.rule(r.match !== undefined ? 'match' : 'path', r.match ?? r.path!, to);
  };

  model.sites.forEach((site, s) => {
    const o = origins[s] ?? { rules: [], reverse: [], handlers: [] };
    lintRuleOrder(site, o, ruleText, at, warn);
    lintReverse(model, site, o, raw, ruleText, at, warn, words);
    lintHandlers(site, o, ruleText, at, warn, locate, words);
  });
  lintBalancers(model, raw, at, warn, words);
  lintWebSocketUrls(raw, warn);
  lintAcme(model, warn);
  for (const d of lintTrust(model, (s, i) => origins[s]?.handlers[i])) warn(d.severity, d.path, d.code!, d.message);
  // A rule of the main server shows up in every virtual host; say it once.
  const seen = new Set<string>();
  return out.filter((d) => {
    const key = `${d.code}|${d.file}|${d.line}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type Warn = (severity: Diagnostic['severity'], path: string | undefined, code: string, message: string) => void;
type At = (path: string | undefined) => string;
type RuleText = (o: string | undefined, r: RuleModel) => string;

function lintRuleOrder(site: SiteModel, o: SiteOrigins, ruleText: RuleText, at: At, warn: Warn): void {
  site.rules.forEach((r, j) => {
    if (r.path === undefined) return;
    const earlier = site.rules.slice(0, j).findIndex((e) => ruleTakes(e, r.path!));
    if (earlier < 0) return;
    const e = site.rules[earlier];
    const what = ruleText(o.rules[j], r);
    const first = `${ruleText(o.rules[earlier], e)} (${at(o.rules[earlier])})`;
    if (r.kind === 'exclude' && e.kind === 'proxy') {
      warn('warning', o.rules[j], 'exclusion-after-rule', `${what} comes after ${first}, which already takes ${r.path}: the exclusion never applies; move it above ${at(o.rules[earlier])}`);
    } else {
      warn('warning', o.rules[j], 'rule-shadowed', `${what} is never used: ${first} comes first and already takes ${r.path}; rules are tried in order, so put the longer path first`);
    }
  });
}

function lintReverse(model: ConfigModel, site: SiteModel, o: SiteOrigins, raw: RawConfig, ruleText: RuleText, at: At, warn: Warn, words: Words): void {
  const used = new Set<number>();
  site.rules.forEach((r, j) => {
    if (r.kind !== 'proxy' || r.path === undefined) return;
    const b = model.balancers[r.balancer];
    if (!b) return;
    const rr = rawAt(raw, o.rules[j] ?? '');
    const target: string = b.implicit ? joinUrl(b.members[0]?.url ?? rr?.to ?? '', r.targetPath) : (rr?.to ?? `balancer://${b.name}${r.targetPath}`);
    const samePath = site.reverse.map((rev, k) => ({ rev, k })).filter(({ rev }) => rev.path.replace(/\/+$/, '') === r.path!.replace(/\/+$/, ''));
    const covered = (m: MemberModel) => {
      const want = normUrl(joinUrl(m.url, r.targetPath));
      const hit = samePath.find(({ rev }) => rev.prefixes.some((p) => normUrl(p) === want));
      if (hit) used.add(hit.k);
      return !!hit;
    };
    const missing = b.members.filter((m) => !covered(m));
    const balancerTo = b.implicit ? target : `balancer://${b.name}${r.targetPath || '/'}`;
    const balancerForm = words.addReverse(r.path, balancerTo);
    if (b.members.length && missing.length === b.members.length) {
      warn(
        'warning',
        o.rules[j],
        'reverse-missing',
        `${ruleText(o.rules[j], r)} has no ${words.yaml ? 'proxyPassReverse entry' : 'ProxyPassReverse'}: a redirect from a member (Location: ${joinUrl(b.members[0].url, r.targetPath)}…) reaches the browser unchanged; add ${balancerForm}${b.implicit ? '' : ` (one ${words.yaml ? 'entry' : 'line'} covers every member)`}`,
      );
    } else if (missing.length) {
      const lines = samePath.filter(({ rev }) => rev.prefixes.length).map(({ k }) => at(o.reverse[k]));
      warn(
        'warning',
        o.rules[j],
        'reverse-partial',
        `the ${words.reverses} for ${r.path} (${lines.join(', ')}) miss ${missing.map((m) => joinUrl(m.url, r.targetPath)).join(', ')}: add ${missing.map((m) => words.addReverse(r.path!, joinUrl(m.url, r.targetPath))).join(' and ')}, or use the single ${words.yaml ? 'entry' : 'line'} ${balancerForm}`,
      );
    } else if (!b.implicit && b.members.length > 1) {
      const perMember = samePath.filter(({ k }) => !/^balancer:/i.test(rawAt(raw, o.reverse[k] ?? '')?.to ?? 'balancer:'));
      if (perMember.length && perMember.length === samePath.length) {
        warn(
          'info',
          o.reverse[perMember[0].k],
          'reverse-per-member',
          `${words.reverses} ${perMember.map(({ k }) => at(o.reverse[k]).replace(/^line /, '')).join(', ')} cover every member of ${b.name}, which is correct; ${balancerForm.replace(/ to proxyPassReverse$/, '')} says the same in one ${words.yaml ? 'entry' : 'line'} and keeps up when members change`,
        );
      }
    }
  });
  site.reverse.forEach((rev, k) => {
    const rr = rawAt(raw, o.reverse[k] ?? '');
    const bm = /^balancer:\/\/([^/]+)/i.exec(rr?.to ?? '');
    if (bm && !Object.keys(model.balancers).some((n) => n.toLowerCase() === bm[1].toLowerCase())) {
      warn('warning', o.reverse[k], 'reverse-unknown-balancer', `${words.reverse(rev.path, rr.to)}: no balancer named "${bm[1]}", so nothing is rewritten`);
      return;
    }
    if (!used.has(k) && !site.rules.some((r) => r.kind === 'proxy' && r.path !== undefined && r.path.replace(/\/+$/, '') === rev.path.replace(/\/+$/, ''))) {
      warn('warning', o.reverse[k], 'reverse-unused', `${words.reverse(rev.path, rr?.to ?? '')}: no ${words.yaml ? 'proxyPass rule' : 'ProxyPass'} sends ${rev.path} anywhere, so redirects rewritten to ${rev.path} lead nowhere`.replace(/  +/g, ' '));
    }
  });
}

function lintHandlers(
  site: SiteModel,
  o: SiteOrigins,
  ruleText: RuleText,
  at: At,
  warn: Warn,
  locate: (path: string | undefined) => { directive?: string } | undefined,
  words: Words,
): void {
  site.handlers.forEach((h, i) => {
    const origin = o.handlers[i];
    const open = h.allow.includes('all') && !h.deny.length && !h.htpasswd;
    if (open) {
      const k = h.allow.indexOf('all');
      const path = origin ? `${origin}.allow[${k}]` : undefined;
      const directive = locate(path)?.directive;
      const because = directive === 'Allow' ? ' (Allow from all)' : directive === 'Require' ? ' (Require all granted)' : directive === 'Order' ? ' (Order Deny,Allow without Deny)' : '';
      const what =
        h.handler === 'balancer-manager'
          ? 'anyone who can reach this server can disable members and change the balancers'
          : h.handler === 'server-status'
            ? 'anyone can see the members, their routes and their traffic'
            : 'anyone can read the metrics';
      warn(
        'warning',
        path,
        'handler-open',
        `security: ${h.handler} at ${h.path} is open to everyone${because}: ${what}; ${words.restrictHandler}`,
      );
    }
    // Only an Apache file can also be run by Apache.
    const first = words.yaml ? -1 : site.rules.findIndex((r) => ruleTakes(r, h.path));
    if (first >= 0 && site.rules[first].kind === 'proxy') {
      warn(
        'info',
        origin,
        'handler-behind-proxy',
        `${h.handler} at ${h.path}: stickylb answers it before the ProxyPass rules, but Apache would send ${h.path} to ${ruleText(o.rules[first], site.rules[first])} (${at(o.rules[first])}); add "ProxyPass ${h.path} !" above it to keep the config working the same under Apache`,
      );
    }
  });
  site.rules.forEach((r, j) => {
    if (r.kind !== 'exclude' || r.path === undefined) return;
    if (site.static) return;
    if (site.handlers.some((h) => matchesPrefix(r.path!, h.path) || matchesPrefix(h.path, r.path!))) return;
    warn('warning', o.rules[j], 'exclusion-unserved', `${ruleText(o.rules[j], r)}: ${r.path} is not proxied, and no handler or ${words.documentRoot} serves it, so requests for it get 404`);
  });
}

function lintBalancers(model: ConfigModel, raw: RawConfig, at: At, warn: Warn, words: Words): void {
  const memberOrigin = (name: string, i: number) => {
    const n = raw.balancers?.[name]?.members?.length ?? 0;
    return i < n ? `balancers.${name}.members[${i}]` : raw.nodes ? 'nodes' : `balancers.${name}`;
  };
  const all: { m: MemberModel; origin: string; balancer: string }[] = [];
  for (const b of Object.values(model.balancers)) {
    if (b.implicit) continue;
    const origin = (i: number) => memberOrigin(b.name, i);
    if (!b.members.length && !b.dns?.length) {
      warn('warning', `balancers.${b.name}`, 'balancer-empty', `balancer ${b.name} has no members: every request sent to it gets 503`);
    }
    b.members.forEach((m, i) => {
      all.push({ m, origin: origin(i), balancer: b.name });
      const dup = b.members.findIndex((x) => x.route && x.route === m.route);
      if (m.route && dup < i) {
        warn('warning', `${origin(i)}.route`, 'duplicate-route', `balancer ${b.name}: route "${m.route}" of ${m.url} is also the route of ${b.members[dup].url} (${at(origin(dup))}); sessions with this route always go to the first one`);
      }
      if (b.sticky && !m.route) {
        const names = b.sticky.cookie === b.sticky.url ? b.sticky.cookie : [b.sticky.cookie, b.sticky.url].filter(Boolean).join('|');
        warn('warning', origin(i), 'member-without-route', `balancer ${b.name} is sticky (stickysession${words.yaml ? ': ' : '='}${names}) but member ${m.url} has no route, so no session can stick to it; add ${words.route}, the suffix the application puts on its session ids`);
      }
      if (m.route && b.separator && m.route.includes(b.separator)) {
        warn('warning', `${origin(i)}.route`, 'route-has-separator', `balancer ${b.name}: route "${m.route}" contains the session separator "${b.separator}"; the route is read after the first "${b.separator}" of the session id, so it is found only when the rest of the id has no "${b.separator}"`);
      }
    });
    if (b.nofailover && b.members.length === 1) {
      const path = findParamOrigin(raw, b.name, 'nofailover');
      warn('warning', path, 'nofailover-single-member', `balancer ${b.name} has ${words.nofailoverOn} and a single member: there is nothing to fail over to, so it changes nothing (are members missing?)`);
    }
  }
  // Apache finds an existing worker by string prefix, so a member URL that starts with an
  // earlier one becomes that worker and loses its own route. Only an Apache file runs there.
  const key = (u: string) => u.toLowerCase().replace(/\/+$/, '');
  if (!words.yaml) all.forEach((x, j) => {
    const prior = all.slice(0, j).find((y) => key(y.m.url) !== key(x.m.url) && key(x.m.url).startsWith(key(y.m.url)));
    if (!prior) return;
    warn(
      'warning',
      x.origin,
      'member-url-prefix',
      `member URL ${x.m.url} starts with member URL ${prior.m.url} (${at(prior.origin)}): Apache would take them for one worker and silently drop ${x.m.route ? `route=${x.m.route}` : 'the settings'} of the second; stickylb keeps them apart (it compares whole host:port), but the config does not work the same under Apache`,
    );
  });
}

/** `ws://` and `wss://` member URLs are read as `http://` and `https://`: say so where they are. */
function lintWebSocketUrls(raw: RawConfig, warn: Warn): void {
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const p = path ? `${path}.${k}` : k;
        if ((k === 'url' || k === 'to') && typeof x === 'string' && /^wss?:\/\//i.test(x)) {
          const http = x.replace(/^ws(s?):/i, 'http$1:');
          warn('info', p, 'websocket-url', `${x} is taken as ${http}: stickylb reaches members over HTTP(S) and passes WebSocket upgrades to every member, so ${http} says the same (Apache's mod_proxy_wstunnel would send only the upgrades there)`);
        } else walk(x, p);
      }
    }
  };
  walk(raw, '');
}

/** Where a balancer parameter was set: on the balancer, or on a ProxyPass line naming it. */
function findParamOrigin(raw: RawConfig, name: string, param: string): string {
  const rules: [string, any][] = [];
  (raw.proxyPass ?? []).forEach((r, i) => rules.push([`proxyPass[${i}]`, r]));
  (raw.virtualHosts ?? []).forEach((vh, k) => (vh.proxyPass ?? []).forEach((r, i) => rules.push([`virtualHosts[${k}].proxyPass[${i}]`, r])));
  for (const [path, r] of rules) {
    const m = /^balancer:\/\/([^/]+)/i.exec(r.to ?? '');
    if (m && m[1].toLowerCase() === name.toLowerCase() && r.params && param in r.params) return `${path}.params.${param}`;
  }
  return `balancers.${name}.${param}`;
}
