// `check` tells everything at once: findings behind a schema error, syntax errors with
// line:column and the lines around them, a missing file by its path, advice in the terms of the
// config's own syntax; the JSON Schema's texts; ws:// member URLs; where the error log goes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyseConfigFile } from '../../src/config/analyse.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { validateConfig } from '../../src/config/validate.js';
import { describeConfig, renderSetup } from '../../src/config/describe.js';
import { salvage } from '../../src/config/salvage.js';
import { createLogger, textLine } from '../../src/log/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'stickylb-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function check(name: string, text: string): string[] {
  const file = join(dir, name);
  writeFileSync(file, text);
  return analyseConfigFile(file).diagnostics.map((d) => formatDiagnostic(d).replace(`${dir}/`, ''));
}

test('check: a schema error no longer hides the resolve errors and warnings of the rest', () => {
  const lines = check(
    'bad.yaml',
    `balancers:
  c:
    stickysession: _s
    members:
      - { url: http://127.0.0.1:8081, route: a, loadfactor: 500 }
      - { route: nourl }
      - { url: http://127.0.0.1:8082, route: b, redirect: zz }
proxyPass:
  - { path: /, to: "balancer://c/" }
  - { path: /x, to: "balancer://nope/" }
handlers:
  - { path: /balancer-manager, handler: balancer-manager, allow: [all] }
`,
  );
  assert.deepEqual(lines, [
    'bad.yaml:5: error: balancers.c.members[0].loadfactor: 500 is out of range 1..100',
    'bad.yaml:6: error: balancers.c.members[1].url: is required',
    // Found after the member without a URL was taken out: its index is still the file's.
    'bad.yaml:7: error: balancers.c.members[2].redirect: no member has route "zz" (routes: a, b)',
    'bad.yaml:9: warning: proxyPass { path: /, to: "balancer://c/" } has no proxyPassReverse entry: a redirect from a member (Location: http://127.0.0.1:8081/…) reaches the browser unchanged; add { path: /, to: "balancer://c/" } to proxyPassReverse (one entry covers every member)',
    'bad.yaml:10: error: proxyPass[1].to: no balancer named "nope" (defined: c)',
    'bad.yaml:12: warning: security: balancer-manager at /balancer-manager is open to everyone: anyone who can reach this server can disable members and change the balancers; allow only trusted addresses (allow: [local, 10.0.0.0/8]) or add a login (htpasswd: FILE)',
  ]);
});

test('check: what the schema refused is not reported a second time by the rest', () => {
  const s = salvage({ balancers: { c: { members: [{ url: 'http://h:1', route: 'a', loadfactor: 0 }, { route: 'x' }, { url: 'http://h:3', route: 'c' }] } }, bogus: 1 });
  assert.deepEqual(s.refused.sort(), ['balancers.c.members[0].loadfactor', 'balancers.c.members[1].url', 'bogus']);
  assert.deepEqual(s.raw, { balancers: { c: { members: [{ url: 'http://h:1', route: 'a' }, { url: 'http://h:3', route: 'c' }] } } });
  assert.equal(s.original('balancers.c.members[1].route'), 'balancers.c.members[2].route');
  // A rule without a target goes as a whole; the rules after it keep their own indexes.
  const rules = salvage({ proxyPass: [{ path: '/a' }, { path: '/b', to: '!' }] });
  assert.deepEqual(rules.raw, { proxyPass: [{ path: '/b', to: '!' }] });
  assert.deepEqual(rules.refused, ['proxyPass[0].to']);
  assert.equal(rules.original('proxyPass[0]'), 'proxyPass[1]');
});

