// The key of the logs plugin: `app.get(LOGS)` for reopening or flushing the log files.
import { pluginKey } from '../plugin/key.js';
import type { LogsPlugin } from './plugin.js';

export const LOGS = pluginKey<LogsPlugin>('logs');
