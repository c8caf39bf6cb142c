// `stickylb run` with `workers:`: this process becomes the owner. It starts the App without
// opening the listeners (state, manager, health checks, launcher, rolling restarts, persistence,
// all plugins), then the worker processes, which listen and serve.
import { App } from '../app.js';
import type { ConfigModel, ListenerModel } from '../config/model.js';
import type { Plugin } from '../plugin/contract.js';
import { LOGS } from '../log/logs-key.js';
import { WorkerPool } from './owner.js';
import type { ReloadOutcome } from './process-plugin.js';

export interface Owner {
  readonly app: App;
  readonly pool: WorkerPool;
  readonly addresses: ListenerModel[];
  /** The owner takes the new config, then every worker does. Resolves with what went wrong. */
  reload(next: ConfigModel): Promise<string[]>;
  /** Reopens the owner's log files and every worker's. */
  reopenLogs(): Promise<void>;
  /** New workers on the code installed now; the old ones drain. */
  upgrade(): Promise<ReloadOutcome>;
  /** Workers stop first (in-flight requests finish), then the owner's plugins (the launcher's nodes last). */
  close(graceMs: number): Promise<void>;
}

export interface OwnerOptions {
  plugins: Plugin[];
  graceMs: number;
  /** Called with the pool before the App starts, so its plugins can show the workers from the start. */
  onPool?: (pool: WorkerPool) => void;
}

export async function startOwner(model: ConfigModel, opts: OwnerOptions): Promise<Owner> {
  const workers = model.workers!;
  const pool = new WorkerPool({ count: workers.count, graceMs: opts.graceMs });
  opts.onPool?.(pool);
  // The workers load their code while the owner sets up.
  pool.prefork(workers.nodeArgs);
  let app: App;
  try {
    app = await App.start(model, { plugins: opts.plugins, listen: false });
  } catch (e) {
    await pool.stop(0);
    throw e;
  }
  // server-status and metrics read the listener figures: those of all workers together.
  app.server.stats = () => pool.stats();
  let addresses: ListenerModel[];
  try {
    addresses = await pool.start(app);
  } catch (e) {
    await app.close(0).catch(() => undefined);
    throw e;
  }
  app.addresses = addresses;
  // Plugins that wait for the listeners (ACME orders) go on now.
  app.server.emit('listening', addresses);
  return {
    app,
    pool,
    addresses,
    async reload(next) {
      const previous = app.config;
      if (!next.workers) return ['workers: a configuration without workers needs a restart of stickylb; the workers go on'];
      await app.reload(next);
      return pool.reload(previous, next, next.workers.count);
    },
    async reopenLogs() {
      await Promise.all([app.get(LOGS)?.reopen(), pool.reopenLogs()]);
    },
    async upgrade() {
      const r = await pool.replace('the code installed now runs');
      return { ok: r.ok, message: r.message, generation: r.generation, pids: r.pids };
    },
    async close(graceMs) {
      await pool.stop(graceMs);
      await app.close(0);
    },
  };
}
