// `stickylb convert site.conf`: prints the equivalent YAML config (it loads to the same model).
// Diagnostics go to standard error; a config with errors is not converted.
import { writeFileSync } from 'node:fs';
import { dirname, relative, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document } from 'yaml';
import type { Command } from './command.js';
import { configFileArgs } from './args.js';
import { analyseConfigFile } from '../config/analyse.js';
import { formatDiagnostic, type Diagnostic } from '../config/diagnostics.js';

const HELP = `usage: stickylb convert [-c] FILE [--format yaml|json|apache] [-o OUT.yaml]

Prints FILE (an Apache .conf, or JSON) as a stickylb YAML config that loads to the same setup.
  -c, --config FILE   the config file (or give it as the only argument)
  --format FORMAT     yaml, json or apache (default: from the file name; .conf is apache)
  -o, --output FILE   write the YAML to FILE instead of standard output
  --verbose           also list the ignored directives on standard error
Exit status: 0 converted, 1 the config has errors, 2 wrong usage.`;

/** Where the package's JSON Schema lives (same place from src/cli and dist/cli). */
export const SCHEMA_FILE = fileURLToPath(new URL('../../schema/stickylb.schema.json', import.meta.url));

/** The YAML text of a raw config, with a header naming its origin and the schema. */
export function toYaml(raw: unknown, opts: { from: string; schemaRef?: string; warnings?: Diagnostic[] }): string {
  const doc = new Document(raw);
  const header = [`Converted from ${opts.from} by stickylb convert.`];
  if (opts.warnings?.length) {
    header.push('Warnings about the original (stickylb check explains more):');
    for (const w of opts.warnings) header.push(`  ${formatDiagnostic(w)}`);
  }
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  const text = doc.toString({ lineWidth: 0 });
  return opts.schemaRef ? `# yaml-language-server: $schema=${opts.schemaRef}\n${text}` : text;
}

export const convertCommand: Command = {
  summary: 'print an Apache config as stickylb YAML',
  async run(args) {
    const parsed = configFileArgs('convert', HELP, args, {
      output: { type: 'string', short: 'o' },
      verbose: { type: 'boolean' },
    });
    if (typeof parsed === 'number') return parsed;
    const { values, file, format } = parsed;
    const a = analyseConfigFile(file, { format });
    const shown = values.verbose ? a.diagnostics : a.diagnostics.filter((d) => d.severity !== 'info');
    for (const d of shown) console.error(formatDiagnostic(d));
    if (a.errors || !a.model) {
      console.error(`stickylb convert: ${file} has errors; nothing converted (stickylb check ${file} explains them)`);
      return 1;
    }
    const out = values.output as string | undefined;
    const base = out ? dirname(resolvePath(out)) : process.cwd();
    let schemaRef = relative(base, SCHEMA_FILE).split(sep).join('/');
    if (!schemaRef.startsWith('.')) schemaRef = `./${schemaRef}`;
    const warnings = a.diagnostics.filter((d) => d.severity === 'warning');
    const yaml = toYaml(a.raw, { from: file, schemaRef, warnings });
    if ((a.raw as { persist?: unknown }).persist === true) {
      console.error(`stickylb convert: BalancerPersist On: the YAML config keeps manager changes in <its file>.state.json, not in ${file}.state.json; rename the state file to keep them`);
    }
    if (out) writeFileSync(out, yaml);
    else process.stdout.write(yaml);
    return 0;
  },
};
