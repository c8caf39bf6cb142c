// `stickylb schema`: prints the JSON Schema of the YAML/JSON config format (or writes it with -o).
import { writeFileSync } from 'node:fs';
import type { Command } from './command.js';
import { parse, UsageError } from './args.js';
import { configJsonSchemaText } from '../config/json-schema.js';

const HELP = `usage: stickylb schema [-o FILE]

Prints the JSON Schema of the YAML/JSON config format. Editors use it for completion and checks:
put "# yaml-language-server: $schema=PATH/stickylb.schema.json" at the top of a YAML config, or
"$schema": "PATH/stickylb.schema.json" in a JSON one.`;

export const schemaCommand: Command = {
  summary: 'print the JSON Schema of the config format',
  async run(args) {
    let values: Record<string, unknown>;
    try {
      ({ values } = parse(args, { output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } }));
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(`stickylb schema: ${e.message}\n\n${HELP}`);
        return 2;
      }
      throw e;
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const text = configJsonSchemaText();
    if (values.output) writeFileSync(values.output as string, text);
    else process.stdout.write(text);
    return 0;
  },
};
