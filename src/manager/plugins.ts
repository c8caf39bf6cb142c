// The manager's App plugins: access control for the built-in handlers, persistence of manager
// changes, and the balancer-manager, server-status and metrics handlers.
import type { AppContext, Plugin } from '../plugin/contract.js';
import { pluginKey } from '../plugin/key.js';
import { ACME } from '../acme/key.js';
import type { ConfigModel, HandlerModel } from '../config/model.js';
import { accessPlugin, type AccessPluginOptions } from './access/access-plugin.js';
import type { ChangeGate, ManagerApiHandler, ManagerApiRoute, ManagerDeps, StatusSection } from './deps.js';
import { limitsHandler } from './api/limits-api.js';
import { History } from './api/history.js';
import { HistorySampler, historyHandler, sectionsHandler } from './api/history-api.js';
import { Metrics } from './metrics/metrics.js';
import { metricsHandler } from './metrics/metrics-handler.js';
import { useLoadMonitor, type LoadSample, type LoadSource } from './metrics/load-monitor.js';
import { Nonces } from './access/nonce.js';
import type { Html } from '../util/html.js';
import { persistPlugin } from './persist/persist-plugin.js';
import { lazyHandler, type LazyHandler } from './lazy-handler.js';
import { loadBodies } from './api/load-bodies.js';
import { version } from './version.js';

function depsOf(app: AppContext, nonces: Nonces): ManagerDeps {
  return { runtime: app.runtime, config: () => app.config, nonces, logger: app.logger, clock: () => app.runtime.clock(), certificates: () => app.get(ACME)?.list() ?? [] };
}

/** What the balancer-manager offers other plugins (`app.get(MANAGER)`). */
export interface ManagerApi {
  /** The balancers' nonces: a change made through an added route must check them too. */
  readonly nonces: Nonces;
  /**
   * Answers `<manager path>/api<path>` and everything below it (`path` like `/rolling`) with
   * `handler`, before the manager's own API. The manager's access rules apply as to every request.
   */
  addApiRoute(path: string, handler: ManagerApiHandler, preload?: () => Promise<unknown>): void;
  /** Adds a card to the manager page, rendered on every page view (the manager's path is passed in). */
  addSection(section: (path: string) => Html): void;
  /** The answer of every change made in the manager waits for `gate`, and carries its report. */
  addChangeGate(gate: ChangeGate): void;
}

export interface ManagerPlugin extends Plugin, ManagerApi {
  /** The live figures of the page's charts. */
  history?: HistorySampler;
}

export interface ManagerPluginOptions {
  /** How often the charts' figures are sampled (default 5 s; tests use less). */
  historyIntervalMs?: number;
}

export const MANAGER = pluginKey<ManagerApi, ManagerPlugin>('balancer-manager', (p) => p);

/** The paths of the manager's own API, which added routes may not take. */
const OWN_API = /^\/balancers(\/|$)/;

