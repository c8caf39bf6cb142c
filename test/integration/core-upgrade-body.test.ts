// A request that asks for an Upgrade other than WebSocket is forwarded as a plain request, body and
// all, on both engines. `curl --http2` against an http:// URL sends exactly that: `Upgrade: h2c`,
// `HTTP2-Settings` and `Connection: Upgrade, HTTP2-Settings` with the POST body (and, for a body
// over 1 MB, `Expect: 100-continue` too). nginx, HAProxy and Apache forward such a request and the
// member's answer; the upgrade itself is hop-by-hop and never reaches the member. A WebSocket
// handshake is still tunnelled.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';

const dir = mkdtempSync(join(tmpdir(), 'stickylb-upgrade-body-'));
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

interface Seen {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A node:http member that records what it receives and answers with the body's length and hash.
 * It also takes WebSocket upgrades: an Upgrade header that leaked through would reach its `ws`
 * server and be refused there (h2c is no WebSocket), never answered as a request.
 */
async function member(): Promise<{ url: string; seen: Seen[]; upgrades: number; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      seen.push({ method: req.method!, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Member': 'm' });
      res.end(JSON.stringify({ method: req.method, length: body.length, sha256: createHash('sha256').update(body).digest('hex') }));
    });
  });
  const wss = new WebSocketServer({ server });
  const m = { url: '', seen, upgrades: 0, close: async () => {} };
  wss.on('connection', (ws) => {
    m.upgrades++;
    ws.on('message', (data) => ws.send(`echo:${data.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  m.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  m.close = async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  cleanup.push(() => m.close());
  return m;
}

async function balancer(engine: 'lean' | 'node', url: string): Promise<RunningBalancer> {
  const lb = await startBalancer({ engine, balancers: { c: { members: [{ url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  cleanup.push(() => lb.close());
  return lb;
}

interface CurlResult {
  status: number;
  /** The HTTP version curl ended up speaking (`1.1`: the upgrade was declined). */
  version: string;
  body: string;
}

/**
 * Runs the real curl. --max-time bounds a stall (the old behaviour was a 504 after 60 s); it is no
 * timing assertion, only the point where a hang becomes a failure.
 */
function curl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '30', '-o', '-', '-w', '\n%{http_code} %{http_version}', ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${err.message} ${stderr}`));
      const cut = stdout.lastIndexOf('\n');
      const [status, version] = stdout.slice(cut + 1).split(' ');
      resolve({ status: Number(status), version, body: stdout.slice(0, cut) });
    });
  });
}

/** A body file without line breaks (`-d @file` drops CR and LF), of `size` base64 characters. */
function bodyFile(name: string, size: number): { path: string; data: Buffer } {
  const data = Buffer.from(randomBytes(Math.ceil((size * 3) / 4)).toString('base64').slice(0, size));
  const path = join(dir, name);
  writeFileSync(path, data);
  return { path, data };
}

function assertNoUpgrade(h: http.IncomingHttpHeaders): void {
  assert.equal(h.upgrade, undefined, 'no Upgrade header reaches the member');
  assert.equal(h['http2-settings'], undefined, 'no HTTP2-Settings header reaches the member');
  assert.doesNotMatch(String(h.connection ?? ''), /upgrade|http2-settings/i, 'Connection lists neither');
}

for (const engine of ['lean', 'node'] as const) {
  // 4000 bytes: Upgrade with the body at once; 2 MB: curl adds Expect: 100-continue (over 1 MB).
  for (const size of [4000, 2_000_000]) {
    test(`${engine} engine: curl --http2 POST of ${size} bytes reaches the member whole, without the upgrade, and its answer comes back`, async () => {
      const m = await member();
      const lb = await balancer(engine, m.url);
      const f = bodyFile(`body-${engine}-${size}.txt`, size);
      const r = await curl(['--http2', '-X', 'POST', '-d', `@${f.path}`, `${lb.url}/upload?x=1`]);
      assert.equal(r.status, 200);
      assert.equal(r.version, '1.1', 'the upgrade was not taken');
      const answer = JSON.parse(r.body);
      assert.deepEqual(answer, { method: 'POST', length: size, sha256: createHash('sha256').update(f.data).digest('hex') });
      assert.equal(m.seen.length, 1);
      const seen = m.seen[0];
      assert.ok(seen.body.equals(f.data), 'the member got the body byte for byte');
      assert.equal(seen.headers['content-length'], String(size));
      assertNoUpgrade(seen.headers);
      assert.equal(m.upgrades, 0);
    });
  }

  test(`${engine} engine: a bodyless Upgrade: h2c GET is answered by the member as a plain request`, async () => {
    const m = await member();
    const lb = await balancer(engine, m.url);
    const r = await curl(['--http2', `${lb.url}/page`]);
    assert.equal(r.status, 200);
    assert.equal(r.version, '1.1');
    assert.deepEqual(JSON.parse(r.body), { method: 'GET', length: 0, sha256: createHash('sha256').update(Buffer.alloc(0)).digest('hex') });
    assert.equal(m.seen.length, 1);
    assertNoUpgrade(m.seen[0].headers);
    // The connection to the client goes on after the declined upgrade: two requests, one connection.
    const two = await curl(['--http2', `${lb.url}/a`, `${lb.url}/b`]);
    assert.equal(two.status, 200);
    assert.equal(m.seen.length, 3);
  });

  test(`${engine} engine: a WebSocket handshake is still tunnelled`, async () => {
    const m = await member();
    const lb = await balancer(engine, m.url);
    const ws = new WebSocket(`ws://127.0.0.1:${lb.port}/live`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('hello');
    assert.equal(await reply, 'echo:hello');
    ws.close();
    assert.equal(m.upgrades, 1);
    assert.equal(m.seen.length, 0);
  });
}
