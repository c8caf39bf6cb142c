// Apache LogFormat strings (mod_log_config), compiled once into a function from an access record
// to a line, or to a JSON object with the same fields. Pure: the record is plain data built from
// the request elsewhere (access-record.ts), so formats are tested without sockets.

/** Everything a log line can show about one request. */
export interface AccessRecord {
  /** Arrival time, ms since the epoch. */
  startMs: number;
  /** Time from arrival until the response was finished, in microseconds. */
  durationUs: number;
  remoteAddr?: string;
  /** The connection's other end (%{c}a); the client itself unless a declared proxy stands between. */
  peerAddr?: string;
  remotePort?: number;
  localAddr?: string;
  localPort?: number;
  method: string;
  /** The request target as received (path and query). */
  target: string;
  /** `HTTP/1.1`. */
  protocol: string;
  status?: number;
  /** Response body bytes sent. */
  bytes: number;
  /** Bytes sent including the response head (%O). */
  bytesOut: number;
  /** Bytes received including the request head (%I); the body is counted by its Content-Length. */
  bytesIn: number;
  /** Request headers, lower-case names. */
  requestHeaders: Record<string, string | string[] | undefined>;
  /** Response headers, lower-case names. */
  responseHeaders: Record<string, string | number | string[] | undefined>;
  /** The site's ServerName (%v). */
  serverName?: string;
  /** The user stickylb authenticated (%u). */
  user?: string;
  /** Request environment variables (%{NAME}e): the balancer's BALANCER_* outcome. */
  env: Record<string, string | undefined>;
  /** mod_ssl's variables of a request that came over TLS (%{SSL_PROTOCOL}x, %{SSL_CIPHER}x, …). */
  ssl?: Record<string, string | undefined>;
  /** `+` kept alive, `-` closed after the response, `X` aborted before it was complete (%X). */
  connection?: '+' | '-' | 'X';
  pid: number;
}

export class LogFormatError extends Error {
  readonly code = 'ERR_LOG_FORMAT';
}

type Json = string | number | null;

interface Directive {
  /** Text for the line; undefined is logged as `-`. Already escaped. */
  text(r: AccessRecord): string | undefined;
  /** Where the value goes in the JSON object: a key, or [object, key]. */
  key: string | [string, string];
  json(r: AccessRecord): Json;
}

export interface CompiledFormat {
  readonly format: string;
  /** One log line (without the newline). */
  line(r: AccessRecord): string;
  /** The same fields as one JSON object (without the newline). */
  jsonLine(r: AccessRecord): string;
  /** The fields as an object (what jsonLine serialises). */
  fields(r: AccessRecord): Record<string, unknown>;
  /** Directives that are accepted but always log `-` here. */
  readonly warnings: string[];
}

// ---- Escaping, as Apache's ap_escape_logitem. ------------------------------------------------

const SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const NAMED: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 13: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

function hex2(n: number): string {
  return `\\x${n.toString(16).padStart(2, '0')}`;
}

/**
 * Escapes a value for a log line: `"` and `\` get a backslash, control characters their C escape
 * or `\xhh`, and every byte outside printable ASCII `\xhh`, so a line can neither be split nor
 * forged by what a client sends.
 */
export function escapeLogItem(s: string): string {
  if (SAFE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const named = NAMED[c];
    if (named) out += named;
    else if (c >= 0x20 && c < 0x7f) out += s[i];
    else if (c <= 0xff) out += hex2(c);
    else {
      // Header values are latin1 (one char per byte); anything wider is logged as its UTF-8 bytes.
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += hex2(b);
    }
  }
  return out;
}

// ---- Time. ----------------------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_LONG = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAYS_LONG = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function pad(n: number, w = 2, c = '0'): string {
  return String(n).padStart(w, c);
}

