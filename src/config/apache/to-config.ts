// Parsed Apache directives to the raw config object of schema.ts (with a source map), plus
// diagnostics: unknown directives and parameters are warnings, values that cannot be read are
// errors, directives that mean nothing to a balancer are listed as ignored.
import type { Diagnostic, SourceMap } from '../diagnostics.js';
import { memberKey } from '../member-url.js';
import { evaluateAccess, isAccessDirective, type AccessResult, type Loc, type Located } from './access.js';
import { directiveSpec, sectionSpec, type Conversion, type ReadScope, type SiteSettings } from './directives.js';
import { EdgeConverter } from './edge-sections.js';
import { isMdDirective, MdCollector } from './md.js';
import { FleetCollector, isFleetDirective } from './fleet.js';
import { parseParams, type Param, type ParamTarget } from './params.js';
import type { Directive } from './syntax.js';
import { RawBuilder, type Path } from './raw-builder.js';
import { emitListeners, emitSiteSsl, newSslAcc, type SslTools } from './ssl.js';
import { duration, onOff } from './values.js';

interface HandlerAcc {
  path: string;
  handler: Located<string>;
  access: AccessResult;
  at: Loc;
}

interface RuleAcc {
  /** Fields set as one (path or match, to). */
  rule: Record<string, string>;
  params?: Param[];
  member?: Param[];
  at: Loc;
}

/** A server being converted: what readers set (SiteSettings) and what the converter collects. */
interface SiteAcc extends SiteSettings {
  base: Path;
  at?: Loc;
  listen: Located<string>[];
  proxyPass: RuleAcc[];
  /** ProxyPass inside <Location>, tried before the others (last matching <Location> first). */
  locationProxyPass: RuleAcc[];
  proxyPassReverse: Located<{ path: string; to: string; relative?: boolean }>[];
  handlers: HandlerAcc[];
}

interface MemberAcc {
  url: string;
  params: Param[];
  at: Loc;
  /** Where each parameter was set (ProxySet can set them later). */
  paramAt: Map<string, Loc>;
}

interface BalancerAcc {
  name: string;
  at: Loc;
  site: SiteAcc;
  params: Map<string, Located<unknown>>;
  members: MemberAcc[];
}

interface Scope extends ReadScope {
  site: SiteAcc;
}

export interface ToConfigResult {
  raw: Record<string, unknown>;
  sourceMap: SourceMap;
  diagnostics: Diagnostic[];
}

const PROXY_FLAGS: Record<string, string> = {
  nocanon: 'the path is passed on as received',
  noquery: 'the query string is always passed on',
  interpolate: 'environment variables are not interpolated',
};
const MEMBER_URL = /^(https?|wss?):\/\/[^/\s]+(\/\S*)?$/i;
const BALANCER_URL = /^balancer:\/\/([^/\s]+)(\/\S*)?$/i;

const locOf = (d: Directive): Loc => ({ file: d.file, line: d.line, directive: d.name });

function newSite(base: Path, at?: Loc): SiteAcc {
  return {
    base,
    at,
    listen: [],
    serverAliases: [],
    proxyPass: [],
    locationProxyPass: [],
    proxyPassReverse: [],
    cookiePath: [],
    cookieDomain: [],
    handlers: [],
    accessLog: [],
    ssl: newSslAcc(),
  };
}

class Converter implements Conversion {
  readonly diagnostics: Diagnostic[] = [];
  private readonly main = newSite([]);
  private readonly vhosts: SiteAcc[] = [];
  private readonly balancers = new Map<string, BalancerAcc>();
  readonly listen: Located<string | number>[] = [];
  private readonly global = new Map<string, Located<unknown>>();
  readonly logFormats = new Map<string, Located<string>>();
  readonly healthExpressions = new Map<string, Located<string>>();
  readonly healthTemplates = new Map<string, Located<Param[]>>();
  private readonly memberSets: { url: string; params: Param[]; at: Loc }[] = [];
  private errorLog: { path?: Located<string>; level?: Located<string>; fromVhost?: boolean } = {};
  /** Cookies of the ROUTEID recipe (Header add Set-Cookie "NAME=.%{BALANCER_WORKER_ROUTE}e"). */
  readonly routeCookies: Located<string>[] = [];
  defaultLogFormat?: string;
  /** Listen lines that say `https`. */
  readonly httpsListen = new Set<Located<string | number>>();
  private readonly sslTools: SslTools = {
    diag: (d, severity, message, code) => this.diag(d, severity, message, code),
    invalid: (d, what) => this.invalid(d, what),
    wantArgs: (d, min, max) => this.wantArgs(d, min, max),
    flag: (d) => this.flag(d),
  };
  /** Trusted proxies, request limits and the access rules of sections. */
  private readonly edge = new EdgeConverter();
  /** mod_md's directives (automatic certificates). */
  private readonly md = new MdCollector(this.diagnostics);
  /** StickylbFleet, StickylbResolver and BalancerMember … discover=. */
  private readonly fleet = new FleetCollector(this.diagnostics);

