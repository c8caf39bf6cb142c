// Assembles a running stickylb: runtime state, the listener, and the plugins that hang off them
// (manager, status, metrics, health checks, logs, static files, launcher). One place to start,
// reload and stop everything.
import type { ConfigModel, ListenerModel } from './config/model.js';
import { RuntimeState } from './balancer/runtime.js';
import { StickyServer } from './proxy/server.js';
import { createLogger, type Logger } from './log/logger.js';

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
  const list: Plugin[] = [];
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
    this.logger = opts.logger ?? createLogger({ path: config.errorLog.path, level: config.errorLog.level });
    this.runtime = new RuntimeState(config, opts.clock);
    this.server = new StickyServer({ config, runtime: this.runtime, logger: this.logger });
    this.runtime.events.on('change', (c) => {
      if (c.by === 'proxy' || c.by === 'health') {
        const m = c.member ? ` member ${c.member}` : '';
        const level = c.field === 'status.E' && c.to === true ? 'warn' : 'info';
        this.logger[level]({ balancer: c.balancer, member: c.member, change: c.field, to: c.to, cause: c.cause }, `balancer ${c.balancer}${m}: ${c.field} ${String(c.from)} -> ${String(c.to)}${c.cause ? ` (${c.cause})` : ''}`);
      }
    });
  }

  static async start(config: ConfigModel, opts: AppOptions = {}): Promise<App> {
    const app = new App(config, opts);
    app.plugins = opts.plugins ?? (await defaultPlugins());
    for (const p of app.plugins) await p.setup(app);
    app.addresses = await app.server.listen();
    return app;
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
