// `stickylb run -c FILE`: start the balancer; SIGHUP reloads the config, SIGINT/SIGTERM stop
// taking connections, let in-flight requests finish, then exit.
import type { Command } from './main.js';
import { parse } from './args.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { App } from '../app.js';

export const runCommand: Command = {
  summary: 'start the balancer',
  async run(args) {
    const { values, positionals } = parse(args, {
      config: { type: 'string', short: 'c' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log('usage: stickylb run -c FILE [--format yaml|json|apache]');
      return 0;
    }
    const file = (values.config as string | undefined) ?? positionals[0];
    if (!file) {
      console.error('stickylb run: no config file given (use -c FILE)');
      return 2;
    }
    let loaded;
    try {
      loaded = loadConfigFile(file, { format: values.format as string | undefined });
    } catch (e) {
      if (e instanceof ConfigError) {
        for (const d of e.diagnostics) console.error(formatDiagnostic(d));
        console.error(`stickylb: ${file}: not started, the configuration has errors`);
        return 1;
      }
      throw e;
    }
    for (const d of loaded.diagnostics) if (d.severity === 'warning') console.error(formatDiagnostic(d));
    let app: App;
    try {
      app = await App.start(loaded.model);
    } catch (e) {
      console.error(`stickylb: cannot start: ${(e as Error).message}`);
      return 1;
    }
    for (const a of app.addresses) console.log(`stickylb listening on http://${a.host ?? '0.0.0.0'}:${a.port}`);

    let reloading = Promise.resolve();
    process.on('SIGHUP', () => {
      reloading = reloading.then(async () => {
        try {
          const next = loadConfigFile(file, { format: values.format as string | undefined });
          await app.reload(next.model);
          app.logger.warn({ file }, `configuration reloaded from ${file}`);
        } catch (e) {
          const diags = e instanceof ConfigError ? e.diagnostics.map(formatDiagnostic) : [(e as Error).message];
          app.logger.error({ file, diagnostics: diags }, `reload refused, the running configuration stays:\n${diags.join('\n')}`);
        }
      });
    });

    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        app.logger.warn(`${signal}: stopping (in-flight requests may finish)`);
        app.close(10_000).then(
          () => resolve(0),
          () => resolve(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
  },
};
