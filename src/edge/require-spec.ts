// Require rules as written in a config (one Require line as a string; a list is <RequireAny>;
// {all: […]}, {any: […]}, {none: […]} are <RequireAll>, <RequireAny>, <RequireNone>) to the
// tree authz.ts evaluates, with the checks httpd makes when it reads them. A rule stickylb cannot
// enforce is an error, never a rule left out. Pure.
import { PROVIDERS, addressRule, type AddressRule, type Provider, type RequireNode } from './authz.js';

export type RequireSpec = string | RequireSpec[] | { all: RequireSpec[] } | { any: RequireSpec[] } | { none: RequireSpec[] };

export interface SpecProblem {
  /** Path below the spec (`[1].all[0]`), to find the config line. */
  at: string;
  message: string;
}

const USAGE = 'all granted|all denied, ip ADDRESS|NETWORK …, host NAME …, forward-dns NAME …, local, valid-user, user NAME …, group NAME …, method METHOD …; "not" before any of them inside all/none';

/** Providers httpd has that stickylb does not enforce, with why. */
const UNSUPPORTED: Record<string, string> = {
  env: 'environment variables are not set by stickylb',
  expr: 'expressions are not evaluated by stickylb',
  'file-owner': 'stickylb serves no files for authorization',
  'file-group': 'stickylb serves no files for authorization',
  'dbm-group': 'only AuthGroupFile groups are read',
  'ldap-user': 'LDAP is not supported',
  'ldap-group': 'LDAP is not supported',
  'ldap-dn': 'LDAP is not supported',
  'ldap-attribute': 'LDAP is not supported',
  'ldap-filter': 'LDAP is not supported',
  'dbd-group': 'database groups are not supported',
  'ssl-verify-client': 'client certificates are not checked by stickylb',
};

function compileLine(line: string, negated: boolean, at: string, problems: SpecProblem[]): RequireNode | undefined {
  let words = line.trim().split(/\s+/).filter(Boolean);
  let negate = false;
  if (words[0]?.toLowerCase() === 'not') {
    negate = true;
    words = words.slice(1);
  }
  const name = words[0]?.toLowerCase();
  const args = words.slice(1);
  const text = `Require ${line.trim()}`;
  if (!name) {
    problems.push({ at, message: `${text}: nothing to require (expected ${USAGE})` });
    return undefined;
  }
  if (!(PROVIDERS as readonly string[]).includes(name)) {
    const why = UNSUPPORTED[name];
    problems.push({
      at,
      message: why
        ? `${text}: the ${name} provider cannot be enforced (${why}); supported: ${PROVIDERS.join(', ')}`
        : `${text}: unknown authorization provider "${words[0]}" (supported: ${PROVIDERS.join(', ')})`,
    });
    return undefined;
  }
  const provider = name as Provider;
  let nets: AddressRule[] | undefined;
  if (provider === 'all') {
    const v = args[0]?.toLowerCase();
    if (args.length !== 1 || (v !== 'granted' && v !== 'denied')) {
      problems.push({ at, message: `${text}: expected "all granted" or "all denied"` });
      return undefined;
    }
    args[0] = v;
  } else if (provider === 'local' || provider === 'valid-user') {
    if (args.length) {
      problems.push({ at, message: `${text}: ${provider} takes no arguments` });
      return undefined;
    }
  } else {
    if (!args.length) {
      problems.push({ at, message: `${text}: ${provider} needs at least one ${provider === 'ip' ? 'address or network' : provider === 'method' ? 'method' : 'name'}` });
      return undefined;
    }
    if (provider === 'ip' || provider === 'host') {
      nets = [];
      for (const a of args) {
        if (provider === 'host') {
          const r = addressRule(a, true);
          if (typeof r === 'string' || r.kind !== 'host') {
            problems.push({ at, message: `${text}: "${a}" is not a host or domain name (use Require ip for addresses)` });
            return undefined;
          }
          nets.push(r);
          continue;
        }
        const r = addressRule(a, false);
        if (typeof r === 'string') {
          problems.push({ at, message: `${text}: ${r}` });
          return undefined;
        }
        nets.push(r);
      }
    }
    if (provider === 'method') for (let i = 0; i < args.length; i++) args[i] = args[i].toUpperCase();
  }
  if (negate && !negated) {
    // httpd: "negative Require directive has no effect in <RequireAny> directive".
    problems.push({ at, message: `${text}: a negated rule has no effect in a RequireAny list (put it in {all: […]} or {none: […]}, <RequireAll> or <RequireNone>)` });
    return undefined;
  }
  return { kind: 'provider', provider, negate, text, args, nets };
}

function compileNode(spec: RequireSpec, allowNegative: boolean, at: string, problems: SpecProblem[]): RequireNode | undefined {
  if (typeof spec === 'string') return compileLine(spec, allowNegative, at, problems);
  let op: 'and' | 'or';
  let negate = false;
  let list: RequireSpec[];
  let name: string;
  let key = '';
  if (Array.isArray(spec)) {
    op = 'or';
    list = spec;
    name = 'RequireAny';
  } else if ('all' in spec) {
    op = 'and';
    list = spec.all;
    name = 'RequireAll';
    key = '.all';
  } else if ('any' in spec) {
    op = 'or';
    list = spec.any;
    name = 'RequireAny';
    key = '.any';
  } else {
    op = 'or';
    negate = true;
    list = spec.none;
    name = 'RequireNone';
    key = '.none';
  }
  if (negate && !allowNegative) {
    problems.push({ at, message: `${name} has no effect inside a RequireAny list: it can only refuse (put it in {all: […]} or <RequireAll>)` });
    return undefined;
  }
  if (!list.length) {
    problems.push({ at, message: `${name} contains no authorization rules` });
    return undefined;
  }
  const children: RequireNode[] = [];
  list.forEach((s, i) => {
    // Negative rules count inside RequireAll and RequireNone, never in RequireAny.
    const c = compileNode(s, op === 'and' || negate, `${at}${key}[${i}]`, problems);
    if (c) children.push(c);
  });
  if (children.length !== list.length) return undefined;
  if (op === 'and' && children.every((c) => c.negate)) {
    problems.push({ at, message: `${name} contains only negative authorization rules: it can never grant access` });
    return undefined;
  }
  return { kind: 'container', op, negate, children, text: name };
}

/** The tree of a section's Require rules (the top level is an implicit RequireAny). */
export function compileRequire(spec: RequireSpec, problems: SpecProblem[]): RequireNode | undefined {
  const list = typeof spec === 'string' || !Array.isArray(spec) ? [spec] : spec;
  const n = problems.length;
  const children: RequireNode[] = [];
  list.forEach((s, i) => {
    const c = compileNode(s, false, Array.isArray(spec) ? `[${i}]` : '', problems);
    if (c) children.push(c);
  });
  if (problems.length > n) return undefined;
  return children.length === 1 && !Array.isArray(spec) ? children[0] : { kind: 'container', op: 'or', negate: false, children, text: 'RequireAny' };
}

/** Providers that need a user (and so an AuthType Basic with an AuthUserFile). */
export function needsUser(node: RequireNode): 'user' | 'group' | undefined {
  if (node.kind === 'provider') return node.provider === 'group' ? 'group' : node.provider === 'valid-user' || node.provider === 'user' ? 'user' : undefined;
  let out: 'user' | 'group' | undefined;
  for (const c of node.children) {
    const n = needsUser(c);
    if (n === 'group') return 'group';
    out ??= n;
  }
  return out;
}
