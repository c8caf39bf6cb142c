#!/usr/bin/env node
// Writes the generated parts of the docs: the differences table of docs/apache-migration.md, from
// src/config/differences.ts. Run after changing that module: node scripts/gen-docs.mjs (a test
// checks the docs are current).
import { readFileSync, writeFileSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

const { withDifferencesTable } = await tsImport('../src/config/differences.ts', import.meta.url);
const file = new URL('../docs/apache-migration.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withDifferencesTable(before);
if (after !== before) writeFileSync(file, after);
console.log(`${after === before ? 'unchanged' : 'wrote'} ${file.pathname}`);
