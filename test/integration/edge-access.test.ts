// Access rules on proxied paths, enforced, on both engines, and the same config run by Apache
// httpd: whatever Apache lets in or refuses (Require local, ip, host, all, user, group,
// valid-user, <LocationMatch>, <Proxy>, Order/Allow/Deny, Satisfy Any), stickylb does too.
// Password files are written by Debian's htpasswd in each of its formats; one is changed while
// the balancer runs. The seed configs' manager and status rules, against Apache as well.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { until } from '../helpers/http.js';
import { freePort, get, haveApache, startApache, type RunningApache } from '../helpers/edge.js';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { RawConfig } from '../../src/config/schema.js';

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

let dir: string;
let member: Backend;
/** Users by the htpasswd option that wrote their password. */
const USERS: [string, string][] = [
  ['-B', 'bcrypt'],
  ['-m', 'md5'],
  ['-s', 'sha1'],
  ['-d', 'crypt'],
  ['-2', 'sha256'],
  ['-5', 'sha512'],
];

function htpasswd(args: string[]): void {
  const r = spawnSync('htpasswd', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickylb-access-'));
  // Apache's workers read the password files as nobody.
  chmodSync(dir, 0o755);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'users'), '');
  for (const [flag, user] of USERS) htpasswd(['-b', flag, join(dir, 'users'), user, `pw-${user}`]);
  writeFileSync(join(dir, 'groups'), 'ops: md5 sha512\n');
  chmodSync(join(dir, 'users'), 0o644);
  member = await startBackend({ name: 'm' });
  cleanup.push(() => member.close());
});

/** The config both servers run (Apache syntax), the member's port filled in. */
function config(): string {
  return `
<Proxy balancer://c>
  BalancerMember http://127.0.0.1:${member.port} route=m
</Proxy>
ProxyPass / balancer://c/
<Location /admin>
  AuthType Basic
  AuthName "Admins"
  AuthUserFile ${dir}/users
  Require valid-user
</Location>
<Location /ops>
  AuthType Basic
  AuthName "Ops"
  AuthUserFile ${dir}/users
  AuthGroupFile ${dir}/groups
  Require group ops
</Location>
<Location /named>
  AuthType Basic
  AuthName "Named"
  AuthUserFile ${dir}/users
  <RequireAll>
    Require user bcrypt md5
    Require local
  </RequireAll>
</Location>
<Location /local>
  Require local
</Location>
<Location /ip>
  Require ip 127.0.0.1
</Location>
<Location /notwo>
  <RequireAll>
    Require all granted
    Require not ip 127.0.0.2
  </RequireAll>
</Location>
<Location /host>
  Require host localhost
</Location>
<Location /all>
  Require all granted
</Location>
<Location /closed>
  Require all denied
</Location>
<LocationMatch "^/(secret|hidden)/">
  Require all denied
</LocationMatch>
<Location /old>
  Order Deny,Allow
  Deny from all
  Allow from 127.0.0.1
</Location>
<Location /either>
  Satisfy Any
  Order Allow,Deny
  Allow from 127.0.0.2
  AuthType Basic
  AuthName "Either"
  AuthUserFile ${dir}/users
  Require valid-user
</Location>
`;
}

async function stickylb(engine: 'lean' | 'node', text: string): Promise<RunningBalancer> {
  const file = join(dir, `stickylb-${engine}.conf`);
  writeFileSync(file, text);
  const r = parseApacheConfig(text, file);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const raw = r.raw as RawConfig;
  delete raw.listen;
  for (const vh of raw.virtualHosts ?? []) delete vh.listen;
  const lb = await startBalancer({ ...raw, engine });
  cleanup.push(() => lb.close());
  return lb;
}

type Case = [path: string, from: '127.0.0.1' | '127.0.0.2', user?: [string, string]];
const CASES: Case[] = [
  ['/admin/x', '127.0.0.1'],
  ...USERS.map(([, u]): Case => ['/admin/x', '127.0.0.1', [u, `pw-${u}`]]),
  ['/admin/x', '127.0.0.1', ['bcrypt', 'wrong']],
  ['/admin/x', '127.0.0.1', ['md5', 'wrong']],
  ['/admin/x', '127.0.0.1', ['nobody', 'pw-bcrypt']],
  ['/ops', '127.0.0.1', ['md5', 'pw-md5']],
  ['/ops', '127.0.0.1', ['bcrypt', 'pw-bcrypt']],
  ['/named', '127.0.0.1', ['bcrypt', 'pw-bcrypt']],
  ['/named', '127.0.0.1', ['sha1', 'pw-sha1']],
  ['/named', '127.0.0.2', ['md5', 'pw-md5']],
  ['/local', '127.0.0.1'],
  ['/local', '127.0.0.2'],
  ['/ip', '127.0.0.1'],
  ['/ip', '127.0.0.2'],
  ['/notwo', '127.0.0.1'],
  ['/notwo', '127.0.0.2'],
  ['/host', '127.0.0.1'],
  ['/host', '127.0.0.2'],
  ['/all', '127.0.0.2'],
  ['/closed', '127.0.0.1'],
  ['/secret/x', '127.0.0.1'],
  ['/secretx', '127.0.0.1'],
  ['/old', '127.0.0.1'],
  ['/old', '127.0.0.2'],
  ['/either', '127.0.0.2'],
  ['/either', '127.0.0.1'],
  ['/either', '127.0.0.1', ['sha256', 'pw-sha256']],
];

