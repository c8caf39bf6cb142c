// The config child's answer: a model made by the stickylb installed now is taken when it speaks
// this process's worker protocol, and refused (both versions named) when it does not; a config
// file is read in a real child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigInChild, modelOf } from '../../src/config/load-child.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import { PROTOCOL_VERSION } from '../../src/workers/protocol.js';
import { version } from '../../src/manager/version.js';

const YAML = ['listen: ["127.0.0.1:0"]', 'balancers:', '  c:', '    members:', '      - { url: "http://127.0.0.1:9", route: a }', 'proxyPass:', '  - { path: /, to: "balancer://c/" }', ''].join('\n');

function withFile(text: string, fn: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-child-'));
  const file = join(dir, 'stickylb.yaml');
  writeFileSync(file, text);
  return fn(file).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a model of the same protocol is taken, whatever the version', async () => {
  await withFile(YAML, async (file) => {
    const { model } = loadConfigFile(file);
    assert.equal(modelOf({ t: 'loaded', model, diagnostics: [], protocol: PROTOCOL_VERSION, version: '99.0.0' }), model);
  });
});

test('a model of another protocol is refused, naming both versions', async () => {
  await withFile(YAML, async (file) => {
    const { model } = loadConfigFile(file);
    const r = modelOf({ t: 'loaded', model, diagnostics: [], protocol: PROTOCOL_VERSION + 1, version: '99.0.0' });
    assert.ok(r instanceof Error);
    assert.match(r.message, /installed now \(99\.0\.0\)/);
    assert.match(r.message, new RegExp(`this process \\(stickylb ${version().replace(/\./g, '\\.')}\\)`));
    assert.match(r.message, /restart stickylb/);
  });
});

test('a config file is read in a child process, and its errors come back with file:line', async () => {
  await withFile(YAML, async (file) => {
    const { model } = await loadConfigInChild(file);
    assert.deepEqual(Object.keys(model.balancers), ['c']);
  });
  await withFile(YAML.replace('route: a', 'route: a, bogus: 1'), async (file) => {
    await assert.rejects(loadConfigInChild(file), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(String(e.diagnostics.map((d) => `${d.file}:${d.line} ${d.message}`)), /stickylb\.yaml:5/);
      return true;
    });
  });
});
