// What a config front end is: it turns the text of one file format (YAML, JSON, Apache httpd
// syntax) into the raw config object (the schema's shape) plus where each value came from. Types
// only, importing nothing of the front ends or of the loader, so both sides depend on this module.
import type { Diagnostic, SourceMap } from './diagnostics.js';

export type ConfigFormat = 'yaml' | 'json' | 'apache';

export interface FrontEndResult {
  /** The raw config object, not yet validated. */
  raw: unknown;
  /** What the front end noticed; errors are reported here when it can still return the rest. */
  diagnostics: Diagnostic[];
  /** file:line of the values, by config path, so schema errors can name the line. */
  sourceMap?: SourceMap;
}

/** Throws ConfigError when the text cannot be read at all. */
export type FrontEnd = (text: string, file: string) => FrontEndResult;
