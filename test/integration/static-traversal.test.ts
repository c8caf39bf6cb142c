// Every way out of the static root is refused. Requests go out as raw bytes over a socket, so no
// client library normalises the path first; the secret file sits next to the root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';
import { memoryLogger } from '../../src/log/logger.js';

const SECRET = 'TOP-SECRET-1f3a';
let dir: string;
let lb: RunningBalancer;
const mem = memoryLogger('debug');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickylb-traversal-'));
  const real = join(dir, 'html');
  mkdirSync(join(real, 'files'), { recursive: true });
  writeFileSync(join(dir, 'secret.txt'), `${SECRET}\n`);
  mkdirSync(join(dir, 'private'));
  writeFileSync(join(dir, 'private', 'key.pem'), `${SECRET}\n`);
  writeFileSync(join(real, 'public.txt'), 'public\n');
  writeFileSync(join(real, 'files', 'a.css'), 'a{}\n');
  // Symlinks that point out of the root, and one that stays inside it.
  symlinkSync(join(dir, 'secret.txt'), join(real, 'escape-file'));
  symlinkSync('../../private', join(real, 'files', 'escape-dir'));
  symlinkSync('public.txt', join(real, 'inside-link.txt'));
  // The root itself is reached through a symlink: containment is checked on real paths.
  symlinkSync(real, join(dir, 'root-link'));
  lb = await startBalancer(
    { proxyPass: [{ path: '/files', to: '!' }], static: { root: join(dir, 'root-link') } },
    { logger: mem.logger },
  );
});

after(async () => {
  await lb?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the root serves its own files, also through a symlink that stays inside', async () => {
  const r = await rawGet(lb.port, '/public.txt');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'public\n');
  const link = await rawGet(lb.port, '/inside-link.txt');
  assert.equal(link.status, 200);
  assert.equal(link.body, 'public\n');
});

// [request target, status, what the error log says]. Dot segments that climb above `/` are
// refused by the listener itself with 400, as Apache does; what reaches the static handler and
// still points outside the root gets 404.
const attempts: [string, number, RegExp][] = [
  ['/../secret.txt', 400, /refused request path.*above the root/],
  ['/files/../../secret.txt', 400, /refused request path/],
  ['/%2e%2e/secret.txt', 400, /refused request path/],
  ['/%2E%2E/%2e%2e/secret.txt', 400, /refused request path/],
  ['/.%2e/secret.txt', 400, /refused request path/],
  ['/files/%2e%2e/%2e%2e/secret.txt', 400, /refused request path/],
  ['/..%2fsecret.txt', 404, /static: refused.*encoded slash/],
  ['/%2e%2e%2fsecret.txt', 404, /static: refused.*encoded slash/],
  ['/files/..%2F..%2Fsecret.txt', 404, /static: refused.*encoded slash/],
  ['/..%5csecret.txt', 404, /static: refused.*backslash/],
  ['/files/..%5C..%5Csecret.txt', 404, /static: refused.*backslash/],
  ['/..\\secret.txt', 404, /static: refused.*backslash/],
  ['/files\\..\\..\\secret.txt', 404, /static: refused.*backslash/],
  ['/secret.txt%00.html', 400, /refused request path.*NUL/],
  ['/public.txt%00', 400, /refused request path.*NUL/],
  ['/escape-file', 404, /static: refused.*outside the root/],
  ['/files/escape-dir/key.pem', 404, /static: refused.*outside the root/],
];

for (const [target, status, logged] of attempts) {
  test(`refused: ${target}`, async () => {
    const before = mem.lines.length;
    const r = await rawGet(lb.port, target);
    assert.equal(r.status, status, `${target}: ${r.raw.split('\r\n')[0]}`);
    assert.ok(!r.raw.includes(SECRET), 'the secret never leaks');
    const lines = mem.lines.slice(before);
    assert.ok(
      lines.some((l) => l.level >= 40 && logged.test(l.msg)),
      `${target}: expected a warning matching ${logged}; got ${JSON.stringify(lines.map((l) => l.msg))}`,
    );
  });
}

test('refused: a raw NUL byte in the request line', async () => {
  const r = await rawRequest(lb.port, 'GET /public.txt\0/../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 400);
  assert.ok(!r.raw.includes(SECRET));
});

test('refused: absolute-form and double-encoded targets stay inside the root', async () => {
  const abs = await rawGet(lb.port, 'http://127.0.0.1/../secret.txt');
  assert.notEqual(abs.status, 200);
  assert.ok(!abs.raw.includes(SECRET));
  // %252e%252e names a file literally called "%2e%2e": nothing to find, and no way up.
  const double = await rawGet(lb.port, '/%252e%252e/secret.txt');
  assert.equal(double.status, 404);
  assert.ok(!double.raw.includes(SECRET));
});

test('refused: HEAD and Range requests for an escaping symlink', async () => {
  const head = await rawGet(lb.port, '/escape-file', [], 'HEAD');
  assert.equal(head.status, 404);
  const range = await rawGet(lb.port, '/escape-file', ['Range: bytes=0-3']);
  assert.equal(range.status, 404);
  assert.ok(!range.raw.includes(SECRET.slice(0, 4)));
});
