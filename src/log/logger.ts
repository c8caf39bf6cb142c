// The error log: structured (pino), Apache's LogLevel names, stdout by default or the ErrorLog
// file. Lines are JSON (one object a line, for log shippers) or, with `format: text`, short
// Apache-style lines for people. Code that logs about a member binds it as context:
// `logger.child({ balancer, member, route })`.
import pino, { type Logger } from 'pino';
import { LogWriter } from './log-writer.js';

export type { Logger };

export type ErrorLogFormat = 'json' | 'text';

const LEVELS: Record<string, pino.Level> = {
  emerg: 'fatal',
  alert: 'fatal',
  crit: 'fatal',
  error: 'error',
  warn: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

/** pino's level for an Apache LogLevel (`trace1` … `trace8` are all `trace`). */
export function pinoLevel(apacheLevel: string): pino.Level {
  return LEVELS[apacheLevel.toLowerCase().replace(/^trace[1-8]$/, 'trace')] ?? 'warn';
}

/** Apache's name for a pino level number, for text lines. */
const APACHE_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'crit' };

export interface LoggerOptions {
  /** A file (absolute, or relative to the working directory), or '-' for stdout. */
  path?: string;
  level?: string;
  format?: ErrorLogFormat;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Apache's error log time: `Sat Aug 21 12:57:37.123 2010` (local time). */
function apacheTime(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)} ${d.getFullYear()}`;
}

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v && typeof v === 'object' && 'message' in v && typeof (v as Error).message === 'string') return JSON.stringify((v as Error).message);
  return JSON.stringify(v);
}

/**
 * One pino JSON line as a text line:
 * `[Sat Aug 21 12:57:37.123 2010] [warn] [pid 42] [balancer c member http://a:8081 route r1] message key=value`.
 */
export function textLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json);
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { level, time, pid, msg, balancer, member, route, client, hostname: _h, ...rest } = o;
  const t = typeof time === 'number' ? time : Date.parse(String(time));
  const name = typeof level === 'number' ? APACHE_NAMES[level] : undefined;
  let line = `[${apacheTime(Number.isFinite(t) ? t : Date.now())}] [${name ?? String(level)}] [pid ${String(pid)}]`;
  if (client !== undefined) line += ` [client ${String(client)}]`;
  const ctx: string[] = [];
  if (balancer !== undefined) ctx.push(`balancer ${String(balancer)}`);
  if (member !== undefined) ctx.push(`member ${String(member)}`);
  if (route !== undefined && route !== '') ctx.push(`route ${String(route)}`);
  if (ctx.length) line += ` [${ctx.join(' ')}]`;
  line += ` ${msg === undefined ? '' : String(msg).replace(/\n/g, '\n  ')}`;
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) line += ` ${k}=${fieldText(v)}`;
  return `${line}\n`;
}

/**
 * What pino writes to: forwards lines to a LogWriter (as they are, or as text lines). Kept
 * separate from the writer so the destination can be reopened for log rotation.
 */
export class ErrorLogStream {
  constructor(
    public writer: LogWriter,
    public format: ErrorLogFormat = 'json',
  ) {}

  /** Sends the following lines to another writer (ErrorLog changed on reload); returns the old one. */
  replace(writer: LogWriter, format: ErrorLogFormat): LogWriter {
    const old = this.writer;
    this.writer = writer;
    this.format = format;
    return old;
  }

  write(line: string): void {
    this.writer.write(this.format === 'text' ? textLine(line) : line);
  }

  /** pino's logger.flush(cb) calls this: resolves once the lines so far are written. */
  flush(cb?: (err?: Error) => void): void {
    this.writer.flush().then(() => cb?.(), cb);
  }
}

/** The error log stream behind a logger made by createLogger (children share it). */
export function errorLogStream(logger: Logger): ErrorLogStream | undefined {
  const s = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return s instanceof ErrorLogStream ? s : undefined;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = pinoLevel(opts.level ?? 'warn');
  const writer = new LogWriter(opts.path ?? '-');
  const stream = new ErrorLogStream(writer, opts.format ?? 'json');
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The level by name (Apache's: "warn", "error", "crit"), not pino's number.
      formatters: { level: (label, n) => ({ level: APACHE_NAMES[n] ?? label }) },
    },
    stream,
  );
}

/** Sets the level of a logger (and its children) from an Apache LogLevel. */
export function setLogLevel(logger: Logger, apacheLevel: string): void {
  logger.level = pinoLevel(apacheLevel);
}

/** A logger that drops everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Collects log lines in memory (tests): `lines` are the parsed objects. */
export function memoryLogger(level = 'debug'): { logger: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const logger = pino({ level: pinoLevel(level), base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}
