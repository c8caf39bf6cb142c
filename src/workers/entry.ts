// Where a worker process's code is. Looked up afresh for every fork, so `stickylb reload
// --upgrade` starts the code installed now: the package the `stickylb` command points to (through
// its symlinks, which an installation may have moved), else the copy next to this module.
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function workerEntry(argv1: string | undefined = process.argv[1]): string {
  if (argv1) {
    try {
      const real = realpathSync(argv1);
      if (basename(real) === 'stickylb.js' && basename(dirname(real)) === 'bin') {
        const installed = join(dirname(dirname(real)), 'dist', 'workers', 'worker-main.js');
        if (existsSync(installed)) return installed;
      }
    } catch {
      // Not a path (the command runs from sources): use the copy next to this module.
    }
  }
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), `worker-main${extname(here)}`);
}

/** Flags that take the next argument as their value. */
const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions']);

/**
 * The Node flags of a worker: the owner's own (a loader such as tsx included), without code to
 * evaluate (-e: the worker runs its own entry) or a debugger port (a second process cannot take
 * it), then the configured ones.
 */
export function workerExecArgv(ownerArgv: readonly string[], configured: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ownerArgv.length; i++) {
    const a = ownerArgv[i];
    const value = WITH_VALUE.has(a) && i + 1 < ownerArgv.length ? ownerArgv[++i] : undefined;
    if (/^(-e|--eval|-p|--print|--input-type)(=|$)/.test(a)) continue;
    if (/^--inspect(-brk|-port|-wait)?(=|$)/.test(a) || /^--debug(-brk|-port)?(=|$)/.test(a)) continue;
    out.push(a);
    if (value !== undefined) out.push(value);
  }
  return [...out, ...configured];
}
