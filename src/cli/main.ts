// Command line entry: `stickylb <command> [options]`. Each command lives in its own file and is
// loaded on demand, so `stickylb check` does not load the proxy.
import type { Command } from './command.js';

export type { Command } from './command.js';

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.js')).runCommand,
  check: async () => (await import('./check.js')).checkCommand,
  convert: async () => (await import('./convert.js')).convertCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  'demo-node': async () => (await import('./demo-node.js')).demoNodeCommand,
  restart: async () => (await import('./restart.js')).restartCommand,
  reload: async () => (await import('./reload.js')).reloadCommand,
  schema: async () => (await import('./schema.js')).schemaCommand,
};

function usage(): string {
  return [
    'usage: stickylb <command> [options]',
    '',
    'commands:',
    '  run -c FILE        start the balancer (and the nodes of a nodes: section)',
    '  check -c FILE      validate a config and print the effective setup',
    '  convert FILE       print an Apache config as stickylb YAML',
    '  demo               the demo: a balancer on :8080 with two demo nodes',
    '  demo-node          one node of the Seaside-style demo app (PORT, STICKYLB_ROUTE)',
    '  restart --rolling  restart the nodes of a running balancer one at a time',
    '  reload [--upgrade] reload a running balancer\'s config, or upgrade its workers to the installed code',
    '  schema             print the JSON Schema of the YAML/JSON config format',
    '',
    'options:',
    '  --version, -v      print the version of stickylb',
    '  --help, -h         print this list',
    '',
    'stickylb <command> --help (or stickylb help <command>) for the options of a command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length === 1 && Object.hasOwn(commands, rest[0])) return main([rest[0], '--help']);
  if ((name === '--help' || name === '-h' || name === 'help' || name === '--version' || name === '-v') && rest.length) {
    console.error(`stickylb: unexpected argument ${JSON.stringify(rest[0])} after ${name}\n\n${usage()}`);
    return 2;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    const { createRequire } = await import('node:module');
    console.log(createRequire(import.meta.url)('../../package.json').version);
    return 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    console.error(`stickylb: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  let cmd: Command;
  try {
    cmd = await load();
  } catch (e) {
    console.error(`stickylb: command "${name}" is not available in this build (${(e as Error).message})`);
    return 2;
  }
  return cmd.run(rest);
}
