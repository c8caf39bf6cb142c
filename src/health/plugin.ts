// Active health checks as an App plugin: started with the server, following reloads through the
// runtime's 'reload' event, stopped on shutdown. Also logs every member state transition.
import type { Plugin } from '../plugin/contract.js';
import { pluginKey } from '../plugin/key.js';
import { LAUNCHER } from '../launcher/launcher.js';
import { HealthChecker, type HealthCheckerOptions } from './checker.js';

export interface HealthPluginOptions extends Omit<HealthCheckerOptions, 'logger'> {
  /** Log member state transitions through the app's logger (default true). */
  log?: boolean;
}

export interface HealthPlugin extends Plugin {
  checker?: HealthChecker;
}

/** The running health checker. */
export const HEALTH = pluginKey('health', (p: HealthPlugin) => p.checker);

export function healthPlugin(opts: HealthPluginOptions = {}): HealthPlugin {
  const plugin: HealthPlugin = {
    name: HEALTH.name,
    // The launcher's nodes run before the first checks.
    after: [LAUNCHER],
    setup(app) {
      const logger = opts.log === false ? undefined : app.logger;
      plugin.checker = new HealthChecker(app.runtime, { ...opts, logger }).start();
    },
    async close() {
      await plugin.checker?.stop();
    },
  };
  return plugin;
}
