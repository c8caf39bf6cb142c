// The key of the ACME plugin: `app.get(ACME)` is the renewer of the managed domains (undefined
// when none is managed), for the status pages and metrics. A module of its own, so the manager
// can read it without importing the plugin (which extends the manager).
import { pluginKey } from '../plugin/key.js';
import type { AcmePlugin } from './plugin.js';

export const ACME = pluginKey('acme', (p: AcmePlugin) => p.renewer);
