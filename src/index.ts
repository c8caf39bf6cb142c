// `import … from 'stickylb'`: the balancer inside another Node program. A config (an object of the
// YAML/JSON shape, or a file in YAML, JSON or Apache syntax) becomes a running App, with the same
// plugins as `stickylb run` (logs, node launcher, health checks, static files, balancer-manager,
// server-status, metrics, rolling restarts). What `stickylb run` adds on top, signal handling, is
// left to the embedding program. The application-side library is `stickylb/cluster`.
//
//   import { start } from 'stickylb';
//   const app = await start({
//     listen: ['127.0.0.1:8080'],
//     balancers: { app: { stickysession: '_s', members: [{ url: 'http://127.0.0.1:8081', route: 'first' }] } },
//     proxyPass: [{ path: '/', to: 'balancer://app/' }],
//   });
//   console.log(app.addresses);            // [{ host: '127.0.0.1', port: 8080 }]
//   await app.close();
import { resolve } from 'node:path';
import type { z } from 'zod';
import { App, type AppOptions } from './app.js';
import { loadConfigFile, type ConfigFormat, type LoadResult } from './config/load.js';
import type { ConfigModel } from './config/model.js';
import type { configSchema } from './config/schema.js';
import { validateConfig } from './config/validate.js';

export { App, type AppOptions, type Plugin } from './app.js';
export { ConfigError, formatDiagnostic, type Diagnostic } from './config/diagnostics.js';
export { validateConfig } from './config/validate.js';
export type { ConfigFormat, LoadResult } from './config/load.js';
export type {
  BalancerModel,
  ConfigModel,
  ListenerModel,
  MemberModel,
  SiteModel,
  StatusFlags,
  StatusLetter,
} from './config/model.js';
export type { RuntimeState } from './balancer/runtime.js';
export type { BalancerState, StateChange } from './balancer/balancer-state.js';
export type { MemberState } from './balancer/member-state.js';
export type { StickyServer } from './proxy/server.js';

/**
 * A configuration as written: the shape of the YAML and JSON files (docs/configuration.md), before
 * validation. Durations may be numbers of seconds or strings such as `"30s"`; every setting but the
 * balancers' members is optional.
 */
export type StickylbConfig = z.input<typeof configSchema>;

export interface StartOptions extends AppOptions {
  /**
   * The file a config object stands for: messages name it, and relative paths in the config (log
   * files, static roots, the persist file) are taken from its directory. Default: none; relative
   * paths are then taken from the working directory.
   */
  source?: string;
}

/**
 * Reads a config file and validates it: YAML, JSON or Apache httpd syntax, chosen by the file
 * name (`.conf` is Apache, `.json` JSON, anything else YAML) unless `format` says. Throws a
 * ConfigError whose `diagnostics` list every problem with file:line; warnings come back in
 * `diagnostics` of the result. `model` is what `start` and `app.reload` take.
 */
export function loadConfig(file: string, options: { format?: ConfigFormat } = {}): LoadResult {
  return loadConfigFile(file, options);
}

function isModel(config: StickylbConfig | ConfigModel): config is ConfigModel {
  // A written config cannot have these keys (the schema refuses unknown settings).
  return 'listeners' in config && 'sites' in config;
}

/**
 * Starts a balancer: validates `config` (a config object, or a model from `loadConfig` or
 * `validateConfig`), then starts its listeners and plugins. Resolves once every listener is bound
 * (`app.addresses` holds the ports, port 0 included); rejects with a ConfigError for an invalid
 * config, or with the reason the balancer could not start (everything started so far is stopped).
 * Stop it with `app.close(graceMs?)`; `app.reload(model)` applies a new configuration.
 */
export async function start(config: StickylbConfig | ConfigModel, options: StartOptions = {}): Promise<App> {
  const { source, ...appOptions } = options;
  const model = isModel(config) ? config : validateConfig(config, { source: source === undefined ? undefined : resolve(source) });
  return App.start(model, appOptions);
}
