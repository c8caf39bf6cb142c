// Runs the CLI with this process's arguments (bin/stickylb.js runs the built copy of this file).
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    console.error(`stickylb: ${err?.message ?? String(err)}`);
    process.exitCode = err?.code === 'ERR_USAGE' ? 2 : 1;
  },
);