  constructor(private readonly file: string) {}

  diag(d: Directive | Loc, severity: Diagnostic['severity'], message: string, code: string): void {
    const at = 'args' in d ? locOf(d) : d;
    this.diagnostics.push({ severity, file: at.file, line: at.line, directive: at.directive, message, code });
  }

  private usage(d: Directive): string {
    return directiveSpec(d.name)?.usage ?? `${d.name} …`;
  }

  invalid(d: Directive, what: string): void {
    this.diag(d, 'error', `${d.name}${d.args.length ? ` ${d.args.join(' ')}` : ''}: ${what} (expected ${this.usage(d)})`, 'invalid-value');
  }

  wantArgs(d: Directive, min: number, max: number): boolean {
    if (d.args.length < min || d.args.length > max) {
      const n = min === max ? `${min} argument${min === 1 ? '' : 's'}` : `${min} to ${max} arguments`;
      this.invalid(d, d.args.length < min ? `needs ${n}` : `takes ${n}`);
      return false;
    }
    return true;
  }

  flag(d: Directive): boolean | undefined {
    if (!this.wantArgs(d, 1, 1)) return undefined;
    const v = onOff(d.args[0]);
    if (v === undefined) this.invalid(d, `"${d.args[0]}" is not On or Off`);
    return v;
  }

  seconds(d: Directive): number | string | undefined {
    if (!this.wantArgs(d, 1, 1)) return undefined;
    const v = duration(d.args[0]);
    if (v === undefined) this.invalid(d, `"${d.args[0]}" is not a number of seconds`);
    return v;
  }

  setGlobal(key: string, value: unknown, d: Directive): void {
    if (value !== undefined) this.global.set(key, { value, at: locOf(d) });
  }

  private balancer(name: string, at: Loc, site: SiteAcc): BalancerAcc {
    const key = name.toLowerCase();
    let b = this.balancers.get(key);
    if (!b) {
      b = { name, at, site, params: new Map(), members: [] };
      this.balancers.set(key, b);
    } else if (b.site !== site && b.site !== this.main && site !== this.main) {
      this.diag(at, 'warning', `balancer://${name} is also defined in another virtual host; stickylb has one set of balancers, so both definitions make one balancer`, 'balancer-shared');
    }
    return b;
  }

  walk(nodes: Directive[], scope: Scope): void {
    for (const d of nodes) {
      if (d.children) this.section(d, scope);
      else this.directive(d, scope);
    }
  }

