// The edge gate of a request: its rate limits, then the access sections that cover it (merged in
// Apache's order), decided on the real client address. Decisions are synchronous whenever the
// DNS answers and password checks they need are cached (every request after the first of a
// client); otherwise the gate returns a promise. Both engines call it only for sites that have
// access sections or rate limits.
import type { ConfigModel, SiteModel } from '../config/model.js';
import type { AccessSectionModel, RateLimitModel } from '../config/edge-model.js';
import { resolveConfigPath } from '../config/base-dir.js';
import type { Logger } from '../log/logger.js';
import { matchesPrefix } from '../proxy/path.js';
import {
  DENIED_NO_USER,
  GRANTED,
  PENDING,
  compatAllows,
  compatNeedsDns,
  evaluate,
  needsDns,
  type ClientFacts,
  type CompatRules,
  type RequireNode,
} from './authz.js';
import { EdgeCounters } from './counters.js';
import { DnsCache, doubleReverse, forwardLookup } from './dns-cache.js';
import { GroupFile, HtpasswdFile, parseBasicAuth, type AuthResult } from './htpasswd.js';
import { ConnectionLimiter, type ConnectionCounting } from './conn-limit.js';
import { RateLimiter, type RateCounting, type RateLimitStats } from './rate-limit.js';

export interface GateRequest {
  site: SiteModel;
  /** The normalised request path. */
  path: string;
  /** The proxied URL (`balancer://NAME/path`, or a member URL), for <Proxy> sections. */
  proxyUrl?: string;
  method: string;
  authorization: string | undefined;
  /** The real client address. */
  client: string;
  /** Our address on the connection. */
  local: string | undefined;
  /** The connection's memory of its last access decision (lean engine). */
  memo?: AccessMemo;
}

/**
 * The last access decision on a connection. Rules that look only at addresses (`Require ip`,
 * `local`, `all`, Allow/Deny by address) decide the same for the same client, so the next
 * request of that client on the connection takes the same verdict without evaluating them.
 */
export class AccessMemo {
  access: MergedAccess | undefined;
  client: string | undefined;
  local: string | undefined;
  verdict: Verdict | undefined;
}

export type Verdict =
  | { ok: true; user?: string; bodyLimit: number }
  | { ok: false; status: number; text: string; headers?: [string, string][]; reason: string };

/** The rules that apply to one request, after merging its sections. */
export interface MergedAccess {
  require?: RequireNode;
  compat?: CompatRules;
  authType?: 'basic' | 'none';
  authName?: string;
  userFile?: string;
  groupFile?: string;
  bodyLimit: number;
  /** The sections, for the log. */
  names: string;
  /** The decision depends on the client and local addresses only (see addressOnly). */
  addressOnly?: boolean;
  /** The verdict of a request these rules let in without a user (made once). */
  granted?: Verdict;
}

function grantedOf(m: MergedAccess): Verdict {
  return (m.granted ??= { ok: true, bodyLimit: m.bodyLimit });
}

/** True when no rule of `n` asks for a user, a group, a method or a DNS answer. */
function addressOnlyTree(n: RequireNode): boolean {
  if (n.kind === 'container') return n.children.every(addressOnlyTree);
  return n.provider === 'all' || n.provider === 'local' || ((n.provider === 'ip' || n.provider === 'host') && n.nets!.every((r) => r.kind !== 'host'));
}

/** Whether merged rules decide on the addresses alone (computed once per merged rules). */
export function addressOnly(m: MergedAccess): boolean {
  m.addressOnly ??= (m.require === undefined || addressOnlyTree(m.require)) && (m.compat === undefined || !compatNeedsDns(m.compat));
  return m.addressOnly;
}

const proxyScoped = new WeakMap<readonly AccessSectionModel[], boolean>();

/** True when some of the sections are <Proxy> ones, which need the request's proxied URL. */
export function needsProxyUrl(sections: readonly AccessSectionModel[]): boolean {
  let v = proxyScoped.get(sections);
  if (v === undefined) proxyScoped.set(sections, (v = sections.some((s) => s.scope === 'proxy')));
  return v;
}

const NEED = Symbol('need');
type Need = typeof NEED;

interface Lookups {
  names(addr: string): readonly string[] | Need;
  forward(name: string): readonly string[] | Need;
  auth(file: string, cred: { user: string; password: string }): AuthResult | Need;
  groups(file: string, user: string): ReadonlySet<string> | Need;
}

const regexCache = new Map<string, RegExp>();
function regex(src: string): RegExp {
  let r = regexCache.get(src);
  if (!r) {
    r = new RegExp(src);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(src, r);
  }
  return r;
}

