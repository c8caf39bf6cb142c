// The error log: structured (pino), Apache's LogLevel names, stdout by default.
import pino, { type Logger } from 'pino';

export type { Logger };

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

export function pinoLevel(apacheLevel: string): pino.Level {
  return LEVELS[apacheLevel.toLowerCase()] ?? 'warn';
}

export interface LoggerOptions {
  /** A file path, or '-' for stdout. */
  path?: string;
  level?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = pinoLevel(opts.level ?? 'warn');
  const dest = !opts.path || opts.path === '-' ? pino.destination(1) : pino.destination({ dest: opts.path, mkdir: true, sync: false });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/** A logger that drops everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
