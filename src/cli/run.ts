// `stickylb run -c FILE`: start the balancer (and the nodes of a `nodes:` section).
import type { Command } from './command.js';
import { configFileArgs } from './args.js';
import { loadConfigInChild } from '../config/load-child.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';

const HELP = `usage: stickylb run [-c] FILE [--format yaml|json|apache]

Starts the balancer (and the nodes of a nodes: section).
  -c, --config FILE   the config file (or give it as the only argument)
  --format FORMAT     yaml, json or apache (default: from the file name; .conf is apache)
SIGHUP reloads FILE, SIGUSR1 reopens the log files, SIGINT/SIGTERM stop after in-flight
requests finish.`;

export const runCommand: Command = {
  summary: 'start the balancer',
  async run(args) {
    const parsed = configFileArgs('run', HELP, args, {});
    if (typeof parsed === 'number') return parsed;
    const { file, format } = parsed;
    // The child process validates the config while this one loads the code that serves it.
    const loading = loadConfigInChild(file, { format });
    loading.catch(() => undefined);
    const { serve } = await import('./serve.js');
    let loaded;
    try {
      loaded = await loading;
    } catch (e) {
      if (e instanceof ConfigError) {
        for (const d of e.diagnostics) console.error(formatDiagnostic(d));
        console.error(`stickylb: ${file}: not started, the configuration has errors`);
        return 1;
      }
      throw e;
    }
    for (const d of loaded.diagnostics) if (d.severity === 'warning') console.error(formatDiagnostic(d));
    return serve(loaded.model, { file, format });
  },
};