  private section(d: Directive, scope: Scope): void {
    const spec = sectionSpec(d.name);
    switch (spec?.name) {
      case 'VirtualHost':
        return this.virtualHost(d);
      case 'Location':
        return this.location(d, scope);
      case 'Proxy':
      case 'ProxyMatch':
        return this.proxySection(d, scope);
      case 'Directory':
      case 'DirectoryMatch':
      case 'Files':
      case 'FilesMatch': {
        const errors = evaluateAccess(d.children!).diagnostics.filter((x) => x.severity === 'error');
        this.diagnostics.push(...errors);
        this.diag(d, 'info', `<${d.name} ${d.args.join(' ')}>: per-directory settings are ignored (stickylb serves files under DocumentRoot to every client)`, 'ignored-section');
        return;
      }
      case 'MDomainSet':
        return this.md.section(d);
      case 'LocationMatch':
        if (this.edge.section(d, scope.site, { match: d.args.join(' ') }, this.diagnostics)) this.diag(d, 'info', `<LocationMatch ${d.args.join(' ')}>: only its access rules and LimitRequestBody are read (use <Location /path> for the rest)`, 'unsupported-section');
        else this.diag(d, 'warning', `<LocationMatch ${d.args.join(' ')}>: regular-expression locations are read for access rules only (contents ignored; use <Location /path>)`, 'unsupported-section');
        return;
      case 'IfModule':
      case 'RequireAll':
      case 'RequireAny':
      case 'RequireNone':
        return this.walk(d.children!, scope);
      case 'IfDefine':
      case 'IfVersion':
      case 'IfFile':
      case 'IfDirective':
      case 'IfSection':
        this.diag(d, 'info', `<${d.name} ${d.args.join(' ')}>: the condition is not evaluated; its contents are read as if it held`, 'condition-ignored');
        return this.walk(d.children!, scope);
      case 'Limit':
      case 'LimitExcept':
      case 'If':
      case 'ElseIf':
      case 'Else':
        this.diag(d, 'warning', `<${d.name}${d.args.length ? ` ${d.args.join(' ')}` : ''}>: per-request conditions are not supported (contents ignored)`, 'unsupported-section');
        return;
      default:
        this.diag(d, 'warning', `unknown section <${d.name}> (contents ignored)`, 'unknown-section');
    }
  }

  private directive(d: Directive, scope: Scope): void {
    if (this.edge.directive(d, scope.site, scope.location !== undefined || scope.proxy !== undefined, this.diagnostics)) return;
    if (isMdDirective(d.name)) return this.md.read(d, scope.site !== this.main);
    if (isFleetDirective(d.name)) return this.fleet.read(d, scope.site !== this.main);
    if (d.name.toLowerCase() === 'serveradmin') {
      const site = scope.site;
      this.md.serverAdminOf(d, site === this.main ? undefined : () => [site.serverName?.value ?? '', ...site.serverAliases.map((a) => a.value)].filter(Boolean));
    }
    const spec = directiveSpec(d.name);
    if (spec?.read) {
      spec.read(this, d, scope);
      return;
    }
    if (isAccessDirective(d.name)) {
      // Read with the section around it; here it is outside one (the parser said so already).
      return;
    }
    if (spec?.kind === 'ignored') this.diag(d, 'info', `${spec.name} is ignored (${spec.note})`, 'ignored-directive');
    else if (spec?.kind === 'unsupported') this.diag(d, 'warning', `${spec.name} is not supported: ${spec.note} (ignored)`, 'unsupported-directive');
    // A TLS setting of the server that stickylb does not know could make HTTPS weaker than asked.
    else if (/^SSL/i.test(d.name) && !/^SSLProxy/i.test(d.name)) this.diag(d, 'error', `${d.name} is not supported: stickylb cannot honour this TLS setting; remove it (see docs/tls.md for the SSL directives stickylb reads)`, 'tls-unsupported');
    else this.diag(d, 'warning', `unknown directive ${d.name} (ignored)`, 'unknown-directive');
  }

  private virtualHost(d: Directive): void {
    const site = newSite(['virtualHosts', this.vhosts.length], locOf(d));
    this.vhosts.push(site);
    if (!d.args.length) this.invalid(d, 'needs an address');
    let everywhere = false;
    for (const a of d.args) {
      const m = /^(.*?)(?::(\d+|\*))?$/.exec(a)!;
      const host = m[1];
      const port = m[2];
      if (!port || port === '*') {
        if (host === '*' || host === '_default_') everywhere = true;
        else {
          everywhere = true;
          this.diag(d, 'warning', `<VirtualHost ${a}>: no port; stickylb answers for this host on every listener`, 'vhost-no-port');
        }
        continue;
      }
      site.listen.push({ value: `${host === '_default_' ? '*' : host}:${port}`, at: locOf(d) });
    }
    if (everywhere) site.listen = [];
    this.walk(d.children!, { site });
  }

