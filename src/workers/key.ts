// The key of the process plugin (`stickylb run`'s processes: the owner and its worker processes),
// in a module of its own so other plugins (the fleet) can name it without importing the plugin.
import { pluginKey } from '../plugin/key.js';
import type { ProcessPlugin } from './process-plugin.js';

/** The processes of this balancer: `app.get(PROCESS)?.control.view()` (count 0 without workers). */
export const PROCESS = pluginKey<ProcessPlugin>('process');
