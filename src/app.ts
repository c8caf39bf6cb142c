// Assembles a running stickylb: runtime state, the listener, and the plugins that hang off them
// (manager, status, metrics, health checks, logs, static files, launcher). One place to start,
// reload and stop everything.
import type { ConfigModel, ListenerModel } from './config/model.js';
import { RuntimeState } from './balancer/runtime.js';
import { StickyServer } from './proxy/server.js';
import { createLogger, type Logger } from './log/logger.js';
import { resolveConfigPath } from './config/base-dir.js';

export interface Plugin {
  readonly name: string;
  /** Called once the server exists, before it listens. */
  setup(app: App): void | Promise<void>;
  /** Called after a successful reload with the new config. */
  reload?(app: App, config: ConfigModel): void | Promise<void>;
  /** Called on shutdown, after the listeners stopped and in-flight requests finished. */
  close?(app: App): void | Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  clock?: () => number;
  /** Plugins to use instead of the default set (tests). */
  plugins?: Plugin[];
}

/** The plugins every `stickylb run` uses. Each lives in its own folder. */
export async function defaultPlugins(): Promise<Plugin[]> {
  const { healthPlugin } = await import('./health/plugin.js');
  const { launcherPlugin } = await import('./launcher/launcher.js');
  const { logsPlugin } = await import('./log/plugin.js');
  const { staticPlugin } = await import('./static/plugin.js');
  const { managerPlugins } = await import('./manager/plugins.js');
  const { rollingPlugin } = await import('./rolling/plugin.js');
  // The launcher comes first: members must have live nodes before checks and traffic start.
  // Logs come before it, so they close last and keep every line of the shutdown.
  const list: Plugin[] = [logsPlugin(), launcherPlugin(), healthPlugin(), staticPlugin()];
  // Access control, persistence, balancer-manager, server-status and metrics.
  list.push(...managerPlugins());
  // Rolling restarts extend the manager's API, so they come after it.
  list.push(rollingPlugin());
  return list;
}

export class App {
  readonly runtime: RuntimeState;
  readonly server: StickyServer;
  readonly logger: Logger;
  config: ConfigModel;
  private plugins: Plugin[] = [];
  addresses: ListenerModel[] = [];

  private constructor(config: ConfigModel, opts: AppOptions) {
    this.config = config;
    this.logger =
      opts.logger ?? createLogger({ path: resolveConfigPath(config, config.errorLog.path), level: config.errorLog.level, format: config.errorLog.format });
    this.runtime = new RuntimeState(config, opts.clock);
    this.server = new StickyServer({ config, runtime: this.runtime, logger: this.logger });
  }

  static async start(config: ConfigModel, opts: AppOptions = {}): Promise<App> {
    const app = new App(config, opts);
    const plugins = opts.plugins ?? (await defaultPlugins());
    try {
      for (const p of plugins) {
        app.plugins.push(p);
        await p.setup(app);
      }
      app.addresses = await app.server.listen();
    } catch (e) {
      // Undo what was started (node processes, timers) before reporting the failure.
      await app.close(0).catch(() => undefined);
      throw e;
    }
    return app;
  }

  /** A plugin by name (the launcher, the health checker, …), if it is in use. */
  plugin<T extends Plugin = Plugin>(name: string): T | undefined {
    return this.plugins.find((p) => p.name === name) as T | undefined;
  }

  async reload(config: ConfigModel): Promise<void> {
    this.server.reload(config);
    this.config = config;
    for (const p of this.plugins) await p.reload?.(this, config);
  }

  async close(graceMs = 10_000): Promise<void> {
    await this.server.close(graceMs);
    for (const p of [...this.plugins].reverse()) await p.close?.(this);
    this.logger.flush?.();
  }
}
