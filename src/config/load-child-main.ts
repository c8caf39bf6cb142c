// The child process of config/load-child.ts: loads one config file and sends the model (or the
// diagnostics) back to its parent, then ends.
import { loadConfigFile } from './load.js';
import { ConfigError } from './diagnostics.js';
import type { LoadAnswer } from './load-child.js';
import { PROTOCOL_VERSION } from '../workers/protocol.js';
import { version } from '../manager/version.js';

const [file, format] = process.argv.slice(2);
if (!process.send || !file) {
  console.error('config/load-child-main: run by stickylb (config/load-child.ts), not by hand');
  process.exit(2);
}
let answer: LoadAnswer;
try {
  const { model, diagnostics } = loadConfigFile(file, { format: format || undefined });
  answer = { t: 'loaded', model, diagnostics, protocol: PROTOCOL_VERSION, version: version() };
} catch (e) {
  answer = e instanceof ConfigError ? { t: 'refused', diagnostics: e.diagnostics } : { t: 'failed', message: (e as Error).stack ?? String(e) };
}
process.send(answer, () => process.disconnect());
