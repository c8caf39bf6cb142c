// Everything `check` and `convert` need to know about a config file, errors included: the
// front end's diagnostics, the schema's, the lints, and the model when there is one. Never
// throws for a bad config and never prints.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { ConfigModel } from './model.js';
import { ConfigError, unreadableFile, type Diagnostic, type SourceMap } from './diagnostics.js';
import { formatFor, parseConfigText, type ConfigFormat } from './load.js';
import { validateConfig } from './validate.js';
import { lintConfig } from './lint.js';
import { lintTls } from '../tls/lint.js';
import { configSchema } from './schema.js';
import { salvage } from './salvage.js';

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
    try {
      result.model = validateConfig(parsed.raw, { source: resolvePath(file), sourceMap: parsed.sourceMap });
    } catch (e) {
      fail(e);
      // The schema refused something: say what the rest would still give.
      if (!configSchema.safeParse(parsed.raw).success) diagnostics.push(...salvaged(parsed.raw, parsed.sourceMap, file, result.format));
      return finish(result);
    }
    diagnostics.push(...lintConfig(result.model, { raw: parsed.raw, sourceMap: parsed.sourceMap, file, format: result.format }));
    diagnostics.push(...lintTls(result.model, { raw: parsed.raw, sourceMap: parsed.sourceMap, file }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code && !(e instanceof ConfigError) && (e as NodeJS.ErrnoException).syscall) {
      diagnostics.push(unreadableFile(file, resolvePath(file), e as NodeJS.ErrnoException));
    } else fail(e);
  }
  return finish(result);
}

/**
 * Resolve errors and lint findings of a config the schema refused, from what is left once the
 * refused values are taken out; findings about the refused values themselves are left out.
 */
function salvaged(raw: unknown, sourceMap: SourceMap | undefined, file: string, format: ConfigFormat | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const drop: string[] = [];
  // Resolve errors are reported, and their values taken out in turn, until the rest resolves and
  // can be linted.
  for (let round = 0; round < 4; round++) {
    const s = salvage(raw, sourceMap, { drop });
    if (s.raw === undefined) return out;
    const under = (p: string | undefined) => p !== undefined && s.refused.some((r) => p === r || p.startsWith(`${r}.`) || p.startsWith(`${r}[`));
    const back = (d: Diagnostic): Diagnostic | undefined => {
      if (!d.path) return { ...d, file: d.file ?? file };
      const orig = s.original(d.path);
      if (orig === undefined || under(orig)) return undefined;
      return { ...d, file: d.file ?? file, path: orig, message: d.message.split(d.path).join(orig) };
    };
    let model: ConfigModel;
    try {
      model = validateConfig(s.raw, { source: resolvePath(file), sourceMap: s.sourceMap });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const found = e.diagnostics.map(back).filter((d): d is Diagnostic => d !== undefined);
      out.push(...found);
      const more = found.map((d) => d.path).filter((p): p is string => p !== undefined && !drop.includes(p));
      if (!more.length) return out;
      drop.push(...more);
      continue;
    }
    out.push(...lintConfig(model, { raw: s.raw, sourceMap: s.sourceMap, file, format }).map(back).filter((d): d is Diagnostic => d !== undefined));
    return out;
  }
  return out;
}

function finish(result: Analysis): Analysis {
  const diagnostics = result.diagnostics;
  // Files in the order they were first named, then by line; errors before warnings on a line.
  const order = [...new Set(diagnostics.map((d) => d.file))];
  diagnostics.sort(
    (a, b) => order.indexOf(a.file) - order.indexOf(b.file) || (a.line ?? 0) - (b.line ?? 0) || RANK[a.severity] - RANK[b.severity],
  );
  result.errors = diagnostics.filter((d) => d.severity === 'error').length;
  result.warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  return result;
}
