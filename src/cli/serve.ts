// Running an App in the foreground: print where it listens, reload on SIGHUP (when the config
// came from a file), stop on SIGINT/SIGTERM after in-flight requests finish. With `workers:` this
// process is the owner of worker processes (src/workers): the same signals, passed on to them,
// and SIGUSR2 replaces them with workers on the code installed now.
import type { ConfigModel } from '../config/model.js';
import { loadConfigInChild } from '../config/load-child.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { App, defaultPlugins } from '../app.js';
import { LOGS } from '../log/logs-key.js';
import { version } from '../manager/version.js';
import { processPlugin, type ProcessControl, type ReloadOutcome } from '../workers/process-plugin.js';
import type { Owner } from '../workers/start-owner.js';
import type { WorkerPool } from '../workers/owner.js';
import { startIdleTrim } from '../util/idle-memory.js';

export interface ServeOptions {
  /** Config file to re-read on SIGHUP. */
  file?: string;
  format?: string;
  /** How long in-flight requests may take to finish on shutdown (default: the config's). */
  graceMs?: number;
  /** Extra lines printed once the balancer listens. */
  banner?: (app: App) => string[];
}

export async function serve(model: ConfigModel, opts: ServeOptions = {}): Promise<number> {
  const graceMs = opts.graceMs ?? model.gracefulShutdownTimeoutMs;
  const startedAt = Date.now();
  let app!: App;
  let owner: Owner | undefined;
  // The worker pool exists before the owner's plugins are set up (they may ask how many workers serve).
  let pool: WorkerPool | undefined;
  let reloading = Promise.resolve<ReloadOutcome>({ ok: true, message: '' });

  const reloadFile = (): Promise<ReloadOutcome> => {
    reloading = reloading.then(async () => {
      if (!opts.file) return { ok: false, message: 'the configuration did not come from a file' };
      const file = opts.file;
      try {
        const next = await loadConfigInChild(file, { format: opts.format });
        const problems = owner ? await owner.reload(next.model) : (await app.reload(next.model), []);
        for (const p of problems) app.logger.error({ file }, `reload: ${p}`);
        app.logger.info({ file }, `configuration reloaded from ${file}`);
        return { ok: problems.length === 0, message: problems.length ? problems.join('; ') : `configuration reloaded from ${file}` };
      } catch (e) {
        const diags = e instanceof ConfigError ? e.diagnostics.map(formatDiagnostic) : [(e as Error).message];
        app.logger.error({ file, diagnostics: diags }, `reload refused, the running configuration stays:\n${diags.join('\n')}`);
        return { ok: false, message: `reload refused, the running configuration stays: ${diags.join('; ')}` };
      }
    });
    return reloading;
  };
  const control: ProcessControl = {
    reload: reloadFile,
    view: () => pool?.view() ?? { owner: { pid: process.pid, version: version(), startedAt }, generation: 1, count: 0, replacing: false, workers: [] },
    upgrade: model.workers ? () => owner!.upgrade() : undefined,
    settled: model.workers ? () => owner!.pool.settled() : undefined,
  };

  try {
    const plugins = await defaultPlugins({ process: processPlugin(control) });
    if (model.workers) {
      const { startOwner } = await import('../workers/start-owner.js');
      owner = await startOwner(model, { plugins, graceMs, onPool: (p) => (pool = p) });
      app = owner.app;
    } else {
      app = await App.start(model, { plugins });
    }
  } catch (e) {
    console.error(`stickylb: cannot start: ${(e as Error).message}`);
    return 1;
  }
  const signals: [string, () => void][] = [];
  const on = (signal: NodeJS.Signals, fn: () => void) => {
    process.on(signal, fn);
    signals.push([signal, fn]);
  };
  // logrotate's postrotate sends SIGUSR1: reopen the log files (every worker's too).
  if (owner) {
    const o = owner;
    on('SIGUSR1', () => void o.reopenLogs());
    // As nginx's binary upgrade: new workers on the code installed now, the old ones drain.
    on('SIGUSR2', () => void o.upgrade().then((r) => app.logger.warn(`SIGUSR2: ${r.message}`)));
  } else {
    app.get(LOGS)?.installSignalHandler();
  }
  on('SIGHUP', () => void reloadFile());
  // The memory a burst of requests grew is given back once the process goes quiet.
  const idleTrim = process.env.STICKYLB_IDLE_TRIM === '0' ? { stop() {} } : startIdleTrim();

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.logger.warn(`${signal}: stopping; in-flight requests may finish`);
      (owner ? owner.close(graceMs) : app.close(graceMs)).then(
        () => {
          idleTrim.stop();
          for (const [s, fn] of signals) process.off(s, fn);
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
    // Announced once every signal is handled: a supervisor that reloads or stops the process as
    // soon as it reads this line must not meet a signal's default action (the process killed).
    for (const a of app.addresses) console.log(`stickylb listening on ${a.tls ? 'https' : 'http'}://${a.host ?? '0.0.0.0'}:${a.port}`);
    if (owner) console.log(`stickylb: ${owner.pool.count} worker process${owner.pool.count === 1 ? '' : 'es'} (owner pid ${process.pid})`);
    for (const line of opts.banner?.(app) ?? []) console.log(line);
  });
}
