// checkedBody (manager/body.ts) on a real HTTP server: the data a schema accepts, and for anything
// else the status and message the manager's APIs answer with.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { checkedBody } from '../../src/manager/body.js';
import { until } from '../helpers/http.js';

const schema = z.object({ nonce: z.string(), upgrade: z.boolean().optional() }).strict();

/** What checkedBody answered last, as the handler saw it. */
let last: Awaited<ReturnType<typeof checkedBody>> | undefined;

const server = http.createServer((req, res) => {
  const decode = req.url === '/form' ? (t: string) => Object.fromEntries(new URLSearchParams(t)) : undefined;
  void checkedBody(req, schema, decode).then((r) => {
    last = r;
    res.writeHead(r.ok ? 200 : r.status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(r));
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const port = (server.address() as AddressInfo).port;
after(() => new Promise<void>((r) => server.close(() => r())));

async function post(body: string, path = '/'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('a body the schema accepts comes back as data', async () => {
  assert.deepEqual(await post('{"nonce":"n1","upgrade":true}'), { status: 200, json: { ok: true, data: { nonce: 'n1', upgrade: true } } });
  assert.deepEqual(await post('nonce=n2', '/form'), { status: 200, json: { ok: true, data: { nonce: 'n2' } } });
});

test('not JSON: 400 that says so', async () => {
  assert.deepEqual(await post('{nonce'), { status: 400, json: { ok: false, status: 400, error: 'the body must be JSON' } });
});

test('JSON the schema refuses: 400 naming each problem; an empty body is checked as {}', async () => {
  const wrong = await post('{"nonce":1,"extra":true}');
  assert.equal(wrong.status, 400);
  assert.match(String(wrong.json.error), /^nonce: .*; body: .*extra/);
  const empty = await post('');
  assert.equal(empty.status, 400);
  assert.match(String(empty.json.error), /^nonce: /);
});

test('a body over 64 kB: 413, and the rest is not read', async () => {
  last = undefined;
  // The request is cut while the client still sends, so the client may see a reset instead of
  // the answer: what counts is what the handler was told.
  await post(JSON.stringify({ nonce: 'x'.repeat(200_000) })).catch(() => undefined);
  await until(() => last !== undefined, 'the handler has its answer');
  assert.deepEqual(last, { ok: false, status: 413, error: 'the request body is larger than 65536 bytes' });
});
