// The key=value parameters of BalancerMember, ProxyPass, ProxySet and ProxyHCTemplate. Names
// are case-insensitive, values keep their case. Ranges are left to the schema, which reports
// them with the file:line recorded for each value.
import type { Diagnostic } from '../diagnostics.js';
import { decimal, duration, integer, onOff } from './values.js';

export type ParamTarget = 'member' | 'balancer' | 'health';

type ValueKind = 'number' | 'int' | 'bool' | 'inverse-bool' | 'duration' | 'duration-or-bool' | 'string' | 'codes';

interface ParamSpec {
  /** Schema key; for health parameters the key inside `health`. */
  key: string;
  kind: ValueKind;
  /** The accepted form, for messages. */
  form: string;
}

const memberParams: Record<string, ParamSpec> = {
  loadfactor: { key: 'loadfactor', kind: 'number', form: '1..100' },
  lbset: { key: 'lbset', kind: 'int', form: '0..99' },
  route: { key: 'route', kind: 'string', form: 'NAME' },
  redirect: { key: 'redirect', kind: 'string', form: 'ROUTE' },
  retry: { key: 'retry', kind: 'duration', form: 'SECONDS (or 500ms)' },
  timeout: { key: 'timeout', kind: 'duration', form: 'SECONDS (or 500ms)' },
  connectiontimeout: { key: 'connectiontimeout', kind: 'duration', form: 'SECONDS (or 500ms)' },
  ping: { key: 'ping', kind: 'duration', form: 'SECONDS (or 500ms)' },
  max: { key: 'max', kind: 'int', form: 'NUMBER' },
  smax: { key: 'smax', kind: 'int', form: 'NUMBER' },
  ttl: { key: 'ttl', kind: 'duration', form: 'SECONDS' },
  disablereuse: { key: 'disablereuse', kind: 'bool', form: 'On|Off' },
  enablereuse: { key: 'disablereuse', kind: 'inverse-bool', form: 'On|Off' },
  status: { key: 'status', kind: 'string', form: '+H, -D, S, … (letters I N D H R S E C)' },
  slowstart: { key: 'slowstart', kind: 'duration', form: 'SECONDS' },
  // stickylb's own: the URL's host is a DNS name whose records are the members (see fleet.ts).
  discover: { key: 'discover', kind: 'string', form: 'srv|dns|a|aaaa' },
};

const healthParams: Record<string, ParamSpec> = {
  hcmethod: { key: 'method', kind: 'string', form: 'TCP|OPTIONS|HEAD|GET' },
  hcuri: { key: 'uri', kind: 'string', form: '/path' },
  hcinterval: { key: 'interval', kind: 'duration', form: 'SECONDS (or 500ms)' },
  hcpasses: { key: 'passes', kind: 'int', form: 'NUMBER' },
  hcfails: { key: 'fails', kind: 'int', form: 'NUMBER' },
  hcexpr: { key: 'expect', kind: 'string', form: 'NAME of a ProxyHCExpr' },
  hctemplate: { key: 'template', kind: 'string', form: 'NAME of a ProxyHCTemplate' },
};

const balancerParams: Record<string, ParamSpec> = {
  lbmethod: { key: 'lbmethod', kind: 'string', form: 'byrequests|bytraffic|bybusyness|heartbeat' },
  stickysession: { key: 'stickysession', kind: 'string', form: 'NAME or COOKIE|URLPARAM' },
  stickysessionsep: { key: 'stickysessionsep', kind: 'string', form: 'one character, or Off' },
  scolonpathdelim: { key: 'scolonpathdelim', kind: 'bool', form: 'On|Off' },
  nofailover: { key: 'nofailover', kind: 'bool', form: 'On|Off' },
  maxattempts: { key: 'maxattempts', kind: 'int', form: 'NUMBER' },
  timeout: { key: 'timeout', kind: 'duration', form: 'SECONDS (or 500ms)' },
  failonstatus: { key: 'failonstatus', kind: 'codes', form: 'CODE,CODE,… (e.g. 500,503)' },
  failontimeout: { key: 'failontimeout', kind: 'bool', form: 'On|Off' },
  forcerecovery: { key: 'forcerecovery', kind: 'bool', form: 'On|Off' },
  growth: { key: 'growth', kind: 'int', form: 'NUMBER' },
  routecookie: { key: 'routecookie', kind: 'string', form: 'COOKIE-NAME' },
  balancerheaders: { key: 'balancerheaders', kind: 'bool', form: 'On|Off' },
  routecheck: { key: 'routecheck', kind: 'bool', form: 'On|Off' },
  slowstart: { key: 'slowstart', kind: 'duration', form: 'SECONDS' },
  retrybackoff: { key: 'retrybackoff', kind: 'duration-or-bool', form: 'SECONDS, or Off' },
};