export function managerPlugin(opts: ManagerPluginOptions = {}): ManagerPlugin {
  const nonces = new Nonces();
  const sections: ((path: string) => Html)[] = [];
  const apiRoutes: ManagerApiRoute[] = [];
  const changeGates: ChangeGate[] = [];
  let page: LazyHandler | undefined;
  /** The config serves the manager (set at setup and on every reload). */
  let served = false;
  // A manager the config serves has its page and its API's code (with zod) loaded at once, not
  // with a first request: code loaded later could come from a newer install than the one running.
  // Routes added by plugins set up after the manager load as they are added; a failed load is
  // tried again, and reported, by the route's first request.
  const loadServed = async () => {
    served = true;
    await page?.load();
    await loadBodies();
    for (const r of apiRoutes) await r.preload?.();
  };
  const plugin: ManagerPlugin = {
    name: MANAGER.name,
    nonces,
    addApiRoute(path, handler, preload) {
      if (!/^(\/[^/?#]+)+$/.test(path) || OWN_API.test(path)) throw new Error(`manager API route ${JSON.stringify(path)}: give a path such as /rolling, outside /balancers`);
      const clash = apiRoutes.find((r) => `${r.path}/`.startsWith(`${path}/`) || `${path}/`.startsWith(`${r.path}/`));
      if (clash) throw new Error(`manager API route ${path} overlaps ${clash.path}`);
      apiRoutes.push({ path, handler, preload });
      if (served && preload) preload().catch(() => undefined);
    },
    addSection(section) {
      sections.push(section);
    },
    addChangeGate(gate) {
      changeGates.push(gate);
    },
    async setup(app) {
      const deps = { ...depsOf(app, nonces), sections: (path: string) => sections.map((f) => f(path)), apiRoutes, changeGates };
      if (!apiRoutes.some((r) => r.path === '/limits')) apiRoutes.push({ path: '/limits', handler: limitsHandler(app.server) });
      const history = new History(opts.historyIntervalMs);
      plugin.history = new HistorySampler(history, app).start();
      if (!apiRoutes.some((r) => r.path === '/history')) apiRoutes.push({ path: '/history', handler: historyHandler(app, history) });
      if (!apiRoutes.some((r) => r.path === '/sections')) apiRoutes.push({ path: '/sections', handler: sectionsHandler(deps.sections) });
      page = lazyHandler(async () => (await import('./page/manager-handler.js')).managerHandler(deps));
      app.server.handlers.set('balancer-manager', page.fn);
      if (serves(app.config, 'balancer-manager')) await loadServed();
    },
    async reload(_app, config) {
      if (serves(config, 'balancer-manager')) await loadServed();
      else served = false;
    },
    close() {
      plugin.history?.stop();
    },
  };
  return plugin;
}

/** What server-status offers other plugins (`app.get(STATUS)`). */
export interface StatusApi {
  /** Adds a card to server-status (and its `key: value` lines to ?auto); undefined: nothing to show now. */
  addSection(section: () => StatusSection | undefined): void;
  /** Adds processes whose event-loop delay and GC pauses server-status shows (the workers). */
  addLoadSource(source: LoadSource): void;
}

export interface StatusPlugin extends Plugin, StatusApi {}

export const STATUS = pluginKey<StatusApi, StatusPlugin>('server-status', (p) => p);

/**
 * This process's load figures while the config serves `handler`: the monitor samples only while
 * some page shows its figures.
 */
function processLoad(handler: 'server-status' | 'metrics') {
  let load: ReturnType<typeof useLoadMonitor> | undefined;
  const stop = () => {
    load?.release();
    load = undefined;
  };
  return {
    follow(config: ConfigModel): void {
      if (!serves(config, handler)) stop();
      else load ??= useLoadMonitor();
    },
    stop,
    samples: (): LoadSample[] => (load ? [{ pid: process.pid, figures: load.monitor.figures() }] : []),
  };
}

export function statusPlugin(): StatusPlugin {
  const sections: (() => StatusSection | undefined)[] = [];
  const loadSources: LoadSource[] = [];
  const own = processLoad('server-status');
  let page: LazyHandler | undefined;
  return {
    name: STATUS.name,
    addSection(section) {
      sections.push(section);
    },
    addLoadSource(source) {
      loadSources.push(source);
    },
    async setup(app) {
      own.follow(app.config);
      const statusSections = () => sections.map((f) => f()).filter((s): s is StatusSection => s !== undefined);
      const load = () => [...own.samples(), ...loadSources.flatMap((f) => f())];
      const deps = { ...depsOf(app, new Nonces()), statusSections, load };
      page = lazyHandler(async () => (await import('./status/status-handler.js')).statusHandler(deps));
      app.server.handlers.set('server-status', page.fn);
      if (serves(app.config, 'server-status')) await page.load();
    },
    async reload(_app, config) {
      own.follow(config);
      if (serves(config, 'server-status')) await page?.load();
    },
    close() {
      own.stop();
    },
  };
}

export interface MetricsPlugin extends Plugin {
  metrics?: Metrics;
}

/** The Prometheus registry and counters of the metrics handler. */
export const METRICS = pluginKey('metrics', (p: MetricsPlugin) => p.metrics);

export function metricsPlugin(): MetricsPlugin {
  const own = processLoad('metrics');
  const plugin: MetricsPlugin = {
    name: METRICS.name,
    setup(app) {
      const metrics = new Metrics(() => app.runtime, version());
      plugin.metrics = metrics;
      app.server.handlers.set('metrics', metricsHandler(metrics));
      own.follow(app.config);
      metrics.addLoadSource(() => own.samples());
      // Counting costs a little on every request: only when some site serves /metrics.
      if (serves(app.config, 'metrics')) metrics.attach(app.server);
    },
    reload(app, config) {
      own.follow(config);
      if (serves(config, 'metrics') && !plugin.metrics?.attached) plugin.metrics?.attach(app.server);
    },
    close() {
      own.stop();
      plugin.metrics?.detach();
    },
  };
  return plugin;
}

function serves(config: ConfigModel, handler: HandlerModel['handler']): boolean {
  return config.sites.some((site) => site.handlers.some((h) => h.handler === handler));
}

export interface ManagerPluginsOptions {
  access?: AccessPluginOptions;
  manager?: ManagerPluginOptions;
}

/** Everything this folder adds to an App, in setup order. */
export function managerPlugins(opts: ManagerPluginsOptions = {}): Plugin[] {
  return [accessPlugin(opts.access), persistPlugin(), managerPlugin(opts.manager), statusPlugin(), metricsPlugin()];
}
