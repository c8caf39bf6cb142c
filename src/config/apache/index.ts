// The Apache httpd syntax front end: `.conf` files (and `--format apache`) to the raw config
// object, with file:line for every value so later schema errors can name the config line.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { FrontEnd } from '../front-end.js';
import type { ConfigFs } from './include.js';
import { parseApache } from './parser.js';
import { toConfig } from './to-config.js';

export { parseApache } from './parser.js';
export { toConfig } from './to-config.js';
export type { ConfigFs } from './include.js';

/** The real file system, for Include. */
export const nodeConfigFs: ConfigFs = {
  readFile: (p) => readFileSync(p, 'utf8'),
  readdir: (p) => readdirSync(p),
  isDirectory: (p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
  exists: (p) => existsSync(p),
};

/**
 * Parses Apache config text; `fs` serves Include (the real file system unless given) and `env`
 * the ${NAME} variables not set by Define (this process's environment unless given).
 */
export function parseApacheConfig(text: string, file: string, fs: ConfigFs = nodeConfigFs, env: Record<string, string | undefined> = process.env) {
  const parsed = parseApache(text, file, { fs, env });
  const converted = toConfig(parsed.directives, file);
  const diagnostics = [...parsed.diagnostics, ...converted.diagnostics].sort((a, b) => {
    if (a.file !== b.file) return parsed.files.indexOf(a.file!) - parsed.files.indexOf(b.file!);
    return (a.line ?? 0) - (b.line ?? 0);
  });
  return { raw: converted.raw, diagnostics, sourceMap: converted.sourceMap, files: parsed.files };
}

export const apacheFrontEnd: FrontEnd = (text, file) => parseApacheConfig(text, file);
