#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm install builds it through the prepare script).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err?.message ?? err); process.exitCode = 1; },
);