  private location(d: Directive, scope: Scope): void {
    if (d.args.length !== 1) {
      if (d.args[0] === '~') {
        if (this.edge.section(d, scope.site, { match: d.args.slice(1).join(' ') }, this.diagnostics)) this.diag(d, 'info', `<Location ~ ${d.args.slice(1).join(' ')}>: only its access rules and LimitRequestBody are read`, 'unsupported-section');
        else this.diag(d, 'warning', `<Location ~ ${d.args.slice(1).join(' ')}>: regular-expression locations are read for access rules only (contents ignored)`, 'unsupported-section');
      }
      else this.diag(d, 'error', `<Location ${d.args.join(' ')}>: expected one path (<Location /path>)`, 'invalid-value');
      return;
    }
    const path = d.args[0];
    const inner: Scope = { site: scope.site, location: { path, at: locOf(d) } };
    this.walk(d.children!, inner);
    // The rules are enforced as Apache evaluates them (edge-sections.ts); the allow/deny lists of
    // evaluateAccess only describe a handler's rules to `check`.
    const access = evaluateAccess(d.children!);
    const h = inner.location!.handler;
    const name = h?.value.toLowerCase();
    if (name === 'balancer-manager' || name === 'server-status' || name === 'metrics') {
      scope.site.handlers.push({ path, handler: { value: name, at: h!.at }, access, at: locOf(d) });
      this.edge.handler(d, this.diagnostics);
      if (!access.present) {
        this.diag(d, 'warning', `<Location ${path}>: no access rules, so Apache lets everyone use the ${name}; stickylb lets in only this machine (add "Require ip …" or "Require all granted" to say who may)`, 'handler-default-access');
      }
    } else {
      this.edge.section(d, scope.site, { path }, this.diagnostics);
    }
  }

  private proxySection(d: Directive, scope: Scope): void {
    const url = d.args[0] ?? '';
    const m = BALANCER_URL.exec(url);
    let inner: Scope;
    if (d.name === 'Proxy' && m) {
      this.balancer(m[1], locOf(d), scope.site);
      inner = { site: scope.site, proxy: { url, balancer: m[1] } };
    } else if (d.name === 'Proxy' && MEMBER_URL.test(url)) {
      inner = { site: scope.site, proxy: { url } };
    } else {
      // <Proxy *> and <ProxyMatch> cover proxied requests too: their access rules are enforced.
      const where = d.name === 'ProxyMatch' ? { proxyMatch: d.args.join(' ') } : url === '*' ? { proxy: '*' } : undefined;
      if (where && this.edge.section(d, scope.site, where, this.diagnostics)) return;
      this.diag(d, 'info', `<${d.name} ${d.args.join(' ')}>: forward-proxy settings are ignored (stickylb is no forward proxy)`, 'ignored-section');
      return;
    }
    this.walk(d.children!, inner);
    this.edge.section(d, scope.site, { proxy: url.replace(/\/+$/, '') }, this.diagnostics);
  }

  setErrorLog(key: 'path' | 'level', value: string, d: Directive, s: ReadScope): void {
    const inVhost = s.site !== this.main;
    const prev = this.errorLog[key];
    if (prev && inVhost && !this.errorLog.fromVhost && prev.value !== value) {
      this.diag(d, 'warning', `${d.name} in <VirtualHost>: stickylb has one error log for all hosts; keeping ${prev.value} from line ${prev.at.line}`, 'scope-widened');
      return;
    }
    this.errorLog[key] = { value, at: locOf(d) };
    if (inVhost) this.errorLog.fromVhost = true;
  }

  params(d: Directive, words: string[], target: ParamTarget): Param[] {
    const p = parseParams(words, target, locOf(d));
    this.diagnostics.push(...p.diagnostics);
    for (const f of p.flags) this.diag(d, 'warning', `${d.name}: unknown word "${f}" (ignored; parameters are written key=value)`, 'unknown-parameter');
    return p.params;
  }

