// The Apache front end's part of the edge settings: mod_remoteip (RemoteIPHeader,
// RemoteIPTrustedProxy, RemoteIPInternalProxy and their list files, RemoteIPProxyProtocol),
// the request limits (LimitRequestBody, LimitRequestFields, LimitRequestFieldSize,
// LimitRequestLine, MaxKeepAliveRequests, RequestReadTimeout), and the access rules of
// <Location>, <LocationMatch>, <Proxy> and <ProxyMatch> sections (Require and its containers,
// Order/Allow/Deny/Satisfy, AuthType/AuthName/AuthUserFile/AuthGroupFile/AuthMerging), turned
// into the `access` entries of the raw config, every entry noted with its line.
import type { Diagnostic } from '../diagnostics.js';
import type { Loc } from './access.js';
import type { Directive } from './syntax.js';
import type { Path, RawBuilder } from './raw-builder.js';

const locOf = (d: Directive): Loc => ({ file: d.file, line: d.line, directive: d.name });

/** The sites of the converter, as far as this module needs them. */
export interface EdgeSite {
  base: Path;
  listen: { value: string }[];
}

interface Noted<T> {
  value: T;
  at: Loc;
}

interface SiteEdge {
  header?: Noted<string>;
  trusted: Noted<string>[];
  internal: Noted<string>[];
  trustedLists: Noted<string>[];
  internalLists: Noted<string>[];
  proxyProtocol?: Noted<boolean>;
  limitRequestBody?: Noted<number>;
  /** Access sections in config order: the raw entry and the line of each of its paths. */
  sections: { raw: Record<string, unknown>; notes: [Path, Loc][]; at: Loc }[];
}

const REQUIRE_CONTAINERS: Record<string, 'all' | 'any' | 'none'> = { requireall: 'all', requireany: 'any', requirenone: 'none' };
const RULE_DIRECTIVES = new Set([
  'require',
  'order',
  'allow',
  'deny',
  'satisfy',
  'authtype',
  'authname',
  'authuserfile',
  'authgroupfile',
  'authmerging',
  'authbasicprovider',
  'limitrequestbody',
]);

/** Directives of this module outside the sections (the sections read their own children). */
const DIRECTIVES = new Set([
  'RemoteIPHeader',
  'RemoteIPTrustedProxy',
  'RemoteIPInternalProxy',
  'RemoteIPTrustedProxyList',
  'RemoteIPInternalProxyList',
  'RemoteIPProxyProtocol',
  'RemoteIPProxyProtocolExceptions',
  'LimitRequestBody',
  'LimitRequestFields',
  'LimitRequestFieldSize',
  'LimitRequestLine',
  'MaxKeepAliveRequests',
  'RequestReadTimeout',
  'AuthGroupFile',
  'AuthMerging',
]);

function err(diags: Diagnostic[], d: Directive, message: string, code = 'invalid-value'): void {
  diags.push({ severity: 'error', file: d.file, line: d.line, directive: d.name, message, code });
}

function count(d: Directive, diags: Diagnostic[], usage: string): number | undefined {
  if (d.args.length !== 1 || !/^\d+$/.test(d.args[0])) {
    err(diags, d, `${d.name} ${d.args.join(' ')}: expected ${usage}`.replace(/ :/, ':'));
    return undefined;
  }
  return Number(d.args[0]);
}

