// The committed JSON Schema (schema/stickylb.schema.json) is what the zod schema generates now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/json-schema.js';
import { stickylb } from '../helpers/stickylb-cli.js';

test('schema: schema/stickylb.schema.json equals a fresh generation (run node scripts/gen-schema.mjs after schema changes)', () => {
  assert.equal(readFileSync('schema/stickylb.schema.json', 'utf8'), configJsonSchemaText());
});

test('schema: draft 2020-12, strict objects, descriptions for editors', () => {
  const s = configJsonSchema() as any;
  assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(s.additionalProperties, false);
  assert.ok(s.properties.$schema, 'a JSON config may name its schema');
  const member = s.properties.balancers.additionalProperties.properties.members.items;
  assert.equal(member.additionalProperties, false);
  assert.deepEqual(member.required, ['url']);
  assert.match(member.properties.route.description, /session ids/);
  assert.deepEqual(s.properties.balancers.additionalProperties.properties.lbmethod.enum, ['byrequests', 'bytraffic', 'bybusyness', 'heartbeat']);
  assert.doesNotMatch(JSON.stringify(s), /starts_with/);
});

test('schema (process): stickylb schema prints it', async () => {
  const r = await stickylb(['schema']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, configJsonSchemaText());
});