  proxyPass(d: Directive, s: Scope, isMatch: boolean): void {
    let args = d.args;
    let where: string;
    if (s.location && !isMatch) {
      if (args.length && (args[0] === '!' || args[0].includes('://'))) where = s.location.path;
      else return this.invalid(d, `inside <Location ${s.location.path}> the path is the location's; write ProxyPass balancer://NAME/ or ProxyPass !`);
    } else {
      if (!args.length) return this.invalid(d, 'no path and no target');
      where = args[0];
      args = args.slice(1);
    }
    const field = isMatch ? 'match' : 'path';
    const target = args[0];
    if (!target) return this.invalid(d, `no target for ${where}`);
    const words = args.slice(1);
    const list = s.location ? s.site.locationProxyPass : s.site.proxyPass;
    if (target === '!') {
      const extra = words.filter((w) => !PROXY_FLAGS[w.toLowerCase()]);
      if (extra.length) this.diag(d, 'warning', `${d.name} ${where} !: the words after "!" are ignored (${extra.join(' ')})`, 'unknown-parameter');
      list.push({ rule: { [field]: where, to: '!' }, at: locOf(d) });
      return;
    }
    const flags = words.filter((w) => !w.includes('='));
    for (const f of flags) {
      const note = PROXY_FLAGS[f.toLowerCase()];
      if (note) this.diag(d, 'info', `${d.name}: ${f} is ignored (${note})`, 'ignored-parameter');
      else this.diag(d, 'warning', `${d.name}: unknown word "${f}" (ignored; parameters are written key=value)`, 'unknown-parameter');
    }
    const kv = words.filter((w) => w.includes('='));
    if (BALANCER_URL.test(target)) {
      const params = this.params(d, kv, 'balancer');
      list.push({ rule: { [field]: where, to: target }, params, at: locOf(d) });
    } else if (MEMBER_URL.test(target)) {
      const member = this.params(d, kv, 'member');
      list.push({ rule: { [field]: where, to: target }, member, at: locOf(d) });
    } else {
      this.badUrl(d, target, 'balancer://NAME/ or http://host:port/');
    }
  }

  private badUrl(d: Directive, url: string, expected: string): void {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    if (scheme && !/^(https?|wss?|balancer)$/i.test(scheme)) {
      this.invalid(d, `${scheme}: URLs are not supported (stickylb speaks HTTP: use ${expected})`);
    } else {
      this.invalid(d, `"${url}" is not a URL like ${expected}`);
    }
  }

  proxyPassReverse(d: Directive, s: Scope): void {
    let path: string;
    let url: string | undefined;
    if (s.location) {
      if (d.args.length < 1 || d.args[0].startsWith('/')) return this.invalid(d, `inside <Location ${s.location.path}> give only the URL (ProxyPassReverse http://host:port/)`);
      path = s.location.path;
      url = d.args[0];
    } else {
      if (d.args.length < 2) {
        this.diag(
          d,
          'error',
          `ProxyPassReverse${d.args.length ? ` ${d.args[0]}` : ''}: no URL (expected ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/; the one-argument form works only inside <Location>)`,
          'reverse-without-url',
        );
        return;
      }
      [path, url] = d.args;
    }
    let relative: boolean | undefined;
    for (const extra of d.args.slice(s.location ? 1 : 2)) {
      const rel = /^relative=(.*)$/i.exec(extra);
      if (extra.toLowerCase() === 'interpolate') this.diag(d, 'info', 'ProxyPassReverse: interpolate is ignored (environment variables are not interpolated)', 'ignored-parameter');
      else if (rel) {
        // stickylb's own: also map relative redirects (Location: /landing) to the local path.
        relative = onOff(rel[1]);
        if (relative === undefined) return this.invalid(d, `relative=${rel[1]} is not On or Off`);
      } else this.diag(d, 'warning', `ProxyPassReverse: unknown word "${extra}" (ignored)`, 'unknown-parameter');
    }
    if (!BALANCER_URL.test(url) && !/^https?:\/\/[^/\s]+/i.test(url)) return this.badUrl(d, url, 'balancer://NAME/ or http://host:port/');
    s.site.proxyPassReverse.push({ value: relative === undefined ? { path, to: url } : { path, to: url, relative }, at: locOf(d) });
  }

