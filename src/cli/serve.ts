// Running an App in the foreground: print where it listens, reload on SIGHUP (when the config
// came from a file), stop on SIGINT/SIGTERM after in-flight requests finish.
import type { ConfigModel } from '../config/model.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { App } from '../app.js';
import { LOGS } from '../log/logs-key.js';

export interface ServeOptions {
  /** Config file to re-read on SIGHUP. */
  file?: string;
  format?: string;
  /** How long in-flight requests may take to finish on shutdown. */
  graceMs?: number;
  /** Extra lines printed once the balancer listens. */
  banner?: (app: App) => string[];
}

export async function serve(model: ConfigModel, opts: ServeOptions = {}): Promise<number> {
  let app: App;
  try {
    app = await App.start(model);
  } catch (e) {
    console.error(`stickylb: cannot start: ${(e as Error).message}`);
    return 1;
  }
  // logrotate's postrotate sends SIGUSR1: reopen the log files.
  app.get(LOGS)?.installSignalHandler();
  for (const a of app.addresses) console.log(`stickylb listening on ${a.tls ? 'https' : 'http'}://${a.host ?? '0.0.0.0'}:${a.port}`);
  for (const line of opts.banner?.(app) ?? []) console.log(line);

  let reloading = Promise.resolve();
  const onHup = () => {
    if (!opts.file) return;
    const file = opts.file;
    reloading = reloading.then(async () => {
      try {
        const next = loadConfigFile(file, { format: opts.format });
        await app.reload(next.model);
        app.logger.info({ file }, `configuration reloaded from ${file}`);
      } catch (e) {
        const diags = e instanceof ConfigError ? e.diagnostics.map(formatDiagnostic) : [(e as Error).message];
        app.logger.error({ file, diagnostics: diags }, `reload refused, the running configuration stays:\n${diags.join('\n')}`);
      }
    });
  };
  process.on('SIGHUP', onHup);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.logger.warn(`${signal}: stopping; in-flight requests may finish`);
      app.close(opts.graceMs ?? 10_000).then(
        () => {
          process.off('SIGHUP', onHup);
          resolve(0);
        },
        (e) => {
          console.error(`stickylb: error while stopping: ${(e as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
