// `stickylb run -c FILE`: start the balancer (and the nodes of a `nodes:` section).
import type { Command } from './main.js';
import { parse } from './args.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { serve } from './serve.js';

export const runCommand: Command = {
  summary: 'start the balancer',
  async run(args) {
    const { values, positionals } = parse(args, {
      config: { type: 'string', short: 'c' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log('usage: stickylb run -c FILE [--format yaml|json|apache]\n\nSIGHUP reloads FILE; SIGINT/SIGTERM stop after in-flight requests finish.');
      return 0;
    }
    const file = (values.config as string | undefined) ?? positionals[0];
    if (!file) {
      console.error('stickylb run: no config file given (use -c FILE)');
      return 2;
    }
    const format = values.format as string | undefined;
    let loaded;
    try {
      loaded = loadConfigFile(file, { format });
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
