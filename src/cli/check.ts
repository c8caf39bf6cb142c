// `stickylb check -c FILE`: validates a config (YAML, JSON or Apache syntax), prints every
// diagnostic as file:line: severity: message, then the effective setup in plain words.
// Exit 0 when the config is usable (warnings allowed unless --strict), 1 on errors, 2 on usage.
import type { Command } from './command.js';
import { configFileArgs } from './args.js';
import { analyseConfigFile } from '../config/analyse.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { describeConfig, renderSetup } from '../config/describe.js';

const HELP = `usage: stickylb check [-c] FILE [--format yaml|json|apache] [--strict] [--json] [--quiet]

Checks a config file and prints what it sets up.
  -c, --config FILE   the config file (or give it as the only argument)
  --format FORMAT     yaml, json or apache (default: from the file name; .conf is apache)
  --strict            fail (exit 1) on warnings too
  --json              print the diagnostics and the setup as JSON
  --quiet             print only errors and warnings, not notes or the setup
Exit status: 0 usable, 1 errors (or warnings with --strict), 2 wrong usage.`;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export const checkCommand: Command = {
  summary: 'validate a config and print the effective setup',
  async run(args) {
    const parsed = configFileArgs('check', HELP, args, {
      strict: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    });
    if (typeof parsed === 'number') return parsed;
    const { values, file, format } = parsed;
    const a = analyseConfigFile(file, { format });
    const failed = a.errors > 0 || (values.strict === true && a.warnings > 0);
    const setup = a.model ? describeConfig(a.model) : undefined;

    if (values.json) {
      const { source: _source, ...model } = a.model ?? {};
      console.log(
        JSON.stringify(
          {
            file,
            format: a.format,
            ok: !failed,
            errors: a.errors,
            warnings: a.warnings,
            diagnostics: a.diagnostics,
            setup,
            model: a.model ? model : undefined,
          },
          null,
          2,
        ),
      );
      return failed ? 1 : 0;
    }

    const shown = values.quiet ? a.diagnostics.filter((d) => d.severity !== 'info') : a.diagnostics;
    for (const d of shown) console.log(formatDiagnostic(d));
    const notes = a.diagnostics.length - a.errors - a.warnings;
    const counts = [plural(a.errors, 'error'), plural(a.warnings, 'warning'), plural(notes, 'note')].join(', ');
    const verdict = a.errors
      ? 'not usable'
      : failed
        ? 'usable, but --strict fails on warnings'
        : 'usable';
    if (shown.length) console.log('');
    console.log(`${file}: ${verdict} (${counts})`);
    if (setup && !values.quiet) {
      if (a.errors) console.log('\nWhat the rest of the file sets up, with the lines above left out:');
      console.log('');
      console.log(renderSetup(setup));
    }
    return failed ? 1 : 0;
  },
};
