// Small argument parsing shared by the commands (node:util parseArgs with our wording).
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}