function covers(s: AccessSectionModel, path: string, proxyUrl: string | undefined): boolean {
  if (s.scope === 'location') return s.match !== undefined ? regex(s.match).test(path) : matchesPrefix(path, s.prefix!);
  if (proxyUrl === undefined) return false;
  if (s.match !== undefined) return regex(s.match).test(proxyUrl);
  // <Proxy URL> is a prefix of the proxied URL, compared case-insensitively in scheme and host.
  return s.prefix === '*' || proxyUrl.toLowerCase().startsWith(s.prefix!.toLowerCase());
}

/** Merged rules by the set of sections that cover a request (a bit mask), per site. */
const mergedCache = new WeakMap<readonly AccessSectionModel[], Map<number, MergedAccess | undefined>>();

/**
 * Apache's merge of the sections that cover a request: later sections override earlier ones.
 * The merge of each combination of sections is made once and kept.
 */
export function mergeSections(sections: readonly AccessSectionModel[], path: string, proxyUrl: string | undefined, bodyLimit: number): MergedAccess | undefined {
  if (sections.length > 30) return merge(sections, path, proxyUrl, bodyLimit);
  let mask = 0;
  for (let i = 0; i < sections.length; i++) if (covers(sections[i], path, proxyUrl)) mask |= 1 << i;
  if (mask === 0) return undefined;
  let byMask = mergedCache.get(sections);
  if (byMask === undefined) mergedCache.set(sections, (byMask = new Map()));
  let m = byMask.get(mask);
  if (m === undefined) {
    m = merge(
      sections.filter((_, i) => (mask & (1 << i)) !== 0),
      path,
      proxyUrl,
      bodyLimit,
    );
    if (byMask.size > 4096) byMask.clear();
    byMask.set(mask, m);
  }
  return m;
}

function merge(sections: readonly AccessSectionModel[], path: string, proxyUrl: string | undefined, bodyLimit: number): MergedAccess | undefined {
  let m: MergedAccess | undefined;
  for (const s of sections) {
    if (!covers(s, path, proxyUrl)) continue;
    m ??= { bodyLimit, names: '' };
    m.names = m.names ? `${m.names}, ${s.name}` : s.name;
    if (s.require !== undefined) {
      if (m.require === undefined || s.authMerging === 'off') m.require = s.require;
      else m.require = { kind: 'container', op: s.authMerging, negate: false, children: [m.require, s.require], text: `AuthMerging ${s.authMerging}` };
    }
    // mod_access_compat has no merge: a section with any of its directives replaces them all.
    if (s.compat !== undefined) m.compat = s.compat;
    if (s.authType !== undefined) m.authType = s.authType;
    if (s.authName !== undefined) m.authName = s.authName;
    if (s.authUserFile !== undefined) m.userFile = s.authUserFile;
    if (s.authGroupFile !== undefined) m.groupFile = s.authGroupFile;
    if (s.limitRequestBody !== undefined) m.bodyLimit = s.limitRequestBody;
  }
  return m;
}

/** The rules of one section on their own (a built-in handler's). */
export function sectionAccess(s: AccessSectionModel): MergedAccess {
  return { require: s.require, compat: s.compat, authType: s.authType, authName: s.authName, userFile: s.authUserFile, groupFile: s.authGroupFile, bodyLimit: 0, names: s.name };
}

function forwardNames(n: RequireNode | undefined, out: string[] = []): string[] {
  if (!n) return out;
  if (n.kind === 'container') for (const c of n.children) forwardNames(c, out);
  else if (n.provider === 'forward-dns') out.push(...n.args);
  return out;
}

export class Edge {
  readonly counters = new EdgeCounters();
  /** One process's counts; worker processes put counts shared with the others here. */
  rates: RateCounting = new RateLimiter();
  connections: ConnectionCounting = new ConnectionLimiter();
  /**
   * The rate-limit figures and busiest clients of every worker process together, which the owner
   * of worker processes keeps here (its own counts see no request).
   */
  summary?: { rates: RateLimitStats[]; clients: Record<string, number> };
  private readonly names: DnsCache;
  private readonly forwardDns: DnsCache;
  private readonly userFiles = new Map<string, HtpasswdFile>();
  private readonly groupFiles = new Map<string, GroupFile>();
  private readonly sync: Lookups;

