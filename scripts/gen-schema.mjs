#!/usr/bin/env node
// Writes schema/stickylb.schema.json from the zod config schema (src/config/schema.ts).
// Run after changing the schema: node scripts/gen-schema.mjs (a test checks the file is current).
import { mkdirSync, writeFileSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

const root = new URL('..', import.meta.url);
const { configJsonSchemaText } = await tsImport('../src/config/json-schema.ts', import.meta.url);
mkdirSync(new URL('schema/', root), { recursive: true });
const out = new URL('schema/stickylb.schema.json', root);
writeFileSync(out, configJsonSchemaText());
console.log(`wrote ${out.pathname}`);
