// Checks a plugin list before anything is set up. The list's order is the setup order (and,
// reversed, the close order); it is checked, never rearranged, so what runs first is what the
// list says. A plugin's dependencies must be in the list and earlier; the plugins it names in
// `after` must be earlier when they are in the list; two plugins may not share a name.
import type { Plugin } from './contract.js';

export class PluginOrderError extends Error {
  readonly code = 'ERR_PLUGIN_ORDER';
}

/** The error for a plugin set up without a plugin it needs. */
export function missingDependency(plugin: string, dependency: string): PluginOrderError {
  return new PluginOrderError(`plugin "${plugin}" needs "${dependency}", which is not in use`);
}

export function checkPluginOrder(plugins: readonly Plugin[]): void {
  const position = new Map<string, number>();
  plugins.forEach((p, i) => {
    if (position.has(p.name)) throw new PluginOrderError(`two plugins are named "${p.name}"`);
    position.set(p.name, i);
  });
  plugins.forEach((p, i) => {
    for (const dep of p.dependencies ?? []) {
      const at = position.get(dep.name);
      if (at === undefined) throw missingDependency(p.name, dep.name);
      if (at === i) throw new PluginOrderError(`plugin "${p.name}" names itself as a dependency`);
      if (at > i) throw new PluginOrderError(`plugin "${p.name}" needs "${dep.name}", which comes after it: put "${dep.name}" earlier in the plugin list`);
    }
    for (const before of p.after ?? []) {
      const at = position.get(before.name);
      if (at !== undefined && at > i) throw new PluginOrderError(`plugin "${p.name}" must come after "${before.name}" in the plugin list`);
    }
  });
}
