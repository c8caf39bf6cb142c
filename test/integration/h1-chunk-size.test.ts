// Chunk sizes through the lean engine over a raw socket: leading zeros are not digits of the
// size (nginx, HAProxy, Apache and llhttp accept any number of them), while a size with more
// significant digits than a safe integer holds is still refused before anything is forwarded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { rawRequest } from '../helpers/raw-http.js';

let backend: Backend;
let lb: RunningBalancer;

before(async () => {
  backend = await startBackend({ name: 'node1', handler: (_req, res) => res.end('ok') });
  lb = await startBalancer({
    engine: 'lean',
    balancers: { c: { members: [{ url: backend.url, route: 'node1' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
});

after(async () => {
  await lb.close();
  await backend.close();
});

const post = (body: string) => rawRequest(lb.port, `POST /zeros HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`);

test('a chunk size written with 21 digits, most of them leading zeros, reaches the member decoded', async () => {
  const before = backend.seen.length;
  const r = await post('000000000000000000005\r\nhello\r\n0\r\n\r\n');
  assert.equal(r.status, 200, r.raw.slice(0, 200));
  assert.equal(backend.seen.length, before + 1);
  assert.equal(backend.seen[before].url, '/zeros');
  assert.equal(backend.seen[before].body, 'hello');
});

test('a chunk size of 14 significant digits is refused, leading zeros or not, and not forwarded', async () => {
  for (const size of ['10000000000000', '00000000000000000010000000000000']) {
    const before = backend.seen.length;
    const r = await post(`${size}\r\nhello\r\n0\r\n\r\n`);
    assert.equal(r.status, 400, `${size}: ${r.raw.slice(0, 200)}`);
    assert.equal(backend.seen.length, before, size);
  }
});
