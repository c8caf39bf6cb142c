// Access rules of a <Location> (Apache 2.2's Order/Allow/Deny, 2.4's Require, Basic auth) to the
// allow/deny lists of a handler. stickylb lets a client in when it matches an allow entry and
// no deny entry (and logs in, when an htpasswd file is set); Apache's rules are evaluated to
// lists with that meaning.
import { isIP } from 'node:net';
import type { Diagnostic } from '../diagnostics.js';
import type { Directive } from './syntax.js';

export interface Loc {
  file: string;
  line: number;
  directive: string;
}

export interface Located<T> {
  value: T;
  at: Loc;
}

export interface AccessResult {
  /** Undefined when no rule said anything about addresses. */
  allow?: Located<string>[];
  deny?: Located<string>[];
  htpasswd?: Located<string>;
  realm?: Located<string>;
  /** The directive that decides who gets in, for messages ("Allow from all" at line 9). */
  decidedBy?: Loc;
  /** True when any access or auth directive was present. */
  present: boolean;
  diagnostics: Diagnostic[];
}

const ACCESS = new Set(['order', 'allow', 'deny', 'require', 'satisfy', 'authtype', 'authname', 'authuserfile', 'authbasicprovider']);
const CONTAINERS = new Set(['requireall', 'requireany', 'requirenone']);

/** True for the directives this module reads. */
export function isAccessDirective(name: string): boolean {
  return ACCESS.has(name.toLowerCase()) || CONTAINERS.has(name.toLowerCase());
}

const locOf = (d: Directive): Loc => ({ file: d.file, line: d.line, directive: d.name });

/**
 * One Allow/Deny/Require host word to an access entry: `all`, `local`, an IP, a CIDR
 * (`10.1` becomes `10.1.0.0/16`, `10.0.0.0/255.0.0.0` becomes `10.0.0.0/8`), or `host NAME`.
 */
export function hostEntry(word: string): { entry: string } | { problem: string; severity: 'error' | 'warning' } {
  const w = word.trim();
  if (/^all$/i.test(w)) return { entry: 'all' };
  if (/^localhost$/i.test(w)) return { entry: 'local' };
  if (/^env=/i.test(w)) return { problem: `"${w}": environment conditions are not supported`, severity: 'warning' };
  const [addr, bits, extra] = w.split('/');
  if (extra === undefined && isIP(addr) === 4) {
    if (bits === undefined) return { entry: addr };
    if (/^\d{1,2}$/.test(bits) && Number(bits) <= 32) return { entry: `${addr}/${bits}` };
    if (isIP(bits) === 4) {
      const bin = bits
        .split('.')
        .map((o) => Number(o).toString(2).padStart(8, '0'))
        .join('');
      if (/^1*0*$/.test(bin)) return { entry: `${addr}/${bin.includes('0') ? bin.indexOf('0') : 32}` };
    }
    return { problem: `"${w}" has an invalid network mask`, severity: 'error' };
  }
  if (extra === undefined && isIP(addr) === 6) {
    if (bits === undefined) return { entry: addr };
    if (/^\d{1,3}$/.test(bits) && Number(bits) <= 128) return { entry: `${addr}/${bits}` };
    return { problem: `"${w}" has an invalid prefix length`, severity: 'error' };
  }
  // A partial address: the first one to three bytes, as Apache allows (`10.1` or `10.1.`).
  const partial = /^(\d{1,3}(?:\.\d{1,3}){0,2})\.?$/.exec(w);
  if (partial) {
    const octets = partial[1].split('.').map(Number);
    if (octets.every((o) => o <= 255)) {
      const full = [...octets, 0, 0, 0].slice(0, 4).join('.');
      return { entry: `${full}/${octets.length * 8}` };
    }
    return { problem: `"${w}" is not an IP address`, severity: 'error' };
  }
  if (/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$/.test(w) && /[A-Za-z]/.test(w)) return { entry: `host ${w.replace(/^\.|\.$/g, '')}` };
  return { problem: `"${w}" is not a host name, an IP address or a network`, severity: 'error' };
}

/** Flattens Require containers, remembering whether each directive sits in a RequireNone. */
function flatten(nodes: Directive[], negated = false, out: { d: Directive; negated: boolean }[] = []) {
  for (const n of nodes) {
    const key = n.name.toLowerCase();
    if (n.children && CONTAINERS.has(key)) flatten(n.children, key === 'requirenone' ? !negated : negated, out);
    else if (ACCESS.has(key)) out.push({ d: n, negated });
  }
  return out;
}

