// `stickylb convert`: the YAML it prints loads to the same model as the Apache config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { toYaml } from '../../src/cli/convert.js';
import type { ConfigModel } from '../../src/config/model.js';
import { stickylb } from '../helpers/stickylb-cli.js';

const FIX = 'test/fixtures/apache';

/** A model without what depends on the file it came from. */
function comparable(m: ConfigModel): unknown {
  const { source: _source, persist, ...rest } = m;
  return { ...rest, persist: persist ? true : undefined };
}

for (const name of ['philippe', 'sven', 'features', 'health-example']) {
  test(`convert: ${name}.conf and its YAML load to the same model`, () => {
    const file = `${FIX}/${name}.conf`;
    const fromConf = loadConfigFile(file);
    const yaml = toYaml(fromConf.raw, { from: file, schemaRef: './schema/stickylb.schema.json' });
    const parsed = parseConfigText(yaml, `${name}.yaml`, 'yaml');
    assert.deepEqual(parsed.diagnostics, []);
    const fromYaml = validateConfig(parsed.raw, { source: `${name}.yaml`, sourceMap: parsed.sourceMap });
    assert.deepEqual(comparable(fromYaml), comparable(fromConf.model));
  });
}

test('convert: the YAML starts with the schema line and where it came from', () => {
  const yaml = toYaml({ listen: [80] }, { from: 'site.conf', schemaRef: '../schema/stickylb.schema.json' });
  assert.equal(yaml, '# yaml-language-server: $schema=../schema/stickylb.schema.json\n# Converted from site.conf by stickylb convert.\n\nlisten:\n  - 80\n');
});

test('convert (process): prints YAML for sven.conf, warnings to standard error', async () => {
  const r = await stickylb(['convert', `${FIX}/sven.conf`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# yaml-language-server: \$schema=\.\/schema\/stickylb\.schema\.json\n# Converted from test\/fixtures\/apache\/sven\.conf by stickylb convert\.\n/);
  assert.match(r.stdout, /\n {6}- url: http:\/\/127\.0\.0\.1:8081\n {8}route: R1\n/);
  assert.match(r.stdout, /\n {8}params:\n {10}nofailover: true\n {10}stickysession: _s\n/);
  assert.match(r.stderr, /sven\.conf:25: warning: security: balancer-manager/);
  assert.doesNotMatch(r.stderr, /info:/);
});

test('convert (process): -o writes a file that stickylb check accepts, with the schema path relative to it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-convert-'));
  try {
    const out = join(dir, 'philippe.yaml');
    const r = await stickylb(['convert', `${FIX}/philippe.conf`, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const text = readFileSync(out, 'utf8');
    const ref = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text)![1];
    assert.ok(ref.endsWith('/schema/stickylb.schema.json'));
    assert.equal(readFileSync(join(dir, ref), 'utf8'), readFileSync('schema/stickylb.schema.json', 'utf8'));
    const c = await stickylb(['check', out, '--quiet']);
    assert.equal(c.code, 0, c.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('convert (process): a config with errors is not converted (exit 1)', async () => {
  const r = await stickylb(['convert', `${FIX}/sven-mangled.conf`]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /sven-mangled\.conf:12: error: BalancerMember: no member URL/);
  assert.match(r.stderr, /nothing converted/);
});

test('convert: a JSON config converts too, and BalancerPersist is mentioned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-convert-'));
  try {
    const json = join(dir, 'c.json');
    writeFileSync(json, JSON.stringify({ persist: true, balancers: { c: { members: [{ url: 'http://127.0.0.1:1' }] } } }));
    const r = await stickylb(['convert', json]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\npersist: true\n/);
    assert.match(r.stderr, /BalancerPersist On: the YAML config keeps manager changes in <its file>\.state\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
