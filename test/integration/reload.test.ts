// Reload: new requests use the new config, in-flight requests finish, a broken config is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const backends: Backend[] = [];
after(async () => {
  for (const b of backends) await b.close();
});

function echo(req: http.IncomingMessage, res: http.ServerResponse, member: string): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ member, url: req.url }));
}

function config(port: number, members: Backend[]): RawConfig {
  return {
    listen: [`127.0.0.1:${port}`],
    balancers: { c: { stickysession: '_s|_s', members: members.map((b) => ({ url: b.url, route: b.route })) } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  };
}

test('reload under load: no failed request, the new member is used, the removed one is not', async () => {
  // `a` answers /slow after 300 ms, so one request is still in flight when the config changes.
  const slowly = (req: http.IncomingMessage, res: http.ServerResponse) =>
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ member: 'a', url: req.url }));
    }, 300);
  const [a, b, c] = await Promise.all([
    startBackend({ name: 'a', handler: (req, res) => (req.url === '/slow' ? slowly(req, res) : echo(req, res, 'a')) }),
    startBackend({ name: 'b' }),
    startBackend({ name: 'c' }),
  ]);
  backends.push(a, b, c);
  const lb = await startBalancer(config(0, [a, b]));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const seen = { before: new Set<string>(), after: new Set<string>() };
  let phase: 'before' | 'after' = 'before';
  let failures = 0;
  let total = 0;
  let stop = false;
  const load = Array.from({ length: 4 }, async () => {
    while (!stop && total < 4000) {
      total++;
      const r = await request(`${lb.url}/x`, { agent }).catch(() => undefined);
      if (!r || r.status !== 200) failures++;
      else seen[phase].add(r.json().member);
    }
  });
  await until(() => total > 200, 'load running');
  // A slow request in flight across the reload must complete.
  const slow = request(`${lb.url}/slow`, { headers: { cookie: '_s=z.a' } });
  await until(() => a.seen.some((r) => r.url === '/slow'), 'slow request reached a');
  await lb.app.reload(validateConfig(config(lb.port, [b, c])));
  phase = 'after';
  const afterStart = total;
  await until(() => total > afterStart + 300, 'load after reload');
  stop = true;
  await Promise.all(load);
  agent.destroy();
  assert.equal(failures, 0, `${failures} of ${total} requests failed`);
  assert.deepEqual([...seen.before].sort(), ['a', 'b']);
  assert.ok(seen.after.has('c'), 'new member used after reload');
  // Requests that were already sent to `a` may finish after the switch; new ones never go there.
  const late = await Promise.all(Array.from({ length: 30 }, () => request(`${lb.url}/x`)));
  assert.ok(late.every((r) => r.json().member !== 'a'), 'removed member no longer used');
  const s = await slow;
  assert.equal(s.status, 200);
  assert.equal(s.json().member, 'a');
  await lb.close();
});

test('runtime changes of members that still exist carry over a reload', async () => {
  const [a, b] = await Promise.all([startBackend({ name: 'a2', route: 'a' }), startBackend({ name: 'b2', route: 'b' })]);
  backends.push(a, b);
  const lb = await startBalancer(config(0, [a, b]));
  const bal = lb.app.runtime.balancer('c')!;
  bal.setMember(bal.members[0], { status: { D: true } }, 'manager');
  for (let i = 0; i < 5; i++) await request(`${lb.url}/`);
  const elected = bal.members[1].elected;
  await lb.app.reload(validateConfig(config(lb.port, [a, b])));
  const next = lb.app.runtime.balancer('c')!;
  assert.notEqual(next, bal);
  assert.equal(next.members[0].flags.D, true, 'disabled by the manager, still disabled');
  assert.equal(next.members[1].elected, elected, 'counters carried over');
  for (let i = 0; i < 5; i++) assert.equal((await request(`${lb.url}/`)).json().member, 'b2');
  await lb.close();
});

test('SIGHUP with a broken config: refused, logged, the running config stays', async () => {
  const [a, b] = await Promise.all([startBackend({ name: 'a3' }), startBackend({ name: 'b3' })]);
  backends.push(a, b);
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-reload-'));
  const file = join(dir, 'lb.yaml');
  const yaml = (members: Backend[], extra = '') =>
    [
      `listen: ["127.0.0.1:${port}"]`,
      'errorLog: { level: info }',
      'balancers:',
      '  c:',
      '    members:',
      ...members.map((m) => `      - { url: "${m.url}", route: ${m.route}${extra} }`),
      'proxyPass:',
      '  - { path: /, to: "balancer://c/" }',
      '',
    ].join('\n');
  writeFileSync(file, yaml([a]));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'run', '-c', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    await until(() => out.includes('stickylb listening'), 'balancer up', 20_000);
    assert.equal((await request(`http://127.0.0.1:${port}/`)).json().member, 'a3');

    writeFileSync(file, yaml([b], ', loadfactor: 250'));
    child.kill('SIGHUP');
    await until(() => out.includes('reload refused'), 'reload refused in the log');
    assert.match(out, /loadfactor: 250 is out of range 1\.\.100/);
    assert.equal((await request(`http://127.0.0.1:${port}/`)).json().member, 'a3', 'old config still running');

    writeFileSync(file, yaml([b]));
    child.kill('SIGHUP');
    await until(async () => (await request(`http://127.0.0.1:${port}/`)).json().member === 'b3', 'new config in use');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
});
