// `stickylb check -c FILE`: validates a config (YAML, JSON or Apache syntax), prints every
// diagnostic as file:line: severity: message, then the effective setup in plain words.
// Exit 0 when the config is usable (warnings allowed unless --strict), 1 on errors, 2 on usage.
import type { Command } from './command.js';
import { configFileArgs } from './args.js';
import { analyseConfigFile } from '../config/analyse.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { describeConfig, renderSetup } from '../config/describe.js';
import { probeRoutes, renderProbes, type RouteProbe } from './probe-routes.js';

const HELP = `usage: stickylb check [-c] FILE [--format yaml|json|apache] [--strict] [--json] [--quiet] [--probe [--probe-path PATH]]

Checks a config file and prints what it sets up.
  -c, --config FILE   the config file (or give it as the only argument)
  --format FORMAT     yaml, json or apache (default: from the file name; .conf is apache)
  --strict            fail (exit 1) on warnings too
  --json              print the diagnostics and the setup as JSON
  --quiet             print only errors and warnings, not notes or the setup
  --probe             send one request to each member of every sticky balancer and report the
                      route of the session id it issues (a wrong route or none fails the check)
  --probe-path PATH   the path to request (default: the balancer's ProxyPass target path)
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
      probe: { type: 'boolean' },
      'probe-path': { type: 'string' },
    });
    if (typeof parsed === 'number') return parsed;
    const { values, file, format } = parsed;
    const a = analyseConfigFile(file, { format });
    const probePath = values['probe-path'] as string | undefined;
    const probes: RouteProbe[] | undefined = (values.probe || probePath !== undefined) && a.model ? await probeRoutes(a.model, { path: probePath }) : undefined;
    const wrongRoutes = probes?.filter((p) => p.verdict === 'mismatch' || p.verdict === 'no-route').length ?? 0;
    const probeWarnings = probes?.filter((p) => p.verdict === 'unreachable' || p.verdict === 'no-session').length ?? 0;
    const failed = a.errors > 0 || wrongRoutes > 0 || (values.strict === true && a.warnings + probeWarnings > 0);
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
            probes,
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
      : wrongRoutes
        ? `loads, but ${plural(wrongRoutes, 'member')} issue${wrongRoutes === 1 ? 's' : ''} session ids without their route (see the route probe below)`
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
    if (probes && a.model) {
      console.log('');
      console.log(renderProbes(probes, a.model));
    }
    return failed ? 1 : 0;
  },
};
