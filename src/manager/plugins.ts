// The manager's App plugins: access control for the built-in handlers, persistence of manager
// changes, and the balancer-manager, server-status and metrics handlers.
import type { App, Plugin } from '../app.js';
import type { ConfigModel } from '../config/model.js';
import { accessPlugin, type AccessPluginOptions } from './access-plugin.js';
import type { ManagerDeps } from './deps.js';
import { managerHandler } from './manager-handler.js';
import { Metrics } from './metrics.js';
import { metricsHandler } from './metrics-handler.js';
import { Nonces } from './nonce.js';
import type { Html } from '../util/html.js';
import { persistPlugin } from './persist-plugin.js';
import { statusHandler } from './status-handler.js';
import { version } from './version.js';

function depsOf(app: App, nonces: Nonces): ManagerDeps {
  return { runtime: app.runtime, config: () => app.config, nonces, logger: app.logger, clock: () => app.runtime.clock() };
}

export interface ManagerPlugin extends Plugin {
  readonly nonces: Nonces;
  /** Other plugins add page cards here (rendered on every page view). */
  readonly sections: ((path: string) => Html)[];
}

export function managerPlugin(): ManagerPlugin {
  const nonces = new Nonces();
  const sections: ((path: string) => Html)[] = [];
  return {
    name: 'balancer-manager',
    nonces,
    sections,
    setup(app: App) {
      const deps = { ...depsOf(app, nonces), sections: (path: string) => sections.map((f) => f(path)) };
      app.server.handlers.set('balancer-manager', managerHandler(deps));
    },
  };
}

export function statusPlugin(): Plugin {
  return {
    name: 'server-status',
    setup(app: App) {
      app.server.handlers.set('server-status', statusHandler(depsOf(app, new Nonces())));
    },
  };
}

export interface MetricsPlugin extends Plugin {
  metrics?: Metrics;
}

export function metricsPlugin(): MetricsPlugin {
  const plugin: MetricsPlugin = {
    name: 'metrics',
    setup(app: App) {
      const metrics = new Metrics(() => app.runtime, version());
      plugin.metrics = metrics;
      app.server.handlers.set('metrics', metricsHandler(metrics));
      // Counting costs a little on every request: only when some site serves /metrics.
      if (servesMetrics(app.config)) metrics.attach(app.server);
    },
    reload(app: App, config: ConfigModel) {
      if (servesMetrics(config) && !plugin.metrics?.attached) plugin.metrics?.attach(app.server);
    },
    close() {
      plugin.metrics?.detach();
    },
  };
  return plugin;
}

function servesMetrics(config: ConfigModel): boolean {
  return config.sites.some((site) => site.handlers.some((h) => h.handler === 'metrics'));
}

export interface ManagerPluginsOptions {
  access?: AccessPluginOptions;
}

/** Everything this folder adds to an App, in setup order. */
export function managerPlugins(opts: ManagerPluginsOptions = {}): Plugin[] {
  return [accessPlugin(opts.access), persistPlugin(), managerPlugin(), statusPlugin(), metricsPlugin()];
}
