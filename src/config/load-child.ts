// Loading a config file in a short-lived child process, for `stickylb run` (at start and on every
// reload). The loader's libraries stay there: zod and the schema, yaml, the Apache front end and
// the resolver are about 7 MB of V8 heap that a serving process would otherwise carry for its
// whole life (a module, once loaded, is never let go). The model comes back by structured clone,
// as it goes to worker processes, and is taken on the same terms as a worker of another version
// (modelOf). In-process loading (`config/load.ts`) is what `check`, the embedding API and the
// tests use.
import { fork } from 'node:child_process';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigModel } from './model.js';
import { ConfigError, type Diagnostic } from './diagnostics.js';
import { workerExecArgv } from '../workers/entry.js';
import { PROTOCOL_VERSION } from '../workers/protocol.js';
import { version } from '../manager/version.js';

/**
 * What the child answers (config/load-child-main.ts). `protocol` and `version` say which stickylb
 * made the model: the child runs the stickylb installed now, which after an in-place upgrade is
 * not the one this process runs.
 */
export type LoadAnswer =
  | { t: 'loaded'; model: ConfigModel; diagnostics: Diagnostic[]; protocol: number; version: string }
  | { t: 'refused'; diagnostics: Diagnostic[] }
  | { t: 'failed'; message: string };

/**
 * The model of an answer, if this process can use it: one made by another stickylb is taken when
 * it speaks this process's worker protocol (the model travels to worker processes in that
 * protocol's messages, and an owner takes workers of another version on the same terms), and
 * refused otherwise, naming both versions.
 */
export function modelOf(m: LoadAnswer & { t: 'loaded' }): ConfigModel | Error {
  if (m.protocol === PROTOCOL_VERSION) return m.model;
  return new Error(
    `the stickylb installed now (${m.version}) reads configurations for protocol ${m.protocol}, this process (stickylb ${version()}) uses protocol ${PROTOCOL_VERSION}: restart stickylb to run the installed version`,
  );
}

export interface ChildLoadResult {
  model: ConfigModel;
  /** Warnings and notes of the front end (errors reject with a ConfigError instead). */
  diagnostics: Diagnostic[];
}

function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), `${basename(here, extname(here))}-main${extname(here)}`);
}

/**
 * Reads, parses and validates a config file as `loadConfigFile` does, in a child process. Rejects
 * with a ConfigError (file:line diagnostics) for a config with errors, with an Error when the
 * child could not answer.
 */
export function loadConfigInChild(file: string, opts: { format?: string } = {}): Promise<ChildLoadResult> {
  return new Promise((resolve, reject) => {
    // The child runs with this process's Node flags (a loader such as tsx included) and environment.
    const child = fork(childEntry(), [file, opts.format ?? ''], {
      execArgv: workerExecArgv(process.execArgv, []),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answered = false;
    child.once('message', (m: LoadAnswer) => {
      answered = true;
      if (m.t === 'loaded') {
        const model = modelOf(m);
        if (model instanceof Error) reject(model);
        else resolve({ model, diagnostics: m.diagnostics });
      } else if (m.t === 'refused') reject(new ConfigError(m.diagnostics));
      else reject(new Error(m.message));
    });
    child.once('error', (e) => {
      if (!answered) reject(new Error(`cannot start the config loader: ${e.message}`));
    });
    child.once('exit', (code, signal) => {
      if (!answered) reject(new Error(`the config loader ended without an answer (${signal ?? `exit code ${code}`})`));
    });
  });
}