/** A section's rules: Require lines and containers, 2.2 rules, Basic auth, LimitRequestBody. */
function sectionRules(children: Directive[], base: Path, diags: Diagnostic[]): { raw: Record<string, unknown>; notes: [Path, Loc][]; present: boolean } {
  const raw: Record<string, unknown> = {};
  const notes: [Path, Loc][] = [];
  let present = false;

  // Require lines at the top level form an implicit RequireAny; containers nest.
  const unwrap = (nodes: Directive[]): Directive[] => nodes.flatMap((n) => (n.children && n.name.toLowerCase() === 'ifmodule' ? unwrap(n.children) : [n]));
  const requireList = (nodes: Directive[], path: Path): unknown[] => {
    const out: unknown[] = [];
    for (const n of unwrap(nodes)) {
      const key = n.name.toLowerCase();
      if (n.children && REQUIRE_CONTAINERS[key]) {
        const i = out.length;
        const inner = requireList(n.children, [...path, i, REQUIRE_CONTAINERS[key]]);
        out.push({ [REQUIRE_CONTAINERS[key]]: inner });
        notes.push([[...path, i], locOf(n)]);
      } else if (key === 'require') {
        notes.push([[...path, out.length], locOf(n)]);
        out.push(n.args.join(' '));
      }
    }
    return out;
  };
  const hasRequire = (nodes: Directive[]): boolean => nodes.some((n) => n.name.toLowerCase() === 'require' || (n.children && (REQUIRE_CONTAINERS[n.name.toLowerCase()] || n.name.toLowerCase() === 'ifmodule') && hasRequire(n.children)));
  if (hasRequire(children)) {
    present = true;
    raw.require = requireList(children, [...base, 'require']);
    notes.push([[...base, 'require'], locOf(children.find((c) => c.name.toLowerCase() === 'require' || REQUIRE_CONTAINERS[c.name.toLowerCase()]) ?? children[0])]);
  }

  const flat = (nodes: Directive[]): Directive[] => nodes.flatMap((n) => (n.children ? (n.name.toLowerCase() === 'ifmodule' ? flat(n.children) : []) : [n]));
  const set = (key: string, value: unknown, d: Directive) => {
    raw[key] = value;
    notes.push([[...base, key], locOf(d)]);
    present = true;
  };
  for (const d of flat(children)) {
    const key = d.name.toLowerCase();
    if (!RULE_DIRECTIVES.has(key) || key === 'require') continue;
    const a = d.args;
    switch (key) {
      case 'order': {
        const v = a.join('').toLowerCase();
        if (v === 'deny,allow' || v === 'allow,deny' || v === 'mutual-failure') set('order', v, d);
        else err(diags, d, `Order ${a.join(' ')}: expected Order Deny,Allow, Order Allow,Deny or Order Mutual-failure`);
        break;
      }
      case 'allow':
      case 'deny': {
        const usage = `${d.name} from all|HOST|IP|IP/CIDR …`;
        if (a[0]?.toLowerCase() !== 'from') {
          err(diags, d, `${d.name} ${a.join(' ')}: "from" is missing (expected ${usage})`.replace(/ {2}/g, ' '));
          break;
        }
        if (a.length < 2) {
          err(diags, d, `${d.name} ${a.join(' ')}: nothing after "from" (expected ${usage})`, 'missing-host');
          break;
        }
        const field = key === 'allow' ? 'allowFrom' : 'denyFrom';
        const list = (raw[field] as string[] | undefined) ?? [];
        for (const w of a.slice(1)) {
          notes.push([[...base, field, list.length], locOf(d)]);
          list.push(w);
        }
        set(field, list, d);
        // The per-word notes above name the lines; the list's own note is the first line.
        break;
      }
      case 'satisfy': {
        const v = a[0]?.toLowerCase();
        if (a.length === 1 && (v === 'all' || v === 'any')) set('satisfy', v, d);
        else err(diags, d, `Satisfy ${a.join(' ')}: expected Satisfy All or Satisfy Any`);
        break;
      }
      case 'authtype': {
        const v = a[0]?.toLowerCase();
        if (a.length === 1 && (v === 'basic' || v === 'none')) set('authType', v, d);
        else err(diags, d, `AuthType ${a.join(' ')}: stickylb checks Basic authentication only (expected AuthType Basic or AuthType None)`, 'access-unenforceable');
        break;
      }
      case 'authname':
        if (a.length === 1) set('authName', a[0], d);
        else err(diags, d, 'AuthName: expected one realm name (AuthName "REALM", quoted when it has spaces)');
        break;
      case 'authuserfile':
        if (a.length === 1) set('authUserFile', a[0], d);
        else err(diags, d, 'AuthUserFile: expected one file (AuthUserFile FILE)');
        break;
      case 'authgroupfile':
        if (a.length === 1) set('authGroupFile', a[0], d);
        else err(diags, d, 'AuthGroupFile: expected one file (AuthGroupFile FILE)');
        break;
      case 'authmerging': {
        const v = a[0]?.toLowerCase();
        if (a.length === 1 && (v === 'off' || v === 'and' || v === 'or')) set('authMerging', v, d);
        else err(diags, d, `AuthMerging ${a.join(' ')}: expected AuthMerging Off, And or Or`);
        break;
      }
      case 'authbasicprovider':
        if (a.some((x) => x.toLowerCase() !== 'file')) err(diags, d, `AuthBasicProvider ${a.join(' ')}: only the file provider (AuthUserFile) can be checked by stickylb`, 'access-unenforceable');
        break;
      case 'limitrequestbody': {
        const n = count(d, diags, 'LimitRequestBody BYTES (0: no limit)');
        if (n !== undefined) set('limitRequestBody', n, d);
        break;
      }
    }
  }
  return { raw, notes, present };
}

