// Config diagnostics: errors stop a config from loading, warnings are reported and allowed.

export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  file?: string;
  line?: number;
  /** The directive (Apache front end) or setting the diagnostic is about. */
  directive?: string;
  /** Config path in the model (`balancers.c.members[1].loadfactor`). */
  path?: string;
  message: string;
  /** Stable code for tests and --json output, e.g. `member-without-url`. */
  code?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}` : ''}: ` : '';
  const directive = d.directive && !d.message.includes(d.directive) ? `${d.directive}: ` : '';
  return `${where}${d.severity}: ${directive}${d.message}`;
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
