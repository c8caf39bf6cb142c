// Small argument parsing shared by the commands (node:util parseArgs with our wording).
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Parses options; words that are no option are refused unless `maxPositionals` allows them. */
export function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, maxPositionals = 0) {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: NonNullable<ParseArgsConfig['options']>; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.positionals.length > maxPositionals) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}`);
  return parsed;
}

export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

export interface ConfigFileArgs {
  values: Record<string, unknown>;
  file: string;
  format?: string;
}

/**
 * The common shape of the commands that read one config file (`-c FILE` or FILE): parses the
 * options, answers --help, and says what is wrong with the usage. Returns the exit code when the
 * command is done (help printed, or wrong usage: 2).
 */
export function configFileArgs(
  command: string,
  help: string,
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
): ConfigFileArgs | number {
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(args, {
      config: { type: 'string', short: 'c' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...options,
    }, Infinity));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`stickylb ${command}: ${e.message}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  const file = (values.config as string | undefined) ?? positionals[0];
  if (!file || positionals.length > (values.config ? 0 : 1)) {
    console.error(`stickylb ${command}: ${file ? 'give one config file' : 'no config file given'}\n\n${help}`);
    return 2;
  }
  const format = values.format as string | undefined;
  if (format !== undefined && !['yaml', 'json', 'apache'].includes(format)) {
    console.error(`stickylb ${command}: --format ${format}: accepted: yaml, json, apache`);
    return 2;
  }
  return { values, file, format };
}
