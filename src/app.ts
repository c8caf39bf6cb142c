// Assembles a running stickylb: runtime state, the listener, and the plugins that hang off them
// (manager, status, metrics, health checks, logs, static files, launcher). One place to start,
// reload and stop everything.
import type { ConfigModel, ListenerModel } from './config/model.js';
import { RuntimeState } from './balancer/runtime.js';
import { StickyServer } from './proxy/server.js';
import { createLogger, type Logger } from './log/logger.js';
import { resolveConfigPath } from './config/base-dir.js';
import type { AppContext, Plugin, PluginKey } from './plugin/contract.js';
import { checkPluginOrder } from './plugin/order.js';

export type { AppContext, Plugin, PluginKey } from './plugin/contract.js';
export { pluginKey } from './plugin/key.js';
export { PluginOrderError } from './plugin/order.js';

export interface AppOptions {
  logger?: Logger;
  clock?: () => number;
  /** Plugins to use instead of the default set (tests, worker processes). */
  plugins?: Plugin[];
  /** The runtime state to use instead of a new one (worker processes report what theirs counts). */
  runtime?: RuntimeState;
  /**
   * Open the config's listeners (default true). The owner of worker processes does not: its
   * workers listen, and it answers their manager, server-status and metrics requests.
   */
  listen?: boolean;
}

export interface DefaultPluginsOptions {
  /**
   * `stickylb run`'s process plugin (src/workers/process-plugin.ts): its place is after the
   * manager, status and metrics it extends and before the fleet, whose heartbeats say how many
   * worker processes serve.
   */
  process?: Plugin;
}

/**
 * The plugins every `stickylb run` uses, in setup order. Each lives in its own folder and
 * declares what it needs; App.start checks the order against those declarations.
 */
export async function defaultPlugins(opts: DefaultPluginsOptions = {}): Promise<Plugin[]> {
  const { healthPlugin } = await import('./health/plugin.js');
  const { launcherPlugin } = await import('./launcher/launcher.js');
  const { logsPlugin } = await import('./log/plugin.js');
  const { staticPlugin } = await import('./static/plugin.js');
  const { managerPlugins } = await import('./manager/plugins.js');
  const { rollingPlugin } = await import('./rolling/plugin.js');
  const { acmePlugin } = await import('./acme/plugin.js');
  const { discoveryPlugin } = await import('./discovery/plugin.js');
  const { fleetPlugin } = await import('./fleet/plugin.js');
  // Members found by DNS, then the fleet, which applies its shared settings to them too.
  const process = opts.process ? [opts.process] : [];
  return [logsPlugin(), launcherPlugin(), healthPlugin(), staticPlugin(), ...managerPlugins(), ...process, rollingPlugin(), acmePlugin(), discoveryPlugin(), fleetPlugin()];
}

export class App implements AppContext {
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
    this.runtime = opts.runtime ?? new RuntimeState(config, opts.clock);
    this.server = new StickyServer({ config, runtime: this.runtime, logger: this.logger });
  }

  static async start(config: ConfigModel, opts: AppOptions = {}): Promise<App> {
    const plugins = opts.plugins ?? (await defaultPlugins());
    // A missing or misplaced dependency is refused before anything starts.
    checkPluginOrder(plugins);
    const app = new App(config, opts);
    try {
      for (const p of plugins) {
        app.plugins.push(p);
        await p.setup(app);
      }
      if (opts.listen !== false) app.addresses = await app.server.listen();
    } catch (e) {
      // Undo what was started (node processes, timers) before reporting the failure.
      await app.close(0).catch(() => undefined);
      throw e;
    }
    return app;
  }

  /** What a plugin offers (the launcher, the manager's API, …), typed by its key; undefined when it is not in use. */
  get<T>(key: PluginKey<T>): T | undefined {
    const p = this.plugins.find((x) => x.name === key.name);
    return p ? key.read(p) : undefined;
  }

  /** A plugin by name, if it is in use. Unchecked: prefer `get(KEY)` with the plugin's key. */
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