test('check: YAML and JSON syntax errors give line:column and the lines around them', () => {
  assert.deepEqual(check('syn.yaml', 'balancers:\n  c:\n    members: [\n  - x\n'), [
    'syn.yaml:4:3: error: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]\n  2 |   c:\n  3 |     members: [\n  4 |   - x\n    |   ^',
  ]);
  const json = check('syn.json', '{\n  "balancers": {\n    c: 1\n  }\n}\n');
  assert.equal(json.length, 1);
  // The words are V8's own.
  assert.match(json[0], /^syn\.json:3:5: error: not valid JSON: Expected .*property name.*\n {2}1 \| \{\n {2}2 \| {3}"balancers": \{\n {2}3 \| {5}c: 1\n {4}\| {5}\^$/);
  assert.match(check('end.json', '{"listen": [80,')[0], /^end\.json:1:16: error: not valid JSON: Unexpected end of JSON input\n {2}1 \| \{"listen": \[80,\n {4}\| {16}\^$/);
});

test('check: a missing file says "no such file" with the path', () => {
  const file = join(dir, 'none.yaml');
  assert.deepEqual(analyseConfigFile(file).diagnostics.map(formatDiagnostic), [`${file}: error: no such file: ${file}`]);
  assert.deepEqual(analyseConfigFile(dir).diagnostics.map(formatDiagnostic), [`${dir}: error: ${dir} is a directory, not a config file`]);
});

test('check: advice for YAML configs in YAML terms, for Apache configs in Apache terms', () => {
  const yaml = check(
    'advice.yaml',
    `balancers:
  c:
    stickysession: _s
    nofailover: true
    members:
      - { url: http://127.0.0.1:8081 }
proxyPass:
  - { path: /, to: "balancer://c/" }
  - { path: /static, to: "!" }
manager: { allow: [all] }
`,
  );
  const text = yaml.join('\n');
  assert.doesNotMatch(text, /ProxyPass|Require|AuthType|route=|nofailover On|DocumentRoot/);
  assert.match(text, /proxyPass \{ path: \/static, to: "!" \} comes after proxyPass \{ path: \/, to: "balancer:\/\/c\/" \} \(line 8\)/);
  assert.match(text, /add route: NAME, the suffix/);
  assert.match(text, /has nofailover: true and a single member/);
  assert.match(text, /allow only trusted addresses \(allow: \[local, 10\.0\.0\.0\/8\]\) or add a login \(htpasswd: FILE\)/);
  assert.match(text, /no handler or static serves it/);
  const apache = check(
    'advice.conf',
    `<Proxy balancer://c>
  BalancerMember http://127.0.0.1:8081
</Proxy>
ProxyPass / balancer://c/ stickysession=_s
ProxyPass /static !
`,
  ).join('\n');
  assert.match(apache, /ProxyPass \/static ! comes after ProxyPass \/ balancer:\/\/c\/ \(line 4\)/);
  assert.match(apache, /add route=NAME/);
  assert.match(apache, /add "ProxyPassReverse \/ balancer:\/\/c\/"/);
});

test('check: ws:// member URLs are read as http:// (a note says so), also for redirect rewriting', () => {
  const lines = check('ws.yaml', 'balancers:\n  c:\n    members:\n      - { url: ws://127.0.0.1:8081 }\nproxyPass:\n  - { path: /, to: "balancer://c/" }\nproxyPassReverse:\n  - { path: /, to: "balancer://c/" }\n');
  assert.deepEqual(lines, [
    "ws.yaml:4: info: ws://127.0.0.1:8081 is taken as http://127.0.0.1:8081: stickylb reaches members over HTTP(S) and passes WebSocket upgrades to every member, so http://127.0.0.1:8081 says the same (Apache's mod_proxy_wstunnel would send only the upgrades there)",
  ]);
  const model = validateConfig({ balancers: { c: { members: [{ url: 'wss://10.0.0.1:8443' }] } }, proxyPassReverse: [{ path: '/', to: 'balancer://c/' }] });
  assert.equal(model.balancers.c.members[0].url, 'https://10.0.0.1:8443');
  assert.equal(model.balancers.c.members[0].protocol, 'https:');
  assert.deepEqual(model.sites[0].reverse[0].prefixes, ['https://10.0.0.1:8443/']);
});

test('schema: the routePrefix default, and the text of each duration instead of the generic one', () => {
  const schema = configJsonSchema() as any;
  assert.match(schema.properties.nodes.properties.routePrefix.description, /Default "node"\./);
  const member = schema.properties.balancers.additionalProperties.properties.members.items.properties;
  assert.match(member.connectiontimeout.description, /^How long to wait for a connection/);
  assert.match(member.retry.description, /^How long a member in error waits/);
  assert.match(schema.properties.timeout.description, /^How long to wait for a member's answer/);
  assert.match(schema.properties.rolling.properties.idle.description, /^A drained node is idle/);
  assert.match(schema.properties.proxyPass.items.properties.member.properties.connectiontimeout.description, /^How long to wait for a connection/);
  assert.match(schema.properties.proxyPass.items.properties.params.properties.timeout.description, /^How long to wait for a usable member/);
  assert.match(schema.properties.errorLog.description, /"-": standard output, the default/);
});

test('check: "Error log:" says where lines go (standard output, or the file from the config\'s folder) and how', () => {
  const file = join(dir, 'site.yaml');
  const stdout = renderSetup(describeConfig(validateConfig({}, { source: file })));
  assert.match(stdout, /\nError log: standard output, level warn, JSON lines\n/);
  const inFile = renderSetup(describeConfig(validateConfig({ errorLog: { path: 'logs/error.log', format: 'text' } }, { source: file })));
  assert.match(inFile, new RegExp(`\\nError log: ${dir}/logs/error\\.log, level warn, text lines\\n`));
});

test('logs: JSON lines carry the level by name', async () => {
  const file = join(dir, 'error.log');
  const logger = createLogger({ path: file, level: 'info' });
  logger.info('one');
  logger.error('two');
  logger.fatal('three');
  await new Promise<void>((r) => logger.flush(() => r()));
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [
    ['info', 'one'],
    ['error', 'two'],
    ['crit', 'three'],
  ]);
  assert.match(textLine(JSON.stringify({ level: 'warn', time: 0, pid: 1, msg: 'x' })), /\] \[warn\] \[pid 1\] x\n$/);
});