  constructor(
    private readonly config: () => ConfigModel,
    private readonly logger: () => Logger,
    private readonly now: () => number = Date.now,
    lookups: { reverse?: (addr: string) => Promise<string[]>; forward?: (name: string) => Promise<string[]> } = {},
  ) {
    this.names = new DnsCache(lookups.reverse ?? doubleReverse, now);
    this.forwardDns = new DnsCache(lookups.forward ?? forwardLookup, now);
    this.sync = {
      names: (a) => this.names.get(a) ?? NEED,
      forward: (n) => this.forwardDns.get(n) ?? NEED,
      auth: (f, c) => this.userFile(f).checkSync(c) ?? NEED,
      groups: (f, u) => this.groupFile(f).groupsSync(u) ?? NEED,
    };
  }

  private userFile(path: string): HtpasswdFile {
    const abs = resolveConfigPath(this.config(), path);
    let f = this.userFiles.get(abs);
    if (!f) {
      f = new HtpasswdFile(abs, { warn: (m) => this.logger().error({ htpasswd: abs }, m), now: this.now });
      this.userFiles.set(abs, f);
    }
    return f;
  }

  private groupFile(path: string): GroupFile {
    const abs = resolveConfigPath(this.config(), path);
    let f = this.groupFiles.get(abs);
    if (!f) {
      f = new GroupFile(abs, { warn: (m) => this.logger().error({ groupFile: abs }, m), now: this.now });
      this.groupFiles.set(abs, f);
    }
    return f;
  }

  /** Rate limits, then access rules, for a request to a site with either. */
  check(r: GateRequest): Verdict | Promise<Verdict> {
    const site = r.site;
    if (site.rateLimits !== undefined) {
      const v = this.rateLimit(r, site.rateLimits, 0, this.now());
      if (v !== undefined) return v instanceof Promise ? v.then((x) => x ?? this.access(r)) : v;
    }
    return this.access(r);
  }

  /** The rate limits from rule `from` on: a refusal, or undefined to go on. */
  private rateLimit(r: GateRequest, rules: readonly RateLimitModel[], from: number, now: number): Verdict | undefined | Promise<Verdict | undefined> {
    for (let i = from; i < rules.length; i++) {
      const rule = rules[i];
      if (!matchesPrefix(r.path, rule.path)) continue;
      const wait = this.rates.hit(rule, r.client, now);
      // Worker processes: the limit is near and the owner decides.
      if (typeof wait !== 'number') return wait.then((w) => (w > 0 ? this.limited(rule, w) : this.rateLimit(r, rules, i + 1, now)));
      if (wait > 0) return this.limited(rule, wait);
    }
    return undefined;
  }

  private limited(rule: RateLimitModel, wait: number): Verdict {
    this.counters.rateLimited++;
    return {
      ok: false,
      status: 429,
      text: 'Too many requests from your address; try again later.',
      headers: [['Retry-After', String(wait)]],
      reason: `over the rate limit ${rule.id}`,
    };
  }

  private access(r: GateRequest): Verdict | Promise<Verdict> {
    const site = r.site;
    const m = site.access === undefined ? undefined : mergeSections(site.access, r.path, r.proxyUrl, site.limitRequestBody);
    if (m === undefined) return { ok: true, bodyLimit: site.limitRequestBody };
    const memo = r.memo;
    if (memo === undefined) return this.decide(m, r);
    if (memo.access === m && memo.client === r.client && memo.local === r.local) return this.counted(memo.verdict!);
    const v = this.decide(m, r);
    if (!(v instanceof Promise) && addressOnly(m)) {
      memo.access = m;
      memo.client = r.client;
      memo.local = r.local;
      memo.verdict = v;
    }
    return v;
  }

  /** Decides merged rules for a request (the gate's second step; the built-in handlers' only one). */
  decide(m: MergedAccess, r: Omit<GateRequest, 'site' | 'path'>): Verdict | Promise<Verdict> {
    const v = this.decideWith(m, r, this.sync);
    if (v !== NEED) return this.counted(v);
    return this.decideAsync(m, r).then((x) => this.counted(x));
  }

  private counted(v: Verdict): Verdict {
    if (!v.ok) {
      if (v.status === 401) this.counters.authFailed++;
      else if (v.status === 403) this.counters.accessDenied++;
    }
    return v;
  }

