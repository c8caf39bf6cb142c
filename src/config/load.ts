// Loading a config file: picks the front end by extension (or --format) and runs the one gate.
import { readFileSync } from 'node:fs';
import { extname, resolve as resolvePath } from 'node:path';
import { parseDocument } from 'yaml';
import type { ConfigModel } from './model.js';
import { validateConfig } from './validate.js';
import { ConfigError, codeFrame, lineColumn, unreadableFile, type Diagnostic, type SourceMap } from './diagnostics.js';
import type { ConfigFormat, FrontEnd, FrontEndResult } from './front-end.js';
import { apacheFrontEnd } from './apache/index.js';

export type { ConfigFormat, FrontEnd, FrontEndResult } from './front-end.js';

export interface LoadResult {
  model: ConfigModel;
  /** Warnings and notes from the front end (errors throw ConfigError instead). */
  diagnostics: Diagnostic[];
  /** The raw object the front end produced (what `convert` prints). */
  raw: unknown;
}

const frontEnds = new Map<ConfigFormat, FrontEnd>();

/** Front ends register themselves here (the Apache one lives in config/apache/). */
export function registerFrontEnd(format: ConfigFormat, fe: FrontEnd): void {
  frontEnds.set(format, fe);
}

export function formatFor(file: string, explicit?: string): ConfigFormat {
  if (explicit) {
    if (explicit === 'yaml' || explicit === 'json' || explicit === 'apache') return explicit;
    throw new ConfigError([{ severity: 'error', message: `--format ${explicit}: accepted: yaml, json, apache` }]);
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.conf') return 'apache';
  if (ext === '.json') return 'json';
  return 'yaml';
}

function yamlFrontEnd(text: string, file: string): FrontEndResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  if (doc.errors.length) {
    // The parser often reports one mistake several times at one place: say it once.
    const places = new Set<string>();
    const errors = doc.errors.filter((e) => {
      const at = `${e.linePos?.[0]?.line}:${e.linePos?.[0]?.col}`;
      if (places.has(at)) return false;
      places.add(at);
      return true;
    });
    throw new ConfigError(
      errors.map((e) => {
        const at = e.linePos?.[0];
        return {
          severity: 'error' as const,
          file,
          line: at?.line,
          column: at?.col,
          // The library's message ends with "at line L, column C:" and its own excerpt.
          message: `YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
          frame: at ? codeFrame(text, at.line, at.col) : undefined,
          code: 'yaml-syntax',
        };
      }),
    );
  }
  for (const w of doc.warnings) diagnostics.push({ severity: 'warning', file, line: w.linePos?.[0]?.line, message: w.message.split('\n')[0] });
  // Record the line of every node so schema errors can name file:line.
  const sourceMap: SourceMap = new Map();
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  const walk = (node: any, path: string) => {
    if (!node || typeof node !== 'object') return;
    if (node.range) sourceMap.set(path || '(top level)', { file, line: lineOf(node.range[0]) });
    if (Array.isArray(node.items)) {
      node.items.forEach((item: any, i: number) => {
        if (item && item.key !== undefined) {
          const key = String(item.key?.value ?? item.key);
          const p = path ? `${path}.${key}` : key;
          if (item.key?.range) sourceMap.set(p, { file, line: lineOf(item.key.range[0]) });
          walk(item.value, p);
        } else {
          walk(item, `${path}[${i}]`);
        }
      });
    }
  };
  walk(doc.contents, '');
  return { raw: doc.toJS() ?? {}, diagnostics, sourceMap };
}

function jsonFrontEnd(text: string, file: string): FrontEndResult {
  try {
    return { raw: JSON.parse(text), diagnostics: [] };
  } catch (e) {
    // V8 says where: "… at position N" (and "(line L column C)" in newer versions).
    const msg = (e as Error).message;
    const pos = /at position (\d+)/.exec(msg);
    const at = pos ? lineColumn(text, Number(pos[1])) : /unexpected end/i.test(msg) ? lineColumn(text, text.replace(/\s+$/, '').length) : undefined;
    const what = msg.replace(/ in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '');
    throw new ConfigError([
      { severity: 'error', file, line: at?.line, column: at?.column, message: `not valid JSON: ${what}`, frame: at ? codeFrame(text, at.line, at.column) : undefined, code: 'json-syntax' },
    ]);
  }
}

registerFrontEnd('yaml', yamlFrontEnd);
registerFrontEnd('json', jsonFrontEnd);
registerFrontEnd('apache', apacheFrontEnd);

/** Parses text in a format to a raw object, without validating it. */
export function parseConfigText(text: string, file: string, format: ConfigFormat): FrontEndResult {
  const fe = frontEnds.get(format);
  if (!fe) throw new ConfigError([{ severity: 'error', file, message: `no front end for format ${format}` }]);
  return fe(text, file);
}

/** Reads, parses and validates a config file. Throws ConfigError with file:line diagnostics. */
export function loadConfigFile(file: string, opts: { format?: string } = {}): LoadResult {
  const abs = resolvePath(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError([unreadableFile(file, abs, e as NodeJS.ErrnoException)]);
  }
  const format = formatFor(file, opts.format);
  const { raw, diagnostics, sourceMap } = parseConfigText(text, file, format);
  // A front end reports what it could not read as errors and still returns the rest (so
  // `check` can show it); loading must not go on with a half-read config.
  const frontEndErrors = diagnostics.filter((d) => d.severity === 'error');
  try {
    const model = validateConfig(raw, { source: abs, sourceMap });
    if (frontEndErrors.length) throw new ConfigError(frontEndErrors);
    return { model, diagnostics, raw };
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const d of e.diagnostics) d.file ??= file;
      throw new ConfigError([...new Set([...frontEndErrors, ...e.diagnostics])]);
    }
    throw e;
  }
}