  balancerMember(d: Directive, s: Scope): void {
    const usage = 'BalancerMember [balancer://name] http://host:port [key=value …]';
    let args = d.args;
    let name = s.proxy?.balancer;
    const first = BALANCER_URL.exec(args[0] ?? '');
    if (first) {
      if (name && name.toLowerCase() !== first[1].toLowerCase()) {
        this.diag(d, 'warning', `BalancerMember: names balancer://${first[1]} inside <Proxy balancer://${name}>; the member goes to ${first[1]}`, 'balancer-mismatch');
      }
      name = first[1];
      args = args.slice(1);
    } else if (!name) {
      if (s.proxy) this.diag(d, 'error', `BalancerMember: <Proxy ${s.proxy.url}> is no balancer (expected <Proxy balancer://name> around it)`, 'invalid-value');
      else this.diag(d, 'error', `BalancerMember: outside <Proxy balancer://name> the balancer comes first (expected BalancerMember balancer://name http://host:port [key=value …])`, 'member-without-balancer');
      return;
    }
    const b = this.balancer(name, locOf(d), s.site);
    const url = args[0];
    if (!url || (url.includes('=') && !url.includes('://'))) {
      this.diag(d, 'error', `BalancerMember: no member URL (expected ${usage})`, 'member-without-url');
      return;
    }
    if (!MEMBER_URL.test(url)) return this.badUrl(d, url, 'http://host:port');
    const params = this.params(d, args.slice(1), 'member');
    if (this.fleet.member(d, b.name, url, params)) return;
    const paramAt = new Map(params.map((p) => [p.key, locOf(d)]));
    b.members.push({ url, params, at: locOf(d), paramAt });
  }

  proxySet(d: Directive, s: Scope): void {
    let words = d.args;
    let url = s.proxy?.url;
    if (words[0] && !words[0].includes('=')) {
      url = words[0];
      words = words.slice(1);
    }
    if (!url) return this.invalid(d, 'no balancer or member URL: give one first, or put ProxySet inside <Proxy balancer://name>');
    if (!words.length) return this.invalid(d, 'no key=value parameters');
    const m = BALANCER_URL.exec(url);
    if (m) {
      const b = this.balancer(m[1], locOf(d), s.site);
      for (const p of this.params(d, words, 'balancer')) b.params.set(p.key, { value: p.value, at: locOf(d) });
    } else if (MEMBER_URL.test(url)) {
      this.memberSets.push({ url, params: this.params(d, words, 'member'), at: locOf(d) });
    } else {
      this.badUrl(d, url, 'balancer://NAME or http://host:port');
    }
  }

  /** Applies ProxySet lines for member URLs to the members with that URL. */
  private applyMemberSets(): void {
    const key = (u: string) => {
      try {
        return memberKey(u);
      } catch {
        return u;
      }
    };
    for (const set of this.memberSets) {
      const members = [...this.balancers.values()].flatMap((b) => b.members).filter((m) => key(m.url) === key(set.url));
      if (!members.length) {
        this.diag(set.at, 'warning', `ProxySet ${set.url}: no BalancerMember has this URL (ignored)`, 'unknown-member');
        continue;
      }
      for (const m of members) {
        for (const p of set.params) {
          m.params = [...m.params.filter((q) => q.key !== p.key), p];
          m.paramAt.set(p.key, set.at);
        }
      }
    }
  }

