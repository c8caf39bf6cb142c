// The large libraries of optional features (ACME, X.509, Redis, DNS messages, static files,
// TLS-ALPN-01 ClientHellos, Prometheus metrics) are
// loaded only by a config that uses them: a plain balancer does not carry their memory. Nor does it
// carry the config loader's (zod, yaml, the front ends): `stickylb run` reads its config in a child
// process. A module hook in the real `stickylb run` processes lists every module each one loads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { apiGet, apiSend } from '../helpers/manager.js';
import { freePort } from '../helpers/edge.js';

/** What reads a config file: the loader's libraries and our own modules. */
const LOADER = ['zod', 'yaml', 'config/load', 'config/schema', 'config/validate', 'config/apache/index'];
/** What a plain HTTP/1.1 balancer without passwords does not need: HTTP/2, TLS listeners, the password hashes, the resolver. */
const UNUSED = ['bcryptjs', 'apache-md5', 'apache-crypt', 'unixcrypt', 'proxy/h2/session', 'proxy/h2/dispatch', 'proxy/h2/stream', 'tls/listener', 'config/resolve'];
/** The pages of the built-in handlers, loaded when a config serves them. */
const PAGES = ['manager/page/manager-handler', 'manager/api/api', 'manager/status/status-handler'];
const OPTIONAL = ['acme-client', '@peculiar/x509', 'ioredis', 'dns-packet', 'send', 'mime-types', 'read-tls-client-hello', 'prom-client'];

let dir: string;
let backend: Backend;
let proc: NodeProcess | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickylb-lazy-'));
  // Records the URL of every module a process loads, with the process's pid, one per line.
  writeFileSync(
    join(dir, 'hook.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function load(url, ctx, next) {
  appendFileSync(${JSON.stringify(join(dir, 'imports.txt'))}, process.pid + ' ' + url + '\\n');
  return next(url, ctx);
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

/** The modules loaded so far, by the serving process (`pid`) or by any: package names and our own files (`config/schema`). */
function imports(pid?: number): string[] {
  const f = join(dir, 'imports.txt');
  if (!existsSync(f)) return [];
  const out = new Set<string>();
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const [p, url] = line.split(' ');
    if (!url || (pid !== undefined && Number(p) !== pid)) continue;
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    const own = /\/(?:src|dist)\/(.+)\.[jt]s$/.exec(url);
    if (pkg) out.add(pkg[1]);
    else if (own) out.add(own[1]);
  }
  return [...out];
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
  // The config was read by another process (the hook saw it load the loader's libraries); the
  // serving process has none of them.
  const serving = imports(proc!.child.pid);
  assert.ok(serving.includes('pino') && serving.includes('app'), `serving process: ${serving.join(', ')}`);
  assert.deepEqual(
    [...LOADER, ...PAGES, ...UNUSED].filter((m) => serving.includes(m)),
    [],
  );
  await proc!.stop();
  proc = undefined;
});

test('static files load send and mime-types with the first file served', async () => {
  mkdirSync(join(dir, 'html'), { recursive: true });
  writeFileSync(join(dir, 'html', 'index.html'), '<p>hello</p>');
  const port = await run(['static: { root: html }']);
  assert.ok(!imports(proc!.child.pid).includes('send'), 'send is not loaded before a file is asked for');
  const r = await request(`http://127.0.0.1:${port}/index.html`);
  assert.equal(r.status, 200);
  assert.match(r.body, /hello/);
  await until(() => imports(proc!.child.pid).includes('send') && imports(proc!.child.pid).includes('mime-types'), 'send and mime-types loaded', 10_000);
  await proc!.stop();
  proc = undefined;
});

test('a balancer with a manager loads its pages and its JSON API (zod included) at start', async () => {
  const port = await run(['balancers:', '  c:', '    members:', `      - { url: "${backend.url}", route: one }`, 'proxyPass:', '  - { path: /, to: "balancer://c/" }', 'manager: {}']);
  const base = `http://127.0.0.1:${port}`;
  const pid = proc!.child.pid;
  const all = await apiGet(base);
  assert.deepEqual(
    PAGES.filter((m) => m.startsWith('manager/page/') || m.startsWith('manager/api/')).filter((m) => !imports(pid).includes(m)),
    [],
  );
  // Code the config serves is loaded at start, never first by a request (a newer install could
  // be on disk by then).
  await until(() => imports(pid).includes('zod') && imports(pid).includes('rolling/api') && imports(pid).includes('workers/reload-api'), 'the API bodies loaded at start', 10_000);
  const r = await apiSend(base, 'PATCH', '/balancers/c/members/one', { lbfactor: 2 }, { 'X-Stickylb-Nonce': all.balancers[0].nonce });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json<{ member: { lbfactor: number } }>().member.lbfactor, 2);
  const bad = await apiSend(base, 'PATCH', '/balancers/c/members/one', { lbfactor: 'many' }, { 'X-Stickylb-Nonce': all.balancers[0].nonce });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /lbfactor/);
  await proc!.stop();
  proc = undefined;
});

test('a reload that turns the manager and server-status on loads their pages, and they answer', async () => {
  const base = ['balancers:', '  c:', '    members:', `      - { url: "${backend.url}", route: one }`, 'proxyPass:', '  - { path: /, to: "balancer://c/" }'];
  const port = await run(base);
  const pid = proc!.child.pid;
  assert.deepEqual(
    PAGES.filter((m) => imports(pid).includes(m)),
    [],
  );
  const config = join(dir, 'stickylb.yaml');
  writeFileSync(config, [`listen: ["127.0.0.1:${port}"]`, 'errorLog: { level: error }', ...base, 'manager: {}', 'serverStatus: {}', ''].join('\n'));
  proc!.child.kill('SIGHUP');
  // Until the reload, the member answers these paths.
  await until(async () => /"balancers"/.test((await request(`http://127.0.0.1:${port}/balancer-manager/api`)).body), 'the manager after the reload', 30_000);
  const status = await request(`http://127.0.0.1:${port}/server-status?auto`);
  assert.equal(status.status, 200);
  assert.match(status.body, /Total Accesses: \d+/);
  assert.deepEqual(
    PAGES.filter((m) => !imports(pid).includes(m)),
    [],
  );
  await proc!.stop();
  proc = undefined;
});
