// The large libraries of optional features (ACME, X.509, Redis, DNS messages, static files,
// TLS-ALPN-01 ClientHellos, Prometheus metrics) are
// loaded only by a config that uses them: a plain balancer does not carry their memory. A module
// hook in the real `stickylb run` process lists every package it imports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { freePort } from '../helpers/edge.js';

const OPTIONAL = ['acme-client', '@peculiar/x509', 'ioredis', 'dns-packet', 'send', 'mime-types', 'read-tls-client-hello', 'prom-client'];

let dir: string;
let backend: Backend;
let proc: NodeProcess | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickylb-lazy-'));
  // Records each bare specifier (a package) the process resolves, one per line.
  writeFileSync(
    join(dir, 'hook.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  if (/^(@[\\w.-]+\\/)?[\\w.-]+$/.test(spec) && !spec.startsWith('node:')) appendFileSync(${JSON.stringify(join(dir, 'imports.txt'))}, spec + '\\n');
  return next(spec, ctx);
}
`,
  );
  backend = await startBackend({ name: 'one' });
});

after(async () => {
  await proc?.stop('SIGKILL');
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

function imports(): string[] {
  const f = join(dir, 'imports.txt');
  return existsSync(f) ? [...new Set(readFileSync(f, 'utf8').split('\n').filter(Boolean))] : [];
}

async function run(lines: string[]): Promise<number> {
  // A test that failed before stopping its balancer leaves it to the next one (or to `after`).
  await proc?.stop('SIGKILL');
  proc = undefined;
  rmSync(join(dir, 'imports.txt'), { force: true });
  const port = await freePort();
  const config = join(dir, 'stickylb.yaml');
  writeFileSync(config, [`listen: ["127.0.0.1:${port}"]`, 'errorLog: { level: error }', ...lines, ''].join('\n'));
  proc = startCli(['run', '-c', config], { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --no-warnings --experimental-loader=${pathToFileURL(join(dir, 'hook.mjs')).href}` });
  await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:/, 60_000);
  return port;
}

test('a plain balancer loads none of the optional features’ libraries', async () => {
  const port = await run(['balancers:', '  c:', '    members:', `      - { url: "${backend.url}", route: one }`, 'proxyPass:', '  - { path: /, to: "balancer://c/" }']);
  const r = await request(`http://127.0.0.1:${port}/x`);
  assert.equal(r.status, 200);
  const loaded = imports();
  // The hook saw the packages every balancer needs (so it works), and none of the optional ones.
  assert.ok(loaded.includes('pino') && loaded.includes('zod'), `imports seen: ${loaded.join(', ')}`);
  assert.deepEqual(
    OPTIONAL.filter((m) => loaded.includes(m)),
    [],
  );
  await proc!.stop();
  proc = undefined;
});

test('static files load send and mime-types with the first file served', async () => {
  mkdirSync(join(dir, 'html'), { recursive: true });
  writeFileSync(join(dir, 'html', 'index.html'), '<p>hello</p>');
  const port = await run(['static: { root: html }']);
  assert.ok(!imports().includes('send'), 'send is not loaded before a file is asked for');
  const r = await request(`http://127.0.0.1:${port}/index.html`);
  assert.equal(r.status, 200);
  assert.match(r.body, /hello/);
  await until(() => imports().includes('send') && imports().includes('mime-types'), 'send and mime-types loaded', 10_000);
  await proc!.stop();
  proc = undefined;
});
