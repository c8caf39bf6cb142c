// Everything `check` and `convert` need to know about a config file, errors included: the
// front end's diagnostics, the schema's, the lints, and the model when there is one. Never
// throws for a bad config and never prints.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { ConfigModel } from './model.js';
import { ConfigError, type Diagnostic, type SourceMap } from './diagnostics.js';
import { formatFor, parseConfigText, type ConfigFormat } from './load.js';
import { validateConfig } from './validate.js';
import { lintConfig } from './lint.js';

export interface Analysis {
  file: string;
  format?: ConfigFormat;
  /** Front end, schema and lint diagnostics, errors first within each line. */
  diagnostics: Diagnostic[];
  raw?: unknown;
  sourceMap?: SourceMap;
  /** Present when the raw object passed the schema (even if the front end had errors). */
  model?: ConfigModel;
  errors: number;
  warnings: number;
}

const RANK = { error: 0, warning: 1, info: 2 } as const;

export function analyseConfigFile(file: string, opts: { format?: string } = {}): Analysis {
  const diagnostics: Diagnostic[] = [];
  const result: Analysis = { file, diagnostics, errors: 0, warnings: 0 };
  const fail = (e: unknown) => {
    if (!(e instanceof ConfigError)) throw e;
    for (const d of e.diagnostics) diagnostics.push({ ...d, file: d.file ?? file });
  };
  try {
    result.format = formatFor(file, opts.format);
    const text = readFileSync(resolvePath(file), 'utf8');
    const parsed = parseConfigText(text, file, result.format);
    diagnostics.push(...parsed.diagnostics.map((d) => ({ ...d, file: d.file ?? file })));
    result.raw = parsed.raw;
    result.sourceMap = parsed.sourceMap;
    result.model = validateConfig(parsed.raw, { source: resolvePath(file), sourceMap: parsed.sourceMap });
    diagnostics.push(...lintConfig(result.model, { raw: parsed.raw, sourceMap: parsed.sourceMap, file }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code && !(e instanceof ConfigError) && (e as NodeJS.ErrnoException).syscall) {
      diagnostics.push({ severity: 'error', file, message: `cannot read config file: ${(e as NodeJS.ErrnoException).code}` });
    } else fail(e);
  }
  // Files in the order they were first named, then by line; errors before warnings on a line.
  const order = [...new Set(diagnostics.map((d) => d.file))];
  diagnostics.sort(
    (a, b) => order.indexOf(a.file) - order.indexOf(b.file) || (a.line ?? 0) - (b.line ?? 0) || RANK[a.severity] - RANK[b.severity],
  );
  result.errors = diagnostics.filter((d) => d.severity === 'error').length;
  result.warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  return result;
}
