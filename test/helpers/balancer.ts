// Starts a real stickylb (App) on 127.0.0.1 port 0 from a raw config object, for tests.
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';
import { App, type AppOptions } from '../../src/app.js';
import { silentLogger } from '../../src/log/logger.js';

export interface RunningBalancer {
  app: App;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Engine under test: STICKYLB_ENGINE=lean (or node) runs every balancer of a test on it. */
const ENGINE = process.env.STICKYLB_ENGINE === 'lean' || process.env.STICKYLB_ENGINE === 'node' ? process.env.STICKYLB_ENGINE : undefined;

/** `raw` is the YAML/JSON config shape; `listen` defaults to 127.0.0.1:0. */
export async function startBalancer(raw: RawConfig, opts: AppOptions = {}): Promise<RunningBalancer> {
  const model = validateConfig({ listen: ['127.0.0.1:0'], ...(ENGINE && raw.engine === undefined ? { engine: ENGINE } : {}), ...raw });
  const app = await App.start(model, { logger: silentLogger(), ...opts });
  const port = app.addresses[0].port;
  return { app, port, url: `http://127.0.0.1:${port}`, close: () => app.close(1000) };
}