/** `+0200` for the local offset at `d`. */
function offset(d: Date): string {
  const m = -d.getTimezoneOffset();
  const a = Math.abs(m);
  return `${m >= 0 ? '+' : '-'}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

/** The subset of strftime(3) that Apache log formats use, in local time. */
export function strftime(fmt: string, ms: number): string {
  const d = new Date(ms);
  return fmt.replace(/%([a-zA-Z%])/g, (all, c: string) => {
    switch (c) {
      case 'a': return DAYS[d.getDay()];
      case 'A': return DAYS_LONG[d.getDay()];
      case 'b': case 'h': return MONTHS[d.getMonth()];
      case 'B': return MONTHS_LONG[d.getMonth()];
      case 'd': return pad(d.getDate());
      case 'e': return pad(d.getDate(), 2, ' ');
      case 'H': return pad(d.getHours());
      case 'I': return pad(d.getHours() % 12 || 12);
      case 'j': return pad(Math.floor((d.getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1, 3);
      case 'm': return pad(d.getMonth() + 1);
      case 'M': return pad(d.getMinutes());
      case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
      case 'S': return pad(d.getSeconds());
      case 'y': return pad(d.getFullYear() % 100);
      case 'Y': return String(d.getFullYear());
      case 'z': return offset(d);
      case 's': return String(Math.floor(ms / 1000));
      case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      case 'D': return `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`;
      case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
      case 'n': return '\n';
      case 't': return '\t';
      case '%': return '%';
      default: return all;
    }
  });
}

/** Apache's %t: `[10/Oct/2000:13:55:36 -0700]`, local time; cached per second (many lines share one). */
function makeClfTime(): (ms: number) => string {
  let lastSec = -1;
  let last = '';
  return (ms) => {
    const sec = Math.floor(ms / 1000);
    if (sec !== lastSec) {
      const d = new Date(ms);
      last = `[${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${offset(d)}]`;
      lastSec = sec;
    }
    return last;
  };
}

// ---- Directives. ----------------------------------------------------------------------------

function str(v: string | number | string[] | undefined, joiner = ', '): string | undefined {
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.join(joiner) : String(v);
  return s === '' ? undefined : s;
}

function esc(v: string | undefined): string | undefined {
  return v === undefined ? undefined : escapeLogItem(v);
}

function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

function queryOf(target: string): string | undefined {
  const q = target.indexOf('?');
  return q < 0 ? undefined : target.slice(q + 1);
}

function cookie(header: string | string[] | undefined, name: string): string | undefined {
  const all = Array.isArray(header) ? header.join('; ') : header;
  if (!all) return undefined;
  for (const part of all.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function hostOnly(host: string | undefined): string | undefined {
  if (!host) return undefined;
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

function num(n: number | undefined): Json {
  return n === undefined || Number.isNaN(n) ? null : n;
}

function plain(key: Directive['key'], get: (r: AccessRecord) => string | undefined): Directive {
  return { key, text: (r) => esc(get(r)), json: (r) => get(r) ?? null };
}

function numeric(key: Directive['key'], get: (r: AccessRecord) => number | undefined): Directive {
  return {
    key,
    text: (r) => {
      const n = get(r);
      return n === undefined ? undefined : String(n);
    },
    json: (r) => num(get(r)),
  };
}

function timeDirective(arg: string | undefined, clf: (ms: number) => string): Directive {
  if (arg === undefined) return { key: 'time', text: (r) => clf(r.startMs), json: (r) => new Date(r.startMs).toISOString() };
  let fmt = arg;
  let end = false;
  if (fmt.startsWith('begin:')) fmt = fmt.slice(6);
  else if (fmt.startsWith('end:')) {
    fmt = fmt.slice(4);
    end = true;
  }
  const at = (r: AccessRecord) => r.startMs + (end ? r.durationUs / 1000 : 0);
  const atUs = (r: AccessRecord) => Math.round(r.startMs * 1000 + (end ? r.durationUs : 0));
  const n = (key: string, f: (r: AccessRecord) => number): Directive => ({ key, text: (r) => String(f(r)), json: (r) => f(r) });
  switch (fmt) {
    case 'sec': return n('time_sec', (r) => Math.floor(at(r) / 1000));
    case 'msec': return n('time_msec', (r) => Math.floor(at(r)));
    case 'usec': return n('time_usec', atUs);
    case 'msec_frac': return { key: 'time_msec_frac', text: (r) => pad(Math.floor(at(r)) % 1000, 3), json: (r) => Math.floor(at(r)) % 1000 };
    case 'usec_frac': return { key: 'time_usec_frac', text: (r) => pad(atUs(r) % 1_000_000, 6), json: (r) => atUs(r) % 1_000_000 };
    default:
      return { key: 'time', text: (r) => escapeLogItem(strftime(fmt, at(r))), json: (r) => strftime(fmt, at(r)) };
  }
}

function durationDirective(arg: string | undefined): Directive {
  switch (arg ?? 's') {
    case 's': return numeric('duration_s', (r) => Math.floor(r.durationUs / 1_000_000));
    case 'ms': return numeric('duration_ms', (r) => Math.floor(r.durationUs / 1000));
    case 'us': return numeric('duration_us', (r) => r.durationUs);
    default: throw new LogFormatError(`%{${arg}}T: the unit must be s, ms or us`);
  }
}

/** Directives Apache has that stickylb accepts but cannot fill; they log `-`. */
const UNFILLED: Record<string, string> = {
  f: 'file', k: 'keepalive_requests', L: 'log_id', R: 'handler', n: 'note', l: 'remote_logname',
};

function directive(letter: string, arg: string | undefined, clf: (ms: number) => string, warnings: string[]): Directive {
  switch (letter) {
    case 'h': return plain('remote_host', (r) => r.remoteAddr);
    case 'a':
      if (arg !== undefined && arg !== 'c') throw new LogFormatError(`%{${arg}}a: only %a and %{c}a are known`);
      return arg === 'c' ? plain('peer_addr', (r) => r.peerAddr ?? r.remoteAddr) : plain('remote_addr', (r) => r.remoteAddr);
    case 'A': return plain('local_addr', (r) => r.localAddr);
    case 'u': return { key: 'remote_user', text: (r) => (r.user === '' ? '""' : esc(r.user)), json: (r) => r.user ?? null };
    case 't': return timeDirective(arg, clf);
    case 'r': return plain('request', (r) => `${r.method} ${r.target} ${r.protocol}`);
    case 's': return numeric('status', (r) => r.status);
    case 'b': return { key: 'bytes', text: (r) => (r.bytes > 0 ? String(r.bytes) : undefined), json: (r) => r.bytes };
    case 'B': return numeric('bytes', (r) => r.bytes);
    case 'O': return numeric('bytes_out', (r) => r.bytesOut);
    case 'I': return numeric('bytes_in', (r) => r.bytesIn);
    case 'S': return numeric('bytes_total', (r) => r.bytesIn + r.bytesOut);
    case 'D': return numeric('duration_us', (r) => r.durationUs);
    case 'T': return durationDirective(arg);
    case 'U': return plain('path', (r) => pathOf(r.target));
    case 'q':
      // Apache logs nothing (not `-`) when there is no query string.
      return { key: 'query', text: (r) => { const q = queryOf(r.target); return q === undefined ? '' : `?${escapeLogItem(q)}`; }, json: (r) => queryOf(r.target) ?? null };
    case 'm': return plain('method', (r) => r.method);
    case 'H': return plain('protocol', (r) => r.protocol);
    case 'v': return plain('server_name', (r) => r.serverName);
    case 'V': return plain('host', (r) => hostOnly(str(r.requestHeaders.host)) ?? r.serverName);
    case 'p':
      if (arg === undefined || arg === 'canonical' || arg === 'local') return numeric(arg === 'local' ? 'local_port' : 'port', (r) => r.localPort);
      if (arg === 'remote') return numeric('remote_port', (r) => r.remotePort);
      throw new LogFormatError(`%{${arg}}p: accepted: canonical, local, remote`);
    case 'P':
      if (arg !== undefined && arg !== 'pid') {
        warnings.push(`%{${arg}}P logs "-"`);
        return { key: `pid_${arg}`, text: () => undefined, json: () => null };
      }
      return numeric('pid', (r) => r.pid);
    case 'X': return plain('connection', (r) => r.connection);
    case 'i': {
      if (!arg) throw new LogFormatError('%i needs a header name: %{User-Agent}i');
      const name = arg.toLowerCase();
      return plain(['request_headers', name], (r) => str(r.requestHeaders[name]));
    }
    case 'o': {
      if (!arg) throw new LogFormatError('%o needs a header name: %{Content-Type}o');
      const name = arg.toLowerCase();
      return plain(['response_headers', name], (r) => str(r.responseHeaders[name]));
    }
    case 'e': {
      if (!arg) throw new LogFormatError('%e needs a variable name: %{BALANCER_WORKER_ROUTE}e');
      return plain(['env', arg], (r) => r.env[arg]);
    }
    case 'x': {
      // mod_ssl's %{VARNAME}x: `-` for a request that did not come over TLS.
      if (!arg) throw new LogFormatError('%x needs a variable name: %{SSL_PROTOCOL}x');
      return plain(['ssl', arg], (r) => r.ssl?.[arg]);
    }
    case 'C': {
      if (!arg) throw new LogFormatError('%C needs a cookie name: %{JSESSIONID}C');
      return plain(['cookies', arg], (r) => cookie(r.requestHeaders.cookie, arg));
    }
    default: {
      const unfilled = UNFILLED[letter];
      if (unfilled) {
        if (letter !== 'l') warnings.push(`%${letter} is not available in stickylb and logs "-"`);
        return { key: unfilled, text: () => undefined, json: () => null };
      }
      throw new LogFormatError(`unknown directive %${letter}`);
    }
  }
}

/** Wraps a directive in Apache's status condition: `%400,501{User-agent}i`, `%!200,304{Referer}i`. */
function conditional(d: Directive, negate: boolean, statuses: number[]): Directive {
  const ok = (r: AccessRecord) => (r.status !== undefined && statuses.includes(r.status)) !== negate;
  return { key: d.key, text: (r) => (ok(r) ? d.text(r) : undefined), json: (r) => (ok(r) ? d.json(r) : null) };
}

/** Apache turns `\n` and `\t` in a format into a newline and a tab; other backslashes stay. */
function unescapeFormat(s: string): string {
  return s.replace(/\\([nt])/g, (_, c: string) => (c === 'n' ? '\n' : '\t'));
}

/** Compiles a LogFormat string. Throws LogFormatError naming the offending directive. */
export function compileLogFormat(format: string): CompiledFormat {
  const clf = makeClfTime();
  const warnings: string[] = [];
  const pieces: (string | Directive)[] = [];
  let lit = '';
  let i = 0;
  while (i < format.length) {
    const ch = format[i];
    if (ch !== '%') {
      lit += ch;
      i++;
      continue;
    }
    const startAt = i;
    i++;
    if (format[i] === '%') {
      lit += '%';
      i++;
      continue;
    }
    // Modifiers: status condition (`!`, digits, commas) and `<` / `>` (original / final).
    let negate = false;
    const statuses: number[] = [];
    let digits = '';
    for (;;) {
      const c = format[i];
      if (c === '!') negate = true;
      else if (c >= '0' && c <= '9') digits += c;
      else if (c === ',') {
        if (digits) statuses.push(Number(digits));
        digits = '';
      } else if (c !== '<' && c !== '>') break;
      i++;
    }
    if (digits) statuses.push(Number(digits));
    let arg: string | undefined;
    if (format[i] === '{') {
      const close = format.indexOf('}', i);
      if (close < 0) throw new LogFormatError(`unterminated %{ at position ${startAt + 1}`);
      arg = format.slice(i + 1, close);
      i = close + 1;
    }
    const letter = format[i];
    if (letter === undefined) throw new LogFormatError(`the format ends inside a directive (position ${startAt + 1})`);
    i++;
    let d = directive(letter, arg, clf, warnings);
    if (statuses.length) d = conditional(d, negate, statuses);
    if (lit) pieces.push(unescapeFormat(lit));
    lit = '';
    pieces.push(d);
  }
  if (lit) pieces.push(unescapeFormat(lit));
  const directives = pieces.filter((p): p is Directive => typeof p !== 'string');

  const line = (r: AccessRecord): string => {
    let s = '';
    for (const p of pieces) s += typeof p === 'string' ? p : (p.text(r) ?? '-');
    return s;
  };
  const fields = (r: AccessRecord): Record<string, unknown> => {
    const o: Record<string, any> = {};
    for (const d of directives) {
      if (typeof d.key === 'string') o[d.key] = d.json(r);
      else (o[d.key[0]] ??= {})[d.key[1]] = d.json(r);
    }
    return o;
  };
  return { format, line, fields, jsonLine: (r) => JSON.stringify(fields(r)), warnings };
}

/** Checks a format without keeping it: the problem, or undefined when it compiles. */
export function checkLogFormat(format: string): string | undefined {
  try {
    compileLogFormat(format);
    return undefined;
  } catch (e) {
    if (e instanceof LogFormatError) return e.message;
    throw e;
  }
}
