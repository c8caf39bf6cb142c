// `stickylb reload --upgrade` under load: new worker processes start on the stickylb installed
// now, the old ones finish their keep-alive connections and exit; no request fails and no
// connection is refused. The balancer runs from a copy of the package whose version is changed
// after it started, as an installation of a new version would.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBackend, deadPort as freePort, type Backend } from '../helpers/backends.js';
import http from 'node:http';
import { request, until } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { ROOT, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';
import { stickylb } from '../helpers/stickylb-cli.js';

const backends: Backend[] = [];
let proc: NodeProcess | undefined;
const copies: string[] = [];
after(async () => {
  await proc?.stop('SIGTERM', 20_000);
  for (const b of backends) await b.close();
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the package (sources, package.json), as an installation in another place. */
function installCopy(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-install-'));
  copies.push(dir);
  cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  setVersion(dir, version);
  return dir;
}

function setVersion(dir: string, version: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version }, null, 2));
}

test('reload --upgrade under load: new workers run the installed version, the old ones drain; 0 failed, 0 refused', async () => {
  backends.push(await startBackend({ name: 'a' }), await startBackend({ name: 'b' }));
  const install = installCopy('1.0.0-old');
  const port = await freePort();
  const file = join(install, 'stickylb.yaml');
  writeFileSync(
    file,
    stringify({
      listen: [`127.0.0.1:${port}`],
      workers: 2,
      errorLog: { path: join(install, 'error.log'), level: 'info' },
      manager: { path: '/balancer-manager' },
      balancers: { c: { stickysession: '_s', members: backends.map((b) => ({ url: b.url, route: b.name })) } },
      proxyPass: [{ path: '/', to: 'balancer://c/' }],
    }),
  );
  const main = new URL(`file://${join(install, 'src/cli/main.ts')}`).href;
  const code = `import { main } from ${JSON.stringify(main)}; main(process.argv.slice(1)).then((c) => { process.exitCode = c; });`;
  proc = startNodeProcess(['--import', 'tsx', '--input-type=module', '-e', code, 'run', '-c', file]);
  await proc.waitFor(/worker processes/, 60_000);
  const url = `http://127.0.0.1:${port}`;
  const manager = `${url}/balancer-manager`;
  const agent = new http.Agent({ keepAlive: false });
  const workers = async () => (await request(`${manager}/api/workers`, { agent })).json();
  const before = await workers();
  assert.deepEqual(
    before.workers.map((w: { version: string }) => w.version),
    ['1.0.0-old', '1.0.0-old'],
  );

  const load = startLoad({ url: () => `${url}/u`, concurrency: 6 });
  try {
    await until(() => load.stats.ok >= 300, 'load running', 30_000);
    // "Install" a new version, then upgrade.
    setVersion(install, '1.0.1-new');
    const r = await stickylb(['reload', '--upgrade', '--url', manager]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /generation 2 serves/);
    const ok = load.stats.ok;
    await until(() => load.stats.ok >= ok + 300, 'load after the upgrade', 30_000);
  } finally {
    const stats = await load.stop();
    assert.equal(stats.failed, 0, stats.errors.join('\n'));
    assert.equal(stats.refused, 0, 'a connection was refused');
  }
  const now = await workers();
  assert.equal(now.generation, 2);
  assert.deepEqual(
    now.workers.map((w: { version: string; generation: number }) => `${w.generation} ${w.version}`),
    ['2 1.0.1-new', '2 1.0.1-new'],
  );
  // The previous workers are gone, the owner is the same process.
  for (const w of before.workers as { pid: number }[]) assert.throws(() => process.kill(w.pid, 0), /ESRCH/);
  assert.equal(now.owner.pid, before.owner.pid);
});