/** The edge part of the Apache converter; to-config.ts hands it directives and sections. */
export class EdgeConverter {
  private readonly sites = new Map<EdgeSite, SiteEdge>();
  private readonly global = new Map<string, Noted<unknown>>();
  private readonly exceptions: Noted<string>[] = [];
  private readonly handlerAccess = new Map<string, { raw: Record<string, unknown>; notes: [Path, Loc][] }>();

  private site(s: EdgeSite): SiteEdge {
    let e = this.sites.get(s);
    if (!e) {
      e = { trusted: [], internal: [], trustedLists: [], internalLists: [], sections: [] };
      this.sites.set(s, e);
    }
    return e;
  }

  /**
   * A directive outside the rule sections; true when it is this module's. Inside <Location> or
   * <Proxy>, LimitRequestBody and the auth directives belong to the section, which reads them.
   */
  directive(d: Directive, site: EdgeSite, inSection: boolean, diags: Diagnostic[]): boolean {
    if (!DIRECTIVES.has(d.name)) return false;
    if (inSection && (d.name === 'LimitRequestBody' || d.name === 'AuthGroupFile' || d.name === 'AuthMerging')) return true;
    const e = this.site(site);
    const at = locOf(d);
    const one = () => {
      if (d.args.length !== 1) {
        err(diags, d, `${d.name}: expected one value`);
        return undefined;
      }
      return d.args[0];
    };
    switch (d.name) {
      case 'RemoteIPHeader': {
        const v = one();
        if (v !== undefined) e.header = { value: v, at };
        break;
      }
      case 'RemoteIPTrustedProxy':
      case 'RemoteIPInternalProxy':
        if (!d.args.length) err(diags, d, `${d.name}: expected one or more addresses or networks`);
        for (const a of d.args) (d.name === 'RemoteIPTrustedProxy' ? e.trusted : e.internal).push({ value: a, at });
        break;
      case 'RemoteIPTrustedProxyList':
      case 'RemoteIPInternalProxyList': {
        const v = one();
        if (v !== undefined) (d.name === 'RemoteIPTrustedProxyList' ? e.trustedLists : e.internalLists).push({ value: v, at });
        break;
      }
      case 'RemoteIPProxyProtocol': {
        const v = d.args[0]?.toLowerCase();
        if (d.args.length === 1 && (v === 'on' || v === 'off')) e.proxyProtocol = { value: v === 'on', at };
        else err(diags, d, 'RemoteIPProxyProtocol: expected On or Off');
        break;
      }
      case 'RemoteIPProxyProtocolExceptions':
        for (const a of d.args) this.exceptions.push({ value: a, at });
        break;
      case 'LimitRequestBody': {
        const n = count(d, diags, 'LimitRequestBody BYTES (0: no limit)');
        if (n !== undefined) e.limitRequestBody = { value: n, at };
        break;
      }
      case 'LimitRequestFields':
      case 'LimitRequestFieldSize':
      case 'LimitRequestLine':
      case 'MaxKeepAliveRequests': {
        const n = count(d, diags, `${d.name} NUMBER`);
        const key = d.name.charAt(0).toLowerCase() + d.name.slice(1);
        if (n !== undefined) this.global.set(key, { value: n, at });
        break;
      }
      case 'RequestReadTimeout':
        if (!d.args.length) err(diags, d, 'RequestReadTimeout: expected header=… and/or body=…');
        else this.global.set('requestReadTimeout', { value: d.args.join(' '), at });
        break;
      default:
        // AuthGroupFile, AuthMerging outside a section: the parser has said where they belong.
        break;
    }
    return true;
  }

