// What an App plugin is and what it gets from the App: types only, importing nothing of the
// plugins or of the App, so every plugin can depend on this module without a cycle.
import type { RuntimeState } from '../balancer/runtime.js';
import type { ConfigModel } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import type { StickyServer } from '../proxy/server.js';

/**
 * A typed handle on what a plugin offers to the others (the launcher, the manager's API, …).
 * Made with `pluginKey()` next to the plugin that provides it; `app.get(key)` returns the value
 * typed, or undefined when that plugin is not in use (or offers nothing right now).
 */
export interface PluginKey<T> {
  /** The name of the plugin that provides the value. */
  readonly name: string;
  /** Reads the value from that plugin (App.get calls it; plugins do not). */
  read(plugin: Plugin): T | undefined;
}

export interface Plugin {
  readonly name: string;
  /**
   * Plugins this one needs: each must be in use and come earlier in the plugin list (it is set up
   * before and closed after this one). App.start refuses a list that breaks this, before any setup.
   */
  readonly dependencies?: readonly PluginKey<unknown>[];
  /**
   * Plugins this one must follow when they are in use, without needing them (the launcher's nodes
   * run before health checks start). App.start refuses a list where one of them comes later.
   */
  readonly after?: readonly PluginKey<unknown>[];
  /** Called once the server exists, before it listens. */
  setup(app: AppContext): void | Promise<void>;
  /** Called after a successful reload with the new config. */
  reload?(app: AppContext, config: ConfigModel): void | Promise<void>;
  /** Called on shutdown, after the listeners stopped and in-flight requests finished. */
  close?(app: AppContext): void | Promise<void>;
}

/** What a plugin gets of the running App. */
export interface AppContext {
  readonly runtime: RuntimeState;
  readonly server: StickyServer;
  readonly logger: Logger;
  /** The config in force (a reload replaces it). */
  readonly config: ConfigModel;
  /** What another plugin offers, typed by its key; undefined when that plugin is not in use. */
  get<T>(key: PluginKey<T>): T | undefined;
}
