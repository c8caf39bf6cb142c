// Config diagnostics: errors stop a config from loading, warnings are reported and allowed.

export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  file?: string;
  line?: number;
  /** Column (1-based) on `line`, when the front end knows it (syntax errors). */
  column?: number;
  /** The lines around the place, with a caret under the column (syntax errors). */
  frame?: string;
  /** The directive (Apache front end) or setting the diagnostic is about. */
  directive?: string;
  /** Config path in the model (`balancers.c.members[1].loadfactor`). */
  path?: string;
  message: string;
  /** Stable code for tests and --json output, e.g. `member-without-url`. */
  code?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: ` : '';
  const directive = d.directive && !d.message.includes(d.directive) ? `${d.directive}: ` : '';
  return `${where}${d.severity}: ${directive}${d.message}${d.frame ? `\n${d.frame}` : ''}`;
}

/**
 * The lines of `text` up to `line` (1-based; at most two before it) with a caret under `column`,
 * each prefixed by its number, as compilers show a syntax error.
 */
export function codeFrame(text: string, line: number, column: number): string {
  const lines = text.split(/\r?\n/);
  const first = Math.max(1, line - 2);
  const width = String(line).length;
  const out: string[] = [];
  for (let n = first; n <= Math.min(line, lines.length); n++) out.push(`  ${String(n).padStart(width)} | ${lines[n - 1].replace(/\t/g, ' ')}`);
  out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  return out.join('\n');
}

/** 1-based line and column of a character offset in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const nl = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: before.length - nl };
}

/** A config file that cannot be read, said plainly: no such file, permission denied, a directory. */
export function unreadableFile(file: string, abs: string, e: NodeJS.ErrnoException): Diagnostic {
  const why: Record<string, string> = {
    ENOENT: `no such file: ${abs}`,
    EACCES: `permission denied: ${abs}`,
    EPERM: `permission denied: ${abs}`,
    EISDIR: `${abs} is a directory, not a config file`,
    ENOTDIR: `no such file: ${abs} (a part of the path is not a directory)`,
  };
  return { severity: 'error', file, message: why[e.code ?? ''] ?? `cannot read config file ${abs}: ${e.code ?? e.message}`, code: 'unreadable-file' };
}

export class ConfigError extends Error {
  readonly code = 'ERR_STICKYLB_CONFIG';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n') || 'invalid configuration');
    this.name = 'ConfigError';
  }
}

/** Parses a duration (seconds as number, or "500ms", "30s", "5m", "1h") into milliseconds. */
export function durationMs(v: number | string | undefined, fallbackMs: number): number {
  if (v === undefined) return fallbackMs;
  if (typeof v === 'number') return Math.round(v * 1000);
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(v.trim());
  if (!m) return fallbackMs;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const mult = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * mult);
}

/** Where each config path came from (file:line), filled by front ends that know it. */
export type SourceMap = Map<string, { file: string; line: number; directive?: string }>;

/** `['balancers','c','members',1,'loadfactor']` to `balancers.c.members[1].loadfactor`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out || '(top level)';
}
