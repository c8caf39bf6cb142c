// Relative file names in a config (static root, log files) are taken from the config file's
// directory, as Apache takes them from ServerRoot: the same config works from any working directory.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ConfigModel } from './model.js';

/** The directory relative paths of a config are taken from: the config file's, else the cwd. */
export function configBaseDir(config: Pick<ConfigModel, 'source'>): string {
  return config.source ? dirname(config.source) : process.cwd();
}

/** A path from the config, absolute; `-` (stdout) stays as it is. */
export function resolveConfigPath(config: Pick<ConfigModel, 'source'>, path: string): string {
  if (path === '-' || isAbsolute(path)) return path;
  return resolve(configBaseDir(config), path);
}