/** What Apache httpd 2.4 answers each case (checked against a running httpd below). */
const APACHE: number[] = [401, 200, 200, 200, 200, 200, 200, 401, 401, 401, 200, 401, 200, 401, 200, 200, 200, 200, 403, 200, 403, 200, 403, 200, 403, 403, 200, 200, 403, 200, 401, 200];

async function statuses(port: number): Promise<number[]> {
  const out: number[] = [];
  for (const [path, from, user] of CASES) out.push((await get(port, path, { from, user })).status);
  return out;
}

test('access rules on proxied paths: Apache httpd answers as the table says', { skip: haveApache ? false : 'Apache httpd (apache2) is not installed' }, async () => {
  const httpd: RunningApache = await startApache(config());
  cleanup.push(() => httpd.close());
  assert.deepEqual(await statuses(httpd.port), APACHE);
});

for (const engine of ['lean', 'node'] as const) {
  test(`${engine}: access rules on proxied paths are enforced as Apache does; refused requests never reach the member`, async () => {
    const lb = await stickylb(engine, config());
    const before = member.seen.length;
    const got = await statuses(lb.port);
    assert.deepEqual(
      CASES.map((c, i) => `${c[0]} ${c[1]} ${c[2]?.join(':') ?? '-'} ${got[i]}`),
      CASES.map((c, i) => `${c[0]} ${c[1]} ${c[2]?.join(':') ?? '-'} ${APACHE[i]}`),
    );
    assert.equal(member.seen.length - before, APACHE.filter((s) => s === 200).length);
    const challenge = await get(lb.port, '/admin/x');
    assert.equal(challenge.headers['www-authenticate'], 'Basic realm="Admins", charset="UTF-8"');
    assert.equal(lb.app.server.edge.counters.authFailed > 0 && lb.app.server.edge.counters.accessDenied > 0, true);
  });

  test(`${engine}: an htpasswd file changed while running is read again`, async () => {
    const file = join(dir, `users-${engine}`);
    writeFileSync(file, readFileSync(join(dir, 'users')));
    const text = config().replaceAll(`AuthUserFile ${dir}/users\n  Require valid-user`, `AuthUserFile ${file}\n  Require valid-user`);
    const lb2 = await stickylb(engine, text);
    assert.equal((await get(lb2.port, '/admin/x', { user: ['md5', 'pw-md5'] })).status, 200);
    htpasswd(['-b', '-m', file, 'md5', 'changed']);
    htpasswd(['-D', file, 'sha1']);
    await until(async () => (await get(lb2.port, '/admin/x', { user: ['md5', 'changed'] })).status === 200, 'the new password to work');
    assert.equal((await get(lb2.port, '/admin/x', { user: ['md5', 'pw-md5'] })).status, 401);
    assert.equal((await get(lb2.port, '/admin/x', { user: ['sha1', 'pw-sha1'] })).status, 401);
    assert.equal((await get(lb2.port, '/admin/x', { user: ['bcrypt', 'pw-bcrypt'] })).status, 200);
  });
}

const FIX = 'test/fixtures/apache';

/** A seed config with its member ports replaced (the handlers need no member). */
function seed(name: string, ports: Record<string, number>): string {
  let text = readFileSync(`${FIX}/${name}.conf`, 'utf8');
  for (const [from, to] of Object.entries(ports)) text = text.replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${to}`);
  return text.replaceAll('/home/sven', dir).replace(/^\s*(ErrorLog|CustomLog|LogLevel|DocumentRoot).*$/gm, '').replace(/<Directory[\s\S]*?<\/Directory>/, '');
}

const SEED_CASES: [string, '127.0.0.1' | '127.0.0.2'][] = [
  ['/balancer-manager', '127.0.0.1'],
  ['/balancer-manager', '127.0.0.2'],
  ['/server-status', '127.0.0.1'],
  ['/server-status', '127.0.0.2'],
];
/** Philippe's manager and status pages: 127.0.0.1 and "localhost" (double-reverse DNS) only. */
const PHILIPPE = [200, 403, 200, 403];
/** Sven's: everyone (Allow from all). */
const SVEN = [200, 200, 200, 200];

test("the seed configs' access rules under Apache httpd", { skip: haveApache ? false : 'Apache httpd (apache2) is not installed' }, async () => {
  for (const [name, want] of [
    ['philippe', PHILIPPE],
    ['sven', SVEN],
  ] as const) {
    const other = await freePort();
    const httpd = await startApache(seed(name, { 8080: member.port, 9090: other, 8081: member.port, 8082: other }).replace(/<VirtualHost [^>]*>/, '<VirtualHost *>'));
    const got: number[] = [];
    for (const [path, from] of SEED_CASES) got.push((await get(httpd.port, path, { from })).status);
    await httpd.close();
    assert.deepEqual(got, want, name);
  }
});

for (const engine of ['lean', 'node'] as const) {
  test(`${engine}: the seed configs' access rules let in and refuse whom Apache does`, async () => {
    for (const [name, want] of [
      ['philippe', PHILIPPE],
      ['sven', SVEN],
    ] as const) {
      const other = await freePort();
      const lb = await stickylb(engine, seed(name, { 8080: member.port, 9090: other, 8081: member.port, 8082: other }));
      const got: number[] = [];
      for (const [path, from] of SEED_CASES) got.push((await get(lb.port, path, { from })).status);
      assert.deepEqual(got, want, name);
    }
  });
}
