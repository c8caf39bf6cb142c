// The discovery plugin's key, in a module of its own so the fleet can name it without importing
// the plugin.
import { pluginKey } from '../plugin/key.js';
import type { Plugin } from '../plugin/contract.js';
import type { DnsWatcher } from './watcher.js';

export interface DiscoveryPlugin extends Plugin {
  /** One watcher per balancer and DNS name. */
  readonly watchers: Map<string, DnsWatcher>;
}

/** The DNS watchers of the running balancers. */
export const DISCOVERY = pluginKey('discovery', (p: DiscoveryPlugin) => p.watchers);