  /**
   * A <Location>, <LocationMatch>, <Proxy> or <ProxyMatch> section with access rules (or a
   * body limit): one `access` entry of the site. Returns false when it has none.
   */
  section(d: Directive, site: EdgeSite, where: { path?: string; match?: string; proxy?: string; proxyMatch?: string }, diags: Diagnostic[]): boolean {
    const e = this.site(site);
    const index = e.sections.length;
    const base: Path = [...site.base, 'access', index];
    const r = sectionRules(d.children!, base, diags);
    if (!r.present) return false;
    e.sections.push({ raw: { ...where, ...r.raw }, notes: r.notes, at: locOf(d) });
    return true;
  }

  /** The exact rules of a built-in handler's <Location>, emitted as its `access`. */
  handler(d: Directive, diags: Diagnostic[]): void {
    const r = sectionRules(d.children!, [], diags);
    if (r.present) this.handlerAccess.set(`${d.file}:${d.line}`, { raw: r.raw, notes: r.notes });
  }

  emitHandler(out: RawBuilder, handlerPath: Path, at: Loc): void {
    const h = this.handlerAccess.get(`${at.file}:${at.line}`);
    if (!h) return;
    const { limitRequestBody: _unused, ...raw } = h.raw;
    out.set([...handlerPath, 'access'], raw, at);
    for (const [p, loc] of h.notes) if (p[0] !== 'limitRequestBody') out.note([...handlerPath, 'access', ...p], loc);
  }

  /** Writes the collected settings into the raw config. */
  emit(out: RawBuilder, main: EdgeSite, vhosts: EdgeSite[]): void {
    for (const [key, v] of this.global) out.set([key], v.value, v.at);
    if (this.exceptions.length) {
      out.set(['proxyProtocolExceptions'], this.exceptions.map((x) => x.value), this.exceptions[0].at);
    }
    const pp: (string | number)[] = [];
    let ppAll: Loc | undefined;
    for (const site of [main, ...vhosts]) {
      const e = this.sites.get(site);
      if (!e) continue;
      const b = site.base;
      const proxies = e.trusted.length + e.internal.length + e.trustedLists.length + e.internalLists.length;
      if (e.header || proxies) {
        const at = e.header?.at ?? [...e.trusted, ...e.internal, ...e.trustedLists, ...e.internalLists][0].at;
        out.set([...b, 'remoteIp'], {}, at);
        if (e.header) out.set([...b, 'remoteIp', 'header'], e.header.value, e.header.at);
        const list = (key: string, items: Noted<string>[]) => {
          if (!items.length) return;
          out.set([...b, 'remoteIp', key], items.map((x) => x.value), items[0].at);
          items.forEach((x, i) => out.note([...b, 'remoteIp', key, i], x.at));
        };
        list('trustedProxies', e.trusted);
        list('internalProxies', e.internal);
        list('trustedProxyList', e.trustedLists);
        list('internalProxyList', e.internalLists);
      }
      if (e.limitRequestBody) out.set([...b, 'limitRequestBody'], e.limitRequestBody.value, e.limitRequestBody.at);
      if (e.proxyProtocol?.value) {
        if (site === main) ppAll = e.proxyProtocol.at;
        else for (const l of site.listen) pp.push(/^\*:(\d+)$/.test(l.value) ? Number(l.value.slice(2)) : l.value);
        if (site !== main && !site.listen.length) ppAll = e.proxyProtocol.at;
      }
      e.sections.forEach((s, i) => {
        out.set([...b, 'access', i], s.raw, s.at);
        for (const [p, loc] of s.notes) out.note(p, loc);
      });
    }
    if (ppAll) out.set(['proxyProtocol'], true, ppAll);
    else if (pp.length) {
      const at = [...this.sites.values()].find((e) => e.proxyProtocol?.value)!.proxyProtocol!.at;
      out.set(['proxyProtocol'], pp, at);
    }
  }
}

/** Directive names this module reads (for directives.ts's table). */
export const EDGE_DIRECTIVES = DIRECTIVES;
