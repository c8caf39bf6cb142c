// Active health checks as an App plugin: started with the server, following reloads through the
// runtime's 'reload' event, stopped on shutdown. Also logs every member state transition.
import type { App, Plugin } from '../app.js';
import { HealthChecker, type HealthCheckerOptions } from './checker.js';

export interface HealthPluginOptions extends Omit<HealthCheckerOptions, 'logger'> {
  /** Log member state transitions through the app's logger (default true). */
  log?: boolean;
}

export function healthPlugin(opts: HealthPluginOptions = {}): Plugin & { checker?: HealthChecker } {
  const plugin: Plugin & { checker?: HealthChecker } = {
    name: 'health',
    setup(app: App) {
      const logger = opts.log === false ? undefined : app.logger;
      plugin.checker = new HealthChecker(app.runtime, { ...opts, logger }).start();
    },
    async close() {
      await plugin.checker?.stop();
    },
  };
  return plugin;
}