/** Apache parameters stickylb accepts and does not use. */
const ignoredMember: Record<string, string> = {
  min: 'stickylb opens connections on demand',
  flushpackets: 'responses are streamed as they arrive',
  flushwait: 'responses are streamed as they arrive',
  iobuffersize: 'Node chooses buffer sizes',
  receivebuffersize: 'Node chooses buffer sizes',
  responsefieldsize: 'Node limits header sizes (see maxHeaderSize)',
  secret: 'AJP is not supported',
  upgrade: 'WebSocket upgrades are always passed through',
  mapping: 'paths are passed on as received',
  addressttl: 'member addresses are looked up by Node',
  // Apache's keepalive is SO_KEEPALIVE on the member connection, not connection reuse (which is
  // enablereuse / disablereuse, and on by default in both).
  keepalive: 'TCP keep-alive probes are left to the system; connections to members are reused unless disablereuse=On',
};
const ignoredBalancer: Record<string, string> = {
  nonce: 'stickylb makes its own manager nonce',
};

const tables: Record<ParamTarget, Record<string, ParamSpec>> = {
  member: { ...memberParams, ...healthParams },
  balancer: balancerParams,
  health: healthParams,
};

export interface Param {
  /** Dotted key inside the member, balancer or health object (`health.uri`, `route`). */
  key: string;
  value: unknown;
}

export interface ParsedParams {
  params: Param[];
  /** Words without `=` (ProxyPass flags such as nocanon). */
  flags: string[];
  diagnostics: Diagnostic[];
}

function convert(kind: ValueKind, v: string): unknown {
  switch (kind) {
    case 'number':
      return decimal(v);
    case 'int':
      return integer(v);
    case 'bool':
      return onOff(v);
    case 'inverse-bool': {
      const b = onOff(v);
      return b === undefined ? undefined : !b;
    }
    case 'duration':
      return duration(v);
    case 'duration-or-bool':
      return onOff(v) ?? duration(v);
    case 'codes': {
      const codes = v.split(',').map((c) => integer(c.trim()));
      return codes.every((c) => c !== undefined) ? codes : undefined;
    }
    case 'string':
      return v;
  }
}

function kindWord(kind: ValueKind): string {
  if (kind === 'number' || kind === 'int') return 'a number';
  if (kind === 'bool' || kind === 'inverse-bool') return 'On or Off';
  if (kind === 'duration') return 'a duration';
  if (kind === 'duration-or-bool') return 'a duration or Off';
  if (kind === 'codes') return 'a list of status codes';
  return 'a value';
}

/** A table entry by name; names such as "constructor" are not entries. */
function own<T>(table: Record<string, T>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

const what: Record<ParamTarget, string> = { member: 'member', balancer: 'balancer', health: 'health check' };

/**
 * Parses `key=value` words for a member, a balancer, or a health template. Unknown names are
 * warnings, values that cannot be converted are errors, both naming the directive.
 */
export function parseParams(words: string[], target: ParamTarget, at: { file: string; line: number; directive: string }): ParsedParams {
  const table = tables[target];
  const out: ParsedParams = { params: [], flags: [], diagnostics: [] };
  const diag = (severity: Diagnostic['severity'], message: string, code: string) =>
    out.diagnostics.push({ severity, file: at.file, line: at.line, directive: at.directive, message: `${at.directive}: ${message}`, code });
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      out.flags.push(word);
      continue;
    }
    const name = word.slice(0, eq).toLowerCase();
    const raw = word.slice(eq + 1);
    const spec = own(table, name);
    if (!spec) {
      const ignored = own(target === 'balancer' ? ignoredBalancer : ignoredMember, name);
      if (ignored) {
        diag('info', `${name}= is ignored (${ignored})`, 'ignored-parameter');
      } else if (target !== 'balancer' && own(balancerParams, name)) {
        diag('warning', `${name} is a balancer parameter, not a ${what[target]} parameter (ignored; set it on ProxyPass or ProxySet balancer://NAME)`, 'misplaced-parameter');
      } else if (target === 'balancer' && (own(memberParams, name) || own(healthParams, name))) {
        diag('warning', `${name} is a member parameter, not a balancer parameter (ignored; set it on each BalancerMember)`, 'misplaced-parameter');
      } else {
        diag('warning', `unknown parameter "${word}" (ignored; ${what[target]} parameters: ${Object.keys(table).join(', ')})`, 'unknown-parameter');
      }
      continue;
    }
    if (raw === '') {
      diag('error', `${name}= has no value (expected ${name}=${spec.form})`, 'invalid-value');
      continue;
    }
    const value = convert(spec.kind, raw);
    if (value === undefined) {
      diag('error', `${name}=${raw} is not ${kindWord(spec.kind)} (expected ${name}=${spec.form})`, 'invalid-value');
      continue;
    }
    const key = target === 'member' && own(healthParams, name) ? `health.${spec.key}` : spec.key;
    const existing = out.params.findIndex((p) => p.key === key);
    if (existing >= 0) out.params.splice(existing, 1);
    out.params.push({ key, value });
  }
  return out;
}

/** True when a parameter name belongs to balancers (for ProxySet, which takes both kinds). */
export function isBalancerParam(name: string): boolean {
  return own(balancerParams, name.toLowerCase()) !== undefined;
}

/** The accepted form of a parameter, for messages elsewhere. */
export function paramForm(target: ParamTarget, name: string): string | undefined {
  return own(tables[target], name.toLowerCase())?.form;
}