  /** Writes everything collected into the raw object, recording each path's origin. */
  emit(): ToConfigResult {
    this.applyMemberSets();
    this.applyRouteCookies();
    const out = new RawBuilder();
    // Settings the file leaves out behave as in Apache 2.4 (see docs/apache-migration.md).
    out.set(['defaults'], 'apache', { file: this.file, line: 1, directive: 'defaults' });
    const derived = this.listen.length === 0 ? this.derivedListen() : [];
    if (!this.listen.length && !derived.length) {
      this.diagnostics.push({ severity: 'info', file: this.file, message: 'no Listen directive: stickylb listens on port 8080, its default', code: 'listen-default' });
    }
    emitListeners(
      this.sslTools,
      out,
      [...this.listen, ...derived],
      this.httpsListen,
      this.main.ssl,
      // With virtual hosts, the main server's settings reach the addresses through them.
      this.vhosts.length ? this.vhosts.map((v) => ({ acc: v.ssl, addresses: v.listen, at: v.at })) : [{ acc: this.main.ssl, addresses: [], at: undefined }],
    );
    for (const key of ['proxyRequests', 'proxyStatus', 'timeout', 'proxyTimeout', 'keepAliveTimeout', 'workers']) {
      const v = this.global.get(key);
      if (v) out.set([key], v.value, v.at);
    }
    for (const b of this.balancers.values()) this.emitBalancer(out, b);
    this.emitSite(out, this.main);
    this.vhosts.forEach((site) => {
      out.set(site.base, {}, site.at!);
      this.emitSite(out, site);
    });
    const acmeTls = [this.main, ...this.vhosts].map((s) => s.ssl.protocols).find((p) => p?.value.includes('acme-tls/1'))?.at;
    this.md.emit(
      out,
      [this.main, ...this.vhosts].map((s) => ({ base: s.base, names: [s.serverName?.value ?? '', ...s.serverAliases.map((a) => a.value)].filter(Boolean) })),
      acmeTls,
    );
    this.logFormats.forEach((f, nick) => out.set(['logFormats', nick], f.value, f.at));
    if (this.errorLog.path) out.set(['errorLog', 'path'], this.errorLog.path.value, this.errorLog.path.at);
    if (this.errorLog.level) out.set(['errorLog', 'level'], this.errorLog.level.value, this.errorLog.level.at);
    this.healthExpressions.forEach((e, name) => out.set(['healthExpressions', name], e.value, e.at));
    this.healthTemplates.forEach((t, name) => {
      out.set(['healthTemplates', name], {}, t.at);
      for (const p of t.value) out.set(['healthTemplates', name, p.key], p.value, t.at);
    });
    this.edge.emit(out, this.main, this.vhosts);
    this.fleet.emit(out);
    const persist = this.global.get('persist');
    if (persist) out.set(['persist'], persist.value, persist.at);
    this.checkLogFormats();
    return { raw: out.raw, sourceMap: out.sourceMap, diagnostics: this.diagnostics };
  }

  private derivedListen(): Located<string | number>[] {
    const seen = new Set<string>();
    const out: Located<string | number>[] = [];
    for (const site of this.vhosts) {
      for (const l of site.listen) {
        const [, host, port] = /^(.*):(\d+)$/.exec(l.value)!;
        const value: string | number = host === '*' ? Number(port) : l.value;
        if (seen.has(String(value))) continue;
        seen.add(String(value));
        out.push({ value, at: l.at });
        this.diag(l.at, 'info', `no Listen directive: listening on ${typeof value === 'number' ? `port ${value}` : value}, taken from <VirtualHost ${l.value}> (Apache keeps Listen in ports.conf)`, 'listen-derived');
      }
    }
    return out;
  }

  private emitBalancer(out: RawBuilder, b: BalancerAcc): void {
    const base = ['balancers', b.name];
    out.set(base, {}, b.at);
    for (const [key, v] of b.params) out.set([...base, key], v.value, v.at);
    if (!b.params.has('growth')) {
      const g = b.site.growth ?? this.main.growth;
      if (g) out.set([...base, 'growth'], g.value, g.at);
    }
    out.set([...base, 'members'], [], b.at);
    b.members.forEach((m, i) => {
      const mp = [...base, 'members', i];
      out.set(mp, { url: m.url }, m.at);
      for (const p of m.params) out.set([...mp, ...p.key.split('.')], p.value, m.paramAt.get(p.key) ?? m.at);
    });
  }