  /** Looks up what the rules need (DNS, passwords, groups), then decides with the answers. */
  private async decideAsync(m: MergedAccess, r: Omit<GateRequest, 'site' | 'path'>): Promise<Verdict> {
    let names: readonly string[] | undefined;
    if ((m.require && needsDns(m.require)) || (m.compat && compatNeedsDns(m.compat))) names = await this.names.fetch(r.client);
    const fwd = new Map<string, readonly string[]>();
    for (const n of forwardNames(m.require)) fwd.set(n, await this.forwardDns.fetch(n));
    const cred = parseBasicAuth(r.authorization);
    let auth: AuthResult | undefined;
    let groups: ReadonlySet<string> | undefined;
    if (cred && m.userFile && m.authType === 'basic') {
      auth = await this.userFile(m.userFile).verify(cred);
      if (auth.ok && m.groupFile) groups = await this.groupFile(m.groupFile).groups(auth.user);
    }
    const v = this.decideWith(m, r, {
      names: () => names ?? NEED,
      forward: (n) => fwd.get(n) ?? NEED,
      auth: () => auth ?? NEED,
      groups: () => groups ?? NEED,
    });
    return v === NEED ? this.failure(500, 'the access rules could not be decided', m) : v;
  }

  private failure(status: number, why: string, m: MergedAccess, headers?: [string, string][]): Verdict {
    const text =
      status === 401
        ? 'Unauthorized: log in to use this page.'
        : status === 403
          ? 'Forbidden: you may not use this page.'
          : 'The server is not configured to decide who may use this page.';
    return { ok: false, status, text, headers, reason: `${why} (${m.names})` };
  }

  private challenge(m: MergedAccess, why: string): Verdict {
    const realm = (m.authName ?? 'stickylb').replace(/["\\]/g, '');
    return this.failure(401, why, m, [['WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`]]);
  }

  /** mod_access_compat, then mod_authz_core and mod_auth_basic, as request.c runs them. */
  private decideWith(m: MergedAccess, r: Omit<GateRequest, 'site' | 'path'>, lk: Lookups): Verdict | Need {
    const facts: ClientFacts = { client: r.client, local: r.local, method: r.method };
    let compatOk = true;
    if (m.compat !== undefined) {
      if (compatNeedsDns(m.compat)) {
        const names = lk.names(r.client);
        if (names === NEED) return NEED;
        facts.names = names;
      }
      compatOk = compatAllows(m.compat, facts)!;
    }
    const any = m.compat?.satisfy === 'any';
    if (compatOk && any) return grantedOf(m);
    if (!compatOk && !any) return this.failure(403, `${r.client} is denied by the Allow/Deny rules`, m);
    if (m.require === undefined) {
      if (m.authType === 'basic') return this.failure(500, 'AuthType Basic without any Require rule', m);
      return compatOk ? grantedOf(m) : this.failure(403, `${r.client} is denied by the Allow/Deny rules`, m);
    }
    if (needsDns(m.require)) {
      if (facts.names === undefined) {
        const names = lk.names(r.client);
        if (names === NEED) return NEED;
        facts.names = names;
      }
      const fwd = forwardNames(m.require);
      if (fwd.length) {
        const answers = new Map<string, readonly string[]>();
        for (const name of fwd) {
          const v = lk.forward(name);
          if (v === NEED) return NEED;
          answers.set(name, v);
        }
        facts.forward = (name) => answers.get(name);
      }
    }
    let res = evaluate(m.require, facts);
    if (res === PENDING) return this.failure(500, 'a rule needs an answer that cannot be had', m);
    if (res === GRANTED) return grantedOf(m);
    if (res !== DENIED_NO_USER) return this.failure(403, `${r.client} is refused by the Require rules`, m);
    // A login may still let the client in.
    if (m.authType !== 'basic') return this.failure(500, 'the Require rules need a user but no AuthType Basic is set', m);
    if (!m.userFile) return this.failure(500, 'the Require rules need a user but no AuthUserFile is set', m);
    const cred = parseBasicAuth(r.authorization);
    if (!cred) return this.challenge(m, r.authorization ? 'malformed Authorization header' : 'credentials required');
    const auth = lk.auth(m.userFile, cred);
    if (auth === NEED) return NEED;
    if (!auth.ok) return this.challenge(m, auth.reason);
    facts.user = auth.user;
    if (m.groupFile) {
      const g = lk.groups(m.groupFile, auth.user);
      if (g === NEED) return NEED;
      facts.groups = g;
    }
    res = evaluate(m.require, facts);
    if (res === PENDING) return NEED;
    // AuthzSendForbiddenOnFailure Off (Apache's default): a user the rules do not take gets 401.
    if (res !== GRANTED) return this.challenge(m, `user "${auth.user}" is not allowed by the Require rules`);
    return { ok: true, user: auth.user, bodyLimit: m.bodyLimit };
  }
}
