// The package as a user gets it: `npm pack`, installed into a fresh project outside the repository,
// and a script there that does `import … from 'stickylb'` and `import … from 'stickylb/cluster'`,
// starts a balancer from a config object and sends a request through it to a member.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile as execFileCb } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/node-process.js';

const execFile = promisify(execFileCb);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let dir: string;
let project: string;
let packed: { filename: string; files: { path: string }[] };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickylb-entry-'));
  // Build once, then pack without the lifecycle scripts: `prepare` would only run the same build again.
  await execFile(npm, ['run', 'build'], { cwd: ROOT, maxBuffer: 16 << 20 });
  const { stdout } = await execFile(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 16 << 20 });
  [packed] = JSON.parse(stdout) as (typeof packed)[];

  project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'embeds-stickylb', private: true, type: 'module' }));
  // Installed by hand rather than `npm install --offline <tarball>`: the npm cache of this machine
  // holds package tarballs but no registry metadata, so an offline install cannot resolve the
  // dependencies (ENOTCACHED), and the tests must not use the network. The tarball is unpacked where
  // npm would put it, and the repository's node_modules (the same versions, from package-lock.json)
  // are linked in as the package's dependencies.
  const pkg = join(project, 'node_modules', 'stickylb');
  mkdirSync(pkg, { recursive: true });
  await execFile('tar', ['-xzf', join(dir, packed.filename), '-C', pkg, '--strip-components=1']);
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the entry points of both exports', () => {
  const files = new Set(packed.files.map((f) => f.path));
  for (const f of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cluster/index.js', 'dist/cluster/index.d.ts']) {
    assert.ok(files.has(f), `${f} is in ${packed.filename}`);
  }
});

test("import 'stickylb' starts a balancer that answers from its member", async () => {
  const member = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ member: 'first', url: req.url }));
  });
  await new Promise<void>((r) => member.listen(0, '127.0.0.1', r));
  const memberUrl = `http://127.0.0.1:${(member.address() as AddressInfo).port}`;
  writeFileSync(join(project, 'lb.yaml'), 'balancers:\n  app:\n    members:\n      - { url: "http://127.0.0.1:9", route: first }\n');
  writeFileSync(
    join(project, 'embed.mjs'),
    `
import { ConfigError, loadConfig, start } from 'stickylb';
import { createCluster, urlParam } from 'stickylb/cluster';

const id = createCluster({ route: 'first' }).newSessionId();
const app = await start({
  listen: ['127.0.0.1:0'],
  errorLog: { level: 'error' },
  balancers: { app: { stickysession: '_s', members: [{ url: process.argv[2], route: 'first' }] } },
  proxyPass: [{ path: '/', to: 'balancer://app/' }],
});
const res = await fetch(\`http://127.0.0.1:\${app.addresses[0].port}/hello?_s=\${id}\`);
const body = await res.json();
await app.close(1000);
const fromFile = loadConfig('lb.yaml').model;
const refused = await start({ listen: ['127.0.0.1:0'], nosuchsetting: 1 }).then(() => 'started', (e) => e instanceof ConfigError);
console.log(JSON.stringify({
  status: res.status,
  body,
  id,
  idInUrl: urlParam(body.url, '_s'),
  fileMember: fromFile.balancers.app.members[0].route,
  refused,
}));
`,
  );
  try {
    const { stdout } = await execFile(process.execPath, ['embed.mjs', memberUrl], { cwd: project, timeout: 30_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.equal(out.status, 200);
    assert.equal(out.body.member, 'first');
    assert.equal(out.body.url, `/hello?_s=${out.id}`);
    assert.equal(out.idInUrl, out.id);
    assert.equal(out.fileMember, 'first');
    assert.equal(out.refused, true);
  } finally {
    await new Promise((r) => member.close(r));
  }
});

test("the types of 'stickylb' and 'stickylb/cluster' resolve for a TypeScript user", async () => {
  writeFileSync(
    join(project, 'consumer.ts'),
    `
import { loadConfig, start, type App, type ConfigModel, type RuntimeState, type StickylbConfig } from 'stickylb';
import { createCluster } from 'stickylb/cluster';

const config: StickylbConfig = {
  listen: ['127.0.0.1:0'],
  balancers: { app: { stickysession: '_s', timeout: '5s', members: [{ url: 'http://127.0.0.1:1', route: createCluster({ route: 'first' }).route }] } },
};
export async function run(file: string): Promise<RuntimeState> {
  const app: App = await start(config, { source: file });
  const model: ConfigModel = loadConfig(file).model;
  await app.reload(model);
  return app.runtime;
}
// @ts-expect-error a misspelt setting does not type-check
export const misspelt: StickylbConfig = { lsiten: [8080] };
`,
  );
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const args = ['--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--skipLibCheck'];
  args.push('--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'consumer.ts');
  await execFile(process.execPath, [tsc, ...args], { cwd: project }).catch((e: { stdout?: string }) => {
    assert.fail(`tsc refused consumer.ts:\n${e.stdout ?? String(e)}`);
  });
});