/** Evaluates the access directives among `nodes` (a section's children). */
export function evaluateAccess(nodes: Directive[]): AccessResult {
  const diagnostics: Diagnostic[] = [];
  const diag = (d: Directive, severity: Diagnostic['severity'], message: string, code: string) =>
    diagnostics.push({ severity, file: d.file, line: d.line, directive: d.name, message, code });
  const items = flatten(nodes);
  const result: AccessResult = { present: items.length > 0, diagnostics };
  if (!items.length) return result;

  let order: { mode: 'deny,allow' | 'allow,deny'; at: Directive } | undefined;
  const allow22: Located<string>[] = [];
  const deny22: Located<string>[] = [];
  const allow24: Located<string>[] = [];
  const deny24: Located<string>[] = [];
  let has22: Directive | undefined;
  let has24: Directive | undefined;
  let wantsUser: Directive | undefined;
  let basic: Directive | undefined;
  let userFile: Directive | undefined;
  let satisfyAny: Directive | undefined;

  const addHosts = (d: Directive, words: string[], into: Located<string>[], usage: string) => {
    if (!words.length) {
      diag(d, 'error', `${d.name} ${d.args.join(' ')}: nothing after "${d.args[d.args.length - 1] ?? d.name}" (expected ${usage})`, 'missing-host');
      return;
    }
    for (const w of words) {
      const h = hostEntry(w);
      if ('entry' in h) into.push({ value: h.entry, at: locOf(d) });
      else diag(d, h.severity, `${d.name}: ${h.problem} (expected ${usage})`, 'invalid-host');
    }
  };

  for (const { d, negated } of items) {
    const key = d.name.toLowerCase();
    const args = d.args;
    if (key === 'order') {
      has22 ??= d;
      const v = args.join('').toLowerCase();
      if (v === 'deny,allow') order = { mode: 'deny,allow', at: d };
      else if (v === 'allow,deny' || v === 'mutual-failure') order = { mode: 'allow,deny', at: d };
      else diag(d, 'error', `Order ${args.join(' ')}: not accepted (expected Order Deny,Allow, Order Allow,Deny or Order Mutual-failure)`, 'invalid-value');
    } else if (key === 'allow' || key === 'deny') {
      has22 ??= d;
      const usage = `${d.name} from all|HOST|IP|IP/CIDR …`;
      if (!args.length || args[0].toLowerCase() !== 'from') {
        diag(d, 'error', `${d.name} ${args.join(' ')}: "from" is missing (expected ${usage})`.replace(/  +/g, ' '), 'invalid-value');
        continue;
      }
      addHosts(d, args.slice(1), key === 'allow' ? allow22 : deny22, usage);
    } else if (key === 'require') {
      has24 ??= d;
      const usage = 'Require all granted|all denied|local|ip IP …|host HOST …|valid-user';
      let words = args;
      let not = negated;
      if (words[0]?.toLowerCase() === 'not') {
        not = !not;
        words = words.slice(1);
      }
      const kind = words[0]?.toLowerCase();
      const into = not ? deny24 : allow24;
      if (!kind) {
        diag(d, 'error', `Require: nothing to require (expected ${usage})`, 'invalid-value');
      } else if (kind === 'all') {
        const v = words[1]?.toLowerCase();
        if (v === 'granted') into.push({ value: 'all', at: locOf(d) });
        else if (v === 'denied') (not ? allow24 : deny24).push({ value: 'all', at: locOf(d) });
        else diag(d, 'error', `Require all ${words[1] ?? ''}: expected Require all granted or Require all denied`.replace(/ :/, ':'), 'invalid-value');
      } else if (kind === 'local') {
        into.push({ value: 'local', at: locOf(d) });
      } else if (kind === 'ip') {
        addHosts(d, words.slice(1), into, 'Require ip IP|IP/CIDR|PARTIAL-IP …');
      } else if (kind === 'host' || kind === 'forward-dns') {
        if (!words[1]) diag(d, 'error', `Require ${kind}: nothing after "${kind}" (expected Require host HOST …)`, 'missing-host');
        for (const h of words.slice(1)) into.push({ value: /^localhost$/i.test(h) ? 'local' : `host ${h.replace(/^\./, '')}`, at: locOf(d) });
      } else if (kind === 'valid-user' || kind === 'user' || kind === 'group') {
        wantsUser ??= d;
        if (kind !== 'valid-user') {
          diag(d, 'warning', `Require ${kind} ${words.slice(1).join(' ')}: stickylb lets in every user of the AuthUserFile, not only the ones named`, 'approximated-access');
        }
      } else {
        diag(d, 'warning', `Require ${kind}: not supported by stickylb (ignored; supported: all, local, ip, host, valid-user)`, 'unsupported-access');
      }
    } else if (key === 'satisfy') {
      if (args[0]?.toLowerCase() === 'any') satisfyAny = d;
      else if (args[0]?.toLowerCase() !== 'all') diag(d, 'error', `Satisfy ${args.join(' ')}: expected Satisfy All or Satisfy Any`, 'invalid-value');
    } else if (key === 'authtype') {
      const t = args[0]?.toLowerCase();
      if (t === 'basic') basic = d;
      else if (t === 'none') basic = undefined;
      else diag(d, 'warning', `AuthType ${args.join(' ')}: only AuthType Basic is supported (ignored)`, 'unsupported-access');
    } else if (key === 'authname') {
      if (args.length !== 1) diag(d, 'error', `AuthName: expected one realm name (AuthName "REALM", quoted when it has spaces)`, 'invalid-value');
      else result.realm = { value: args[0], at: locOf(d) };
    } else if (key === 'authuserfile') {
      if (args.length !== 1) diag(d, 'error', `AuthUserFile: expected one file (AuthUserFile FILE)`, 'invalid-value');
      else userFile = d;
    } else if (key === 'authbasicprovider') {
      if (args.some((a) => a.toLowerCase() !== 'file')) diag(d, 'warning', `AuthBasicProvider ${args.join(' ')}: only the file provider (AuthUserFile) is supported`, 'unsupported-access');
    }
  }

  if (userFile) {
    if (!basic) diag(userFile, 'warning', 'AuthUserFile: no AuthType Basic in this section, so Apache would not ask for a login (stickylb does)', 'auth-incomplete');
    result.htpasswd = { value: userFile.args[0], at: locOf(userFile) };
  } else if (basic || wantsUser) {
    diag((basic ?? wantsUser)!, 'warning', `${(basic ?? wantsUser)!.name}: no AuthUserFile in this section, so no one can log in (add AuthUserFile FILE)`, 'auth-incomplete');
  }
  if (result.htpasswd && !wantsUser) {
    diag(userFile!, 'info', 'AuthUserFile: without Require valid-user Apache would not ask for a login; stickylb does', 'auth-incomplete');
  }

  let allow: Located<string>[] | undefined;
  let deny: Located<string>[] | undefined;
  if (has24) {
    if (has22) diag(has22, 'warning', `${has22.name}: Apache 2.2 access rules mixed with Require; stickylb uses the Require rules and ignores ${has22.name}`, 'mixed-access');
    const denyAll = deny24.find((e) => e.value === 'all');
    if (denyAll) {
      allow = [{ value: 'none', at: denyAll.at }];
      deny = [];
      result.decidedBy = denyAll.at;
    } else if (allow24.length) {
      allow = allow24;
      deny = deny24;
      result.decidedBy = allow24[0].at;
    } else if (wantsUser) {
      allow = [{ value: 'all', at: locOf(wantsUser) }];
      deny = deny24;
      result.decidedBy = locOf(wantsUser);
    } else if (deny24.length) {
      allow = [{ value: 'all', at: deny24[0].at }];
      deny = deny24;
      result.decidedBy = deny24[0].at;
    }
    if (wantsUser && allow24.some((e) => e.value !== 'all') && !denyAll) {
      diag(wantsUser, 'warning', 'Require valid-user next to address rules: Apache lets in clients that match either; stickylb requires both the address and a login', 'approximated-access');
    }
  } else if (has22) {
    const mode = order?.mode ?? 'deny,allow';
    const orderAt = order ? locOf(order.at) : locOf(has22);
    const allowAll = allow22.find((e) => e.value === 'all');
    const denyAll = deny22.find((e) => e.value === 'all');
    if (mode === 'deny,allow') {
      // Deny first, then Allow, default allow: in when an Allow matches or no Deny does.
      if (allowAll) {
        allow = [allowAll];
        deny = [];
        result.decidedBy = allowAll.at;
      } else if (!deny22.length) {
        allow = [{ value: 'all', at: orderAt }];
        deny = [];
        result.decidedBy = orderAt;
      } else if (denyAll) {
        allow = allow22.length ? allow22 : [{ value: 'none', at: denyAll.at }];
        deny = [];
        result.decidedBy = allow22[0]?.at ?? denyAll.at;
      } else {
        allow = [{ value: 'all', at: orderAt }];
        deny = deny22;
        result.decidedBy = deny22[0].at;
        if (allow22.length) {
          diag(
            order?.at ?? has22,
            'warning',
            `Order Deny,Allow: clients matching both a Deny and an Allow (${allow22.map((e) => e.value).join(', ')}) get in under Apache; stickylb keeps them out`,
            'approximated-access',
          );
        }
      }
    } else {
      // Allow first, then Deny, default deny: in when an Allow matches and no Deny does.
      if (!allow22.length || denyAll) {
        allow = [{ value: 'none', at: denyAll?.at ?? orderAt }];
        deny = [];
        result.decidedBy = denyAll?.at ?? orderAt;
      } else {
        allow = allowAll ? [allowAll] : allow22;
        deny = deny22;
        result.decidedBy = allow[0].at;
      }
    }
  }
  if (satisfyAny && result.htpasswd) {
    diag(satisfyAny, 'warning', 'Satisfy Any: Apache lets in clients that match the address rules or log in; stickylb requires both', 'approximated-access');
  }
  if (allow) result.allow = dedupe(allow);
  if (deny) result.deny = dedupe(deny);
  return result;
}

function dedupe(list: Located<string>[]): Located<string>[] {
  const seen = new Set<string>();
  return list.filter((e) => (seen.has(e.value) ? false : (seen.add(e.value), true)));
}
