// Making a PluginKey: the providing plugin's module exports one, the others import it to look the
// value up (`app.get(KEY)`) and to declare their dependencies.
import type { Plugin, PluginKey } from './contract.js';

/** A key whose value is the plugin itself. */
export function pluginKey<P extends Plugin>(name: string): PluginKey<P>;
/** A key whose value `read` takes from the plugin (undefined: nothing to offer right now). */
export function pluginKey<T, P extends Plugin = Plugin>(name: string, read: (plugin: P) => T | undefined): PluginKey<T>;
export function pluginKey(name: string, read?: (plugin: any) => unknown): PluginKey<unknown> {
  return Object.freeze({ name, read: read ?? ((plugin: Plugin) => plugin) });
}
