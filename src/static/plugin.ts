// Static files as an App plugin: installs the listener's static handler and warns at start and
// reload about static roots that are missing.
import { promises as fsp } from 'node:fs';
import type { AppContext, Plugin } from '../plugin/contract.js';
import { pluginKey } from '../plugin/key.js';
import type { ConfigModel } from '../config/model.js';
import { configBaseDir } from '../config/base-dir.js';
import { StaticFiles } from './static-files.js';

export interface StaticPlugin extends Plugin {
  files?: StaticFiles;
}

async function checkRoots(app: AppContext, files: StaticFiles, config: ConfigModel): Promise<void> {
  const roots = new Set<string>();
  for (const site of config.sites) if (site.static) roots.add(files.absoluteRoot(site.static.root));
  for (const root of roots) {
    try {
      if (!(await fsp.stat(root)).isDirectory()) app.logger.warn({ root }, `static root ${root} is not a directory`);
    } catch (e) {
      app.logger.warn({ root, code: (e as NodeJS.ErrnoException).code }, `static root ${root} does not exist`);
    }
  }
}

/** The static file server of the listener. */
export const STATIC = pluginKey('static', (p: StaticPlugin) => p.files);

export function staticPlugin(): StaticPlugin {
  const plugin: StaticPlugin = {
    name: STATIC.name,
    async setup(app) {
      const files = new StaticFiles({ logger: app.logger, baseDir: () => configBaseDir(app.config) });
      plugin.files = files;
      app.server.staticHandler = files.handle;
      await checkRoots(app, files, app.config);
    },
    async reload(app, config) {
      if (!plugin.files) return;
      plugin.files.clearCache();
      await checkRoots(app, plugin.files, config);
    },
  };
  return plugin;
}
