// Runs the CLI with this process's arguments (bin/stickylb.js runs the built copy of this file).
import { main } from './main.js';

// A reader that goes away (`stickylb schema | head`) closes the pipe: what is left to print has
// nowhere to go, which is no error of ours. Other write errors are still reported.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    console.error(`stickylb: ${err?.message ?? String(err)}`);
    process.exitCode = err?.code === 'ERR_USAGE' ? 2 : 1;
  },
);