  private emitSite(out: RawBuilder, site: SiteAcc): void {
    const b = site.base;
    for (const l of site.listen) out.push([...b, 'listen'], l.value, l.at);
    if (site.serverName) out.set([...b, 'serverName'], site.serverName.value, site.serverName.at);
    for (const a of site.serverAliases) out.push([...b, 'serverAliases'], a.value, a.at);
    if (site.preserveHost) out.set([...b, 'preserveHost'], site.preserveHost.value, site.preserveHost.at);
    const rules = [...[...site.locationProxyPass].reverse(), ...site.proxyPass];
    for (const r of rules) {
      const i = out.push([...b, 'proxyPass'], { ...r.rule }, r.at);
      for (const [field, list] of [['params', r.params], ['member', r.member]] as const) {
        if (!list?.length) continue;
        for (const p of list) out.set([...b, 'proxyPass', i, field, ...p.key.split('.')], p.value, r.at);
      }
    }
    for (const r of site.proxyPassReverse) out.push([...b, 'proxyPassReverse'], r.value, r.at);
    for (const c of site.cookiePath) out.push([...b, 'cookiePath'], c.value, c.at);
    for (const c of site.cookieDomain) out.push([...b, 'cookieDomain'], c.value, c.at);
    for (const h of site.handlers) {
      const i = out.push([...b, 'handlers'], { path: h.path }, h.at);
      const hp = [...b, 'handlers', i];
      out.set([...hp, 'handler'], h.handler.value, h.handler.at);
      const a = h.access;
      if (a.allow) {
        out.set([...hp, 'allow'], a.allow.map((e) => e.value), a.decidedBy ?? h.at);
        a.allow.forEach((e, j) => out.note([...hp, 'allow', j], e.at));
      }
      if (a.deny?.length) {
        out.set([...hp, 'deny'], a.deny.map((e) => e.value), a.deny[0].at);
        a.deny.forEach((e, j) => out.note([...hp, 'deny', j], e.at));
      }
      if (a.htpasswd) out.set([...hp, 'htpasswd'], a.htpasswd.value, a.htpasswd.at);
      if (a.realm) out.set([...hp, 'realm'], a.realm.value, a.realm.at);
      this.edge.emitHandler(out, hp, h.at);
    }
    if (site.static) out.set([...b, 'static'], { root: site.static.value }, site.static.at);
    emitSiteSsl(this.sslTools, out, b, site.ssl);
    for (const l of site.accessLog) {
      const v = l.value.format === undefined ? { path: l.value.path } : l.value;
      out.push([...b, 'accessLog'], v, l.at);
    }
  }

  /** Turns the ROUTEID recipe into routecookie on the balancers sticky on that cookie. */
  private applyRouteCookies(): void {
    const stickyOn = (b: BalancerAcc): string[] => {
      const values: unknown[] = [b.params.get('stickysession')?.value];
      for (const site of [this.main, ...this.vhosts]) {
        for (const r of [...site.proxyPass, ...site.locationProxyPass]) {
          const m = BALANCER_URL.exec(r.rule.to ?? '');
          if (m && m[1].toLowerCase() === b.name.toLowerCase()) values.push(r.params?.find((p) => p.key === 'stickysession')?.value);
        }
      }
      return values.filter((v): v is string => typeof v === 'string').map((v) => v.split('|')[0]);
    };
    for (const rc of this.routeCookies) {
      const matching = [...this.balancers.values()].filter((b) => stickyOn(b).includes(rc.value));
      if (!matching.length) {
        this.diag(rc.at, 'warning', `Header: the ${rc.value} route cookie recipe needs a balancer with stickysession=${rc.value} (ignored)`, 'unsupported-directive');
        continue;
      }
      for (const b of matching) if (!b.params.has('routecookie')) b.params.set('routecookie', { value: rc.value, at: rc.at });
      this.diag(rc.at, 'info', `Header: the ${rc.value} route cookie recipe becomes routecookie=${rc.value} on ${matching.map((b) => `balancer://${b.name}`).join(', ')} (stickylb sets the cookie itself)`, 'route-cookie');
    }
  }

  private checkLogFormats(): void {
    const standard = ['common', 'combined', 'vhost_combined', 'referer', 'agent'];
    for (const site of [this.main, ...this.vhosts]) {
      for (const l of site.accessLog) {
        const f = l.value.format;
        if (f && !f.includes('%') && !this.logFormats.has(f) && !standard.includes(f)) {
          this.diag(l.at, 'warning', `CustomLog: no LogFormat is named "${f}" (the text "${f}" would be logged as is; known: ${[...standard, ...this.logFormats.keys()].join(', ')})`, 'unknown-log-format');
        }
      }
    }
  }

  mainScope(): Scope {
    return { site: this.main };
  }
}

/** Converts parsed directives to the raw config object, its source map and diagnostics. */
export function toConfig(directives: Directive[], file: string): ToConfigResult {
  const c = new Converter(file);
  c.walk(directives, c.mainScope());
  return c.emit();
}
