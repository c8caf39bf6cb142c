// The manager of a balancer with worker processes, reached over HTTPS: a change is taken only from
// a page of the manager's own origin, scheme included, whichever worker the request reaches (the
// owner answers it). A page served over plain HTTP from the same host and port is another origin.
// A real `stickylb run` with 2 workers and a TLS listener; requests over HTTPS/1.1 and HTTP/2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBackend, type Backend } from '../helpers/backends.js';
import { makeCa, makeCert, writeCert, type TestKeyPair } from '../helpers/certs.js';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { h2Connect, h2Request, httpsRequest } from '../helpers/tls.js';

let ca: TestKeyPair;
let member: Backend;
let proc: NodeProcess;
let port: number;

before(async () => {
  ca = await makeCa();
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-workers-https-'));
  const files = writeCert(dir, 'a', await makeCert(ca, ['a.test']));
  member = await startBackend({ name: 'one' });
  const file = join(dir, 'stickylb.yaml');
  writeFileSync(
    file,
    stringify({
      workers: 2,
      listen: [{ host: '127.0.0.1', port: 0, tls: true }],
      tls: files,
      serverName: 'a.test',
      errorLog: { path: join(dir, 'error.log'), level: 'info' },
      manager: { path: '/balancer-manager' },
      balancers: { app: { members: [{ url: member.url, route: 'one' }] } },
      proxyPass: [{ path: '/', to: 'balancer://app/' }],
    }),
  );
  proc = startCli(['run', '-c', file]);
  port = Number((await proc.waitFor(/stickylb listening on https:\/\/127\.0\.0\.1:(\d+)/, 60_000))[1]);
  await proc.waitFor(/worker process/, 10_000);
});

after(async () => {
  await proc?.stop('SIGTERM', 20_000);
  await member?.close();
});

async function nonce(): Promise<string> {
  const r = await httpsRequest(port, '/balancer-manager/api', { ca: ca.certPem });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body).balancers[0].nonce;
}

function reloadOver1(origin: string, n: string) {
  return httpsRequest(port, '/balancer-manager/api/reload', {
    ca: ca.certPem,
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: JSON.stringify({ nonce: n }),
  });
}

test('POST <manager>/api/reload over HTTPS: the plain-HTTP origin of the same host and port is refused, the HTTPS one is taken', async () => {
  const n = await nonce();
  // Several tries: the kernel spreads the connections over both workers.
  for (let i = 0; i < 4; i++) {
    const refused = await reloadOver1(`http://a.test:${port}`, n);
    assert.equal(refused.status, 403, refused.body);
    assert.match(JSON.parse(refused.body).error, new RegExp(`cross-site request refused: Origin http://a\\.test:${port} is not this server \\(https://a\\.test:${port}\\)`));
  }
  const taken = await reloadOver1(`https://a.test:${port}`, n);
  assert.equal(taken.status, 200, taken.body);
  assert.equal(JSON.parse(taken.body).ok, true);
});

test('the same over HTTP/2', async () => {
  const n = await nonce();
  const s = await h2Connect(port, { ca: ca.certPem });
  try {
    const ask = (origin: string) =>
      h2Request(s, { ':method': 'POST', ':path': '/balancer-manager/api/reload', 'content-type': 'application/json', origin }, JSON.stringify({ nonce: n }));
    const refused = await ask(`http://a.test:${port}`);
    assert.equal(refused.status, 403, refused.body);
    assert.match(JSON.parse(refused.body).error, /cross-site request refused/);
    const taken = await ask(`https://a.test:${port}`);
    assert.equal(taken.status, 200, taken.body);
  } finally {
    s.close();
  }
});
