// Access log lines written by a running balancer, read back from the files and parsed field by
// field: proxied, static and failed requests, the balancer outcome, JSON lines, WebSocket upgrades,
// and the error log lines of a failed request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { startBackend, deadPort, type Backend } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { rawRequest } from '../helpers/raw-http.js';
import { memoryLogger } from '../../src/log/logger.js';

let dir: string;
let lb: RunningBalancer;
let n1: Backend;
let n2: Backend;
let wsServer: http.Server;
let dead: number;
const mem = memoryLogger('info');
const CSS = 'body { color: #333 }\n';

const files = () => ({ combined: join(dir, 'logs', 'access.log'), balancer: join(dir, 'logs', 'balancer.log'), json: join(dir, 'logs', 'access.json') });

function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

/** Waits for the one line of `file` that contains `marker` (and checks there is only one). */
async function lineWith(file: string, marker: string): Promise<string> {
  await until(() => readLines(file).some((l) => l.includes(marker)), `a line with ${marker} in ${file}`);
  const found = readLines(file).filter((l) => l.includes(marker));
  assert.equal(found.length, 1, `exactly one line with ${marker}: ${JSON.stringify(found)}`);
  return found[0];
}

// host ident user [time] "request" status bytes "referer" "user-agent"
const COMBINED = /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/;

interface Combined {
  host: string;
  ident: string;
  user: string;
  time: Date;
  request: string;
  status: number;
  bytes: string;
  referer: string;
  agent: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function parseClfTime(s: string): Date {
  const m = /^(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(s);
  assert.ok(m, `CLF time: ${s}`);
  const utc = Date.UTC(Number(m[3]), MONTHS.indexOf(m[2]), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const off = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '+' ? 1 : -1);
  return new Date(utc - off * 60_000);
}

function parseCombined(line: string): Combined {
  const m = COMBINED.exec(line);
  assert.ok(m, `not a combined line: ${line}`);
  return { host: m[1], ident: m[2], user: m[3], time: parseClfTime(m[4]), request: m[5], status: Number(m[6]), bytes: m[7], referer: m[8], agent: m[9] };
}

function assertRecent(d: Date): void {
  assert.ok(Math.abs(Date.now() - d.getTime()) < 60_000, `time ${d.toISOString()} is now`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickylb-logs-'));
  mkdirSync(join(dir, 'html', 'files'), { recursive: true });
  writeFileSync(join(dir, 'html', 'files', 'main.css'), CSS);
  n1 = await startBackend({ name: 'n1', route: 'R1' });
  n2 = await startBackend({ name: 'n2', route: 'R2' });
  dead = await deadPort();
  // A WebSocket member.
  wsServer = http.createServer();
  const wss = new WebSocketServer({ server: wsServer });
  wss.on('connection', (ws) => ws.send('hello'));
  await new Promise<void>((r) => wsServer.listen(0, '127.0.0.1', () => r()));
  const wsPort = (wsServer.address() as AddressInfo).port;
  const f = files();
  lb = await startBalancer(
    {
      balancers: {
        'seaside-cluster': { stickysession: '_s', members: [{ url: n1.url, route: 'R1' }, { url: n2.url, route: 'R2' }] },
        gone: { members: [{ url: `http://127.0.0.1:${dead}`, route: 'D1' }] },
        chat: { members: [{ url: `http://127.0.0.1:${wsPort}`, route: 'W1' }] },
      },
      proxyPass: [
        { path: '/files', to: '!' },
        { path: '/gone', to: 'balancer://gone/' },
        { path: '/chat', to: 'balancer://chat/' },
        { path: '/', to: 'balancer://seaside-cluster/' },
      ],
      static: { root: join(dir, 'html') },
      logFormats: {
        balancer:
          '"%r" %>s %{BALANCER_NAME}e %{BALANCER_WORKER_NAME}e %{BALANCER_WORKER_ROUTE}e %{BALANCER_SESSION_STICKY}e %{BALANCER_SESSION_ROUTE}e %{BALANCER_ROUTE_CHANGED}e',
      },
      accessLog: [
        { path: f.combined, format: 'combined' },
        { path: f.balancer, format: 'balancer' },
        { path: f.json, format: 'combined', json: true },
      ],
    },
    { logger: mem.logger },
  );
});

after(async () => {
  await lb?.close();
  await n1?.close();
  await n2?.close();
  wsServer?.closeAllConnections();
  await new Promise<void>((r) => (wsServer ? wsServer.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

test('a proxied request: every combined field', async () => {
  const r = await request(`${lb.url}/seaside/counter?_k=abc&x=1`, {
    headers: { Referer: 'http://smalltalk.wolf359.be/seaside', 'User-Agent': 'agent-proxied/1.0' },
  });
  assert.equal(r.status, 200);
  const c = parseCombined(await lineWith(files().combined, 'agent-proxied/1.0'));
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.ident, '-');
  assert.equal(c.user, '-');
  assertRecent(c.time);
  assert.equal(c.request, 'GET /seaside/counter?_k=abc&x=1 HTTP/1.1');
  assert.equal(c.status, 200);
  assert.equal(c.bytes, String(Buffer.byteLength(r.body)));
  assert.equal(c.referer, 'http://smalltalk.wolf359.be/seaside');
  assert.equal(c.agent, 'agent-proxied/1.0');
});

test('a static request: size of the file, "-" for HEAD and 304', async () => {
  const r = await request(`${lb.url}/files/main.css`, { headers: { 'User-Agent': 'agent-static' } });
  assert.equal(r.status, 200);
  const c = parseCombined(await lineWith(files().combined, '"agent-static"'));
  assert.equal(c.request, 'GET /files/main.css HTTP/1.1');
  assert.equal(c.status, 200);
  assert.equal(c.bytes, String(Buffer.byteLength(CSS)));
  assert.equal(c.referer, '-');

  await request(`${lb.url}/files/main.css`, { method: 'HEAD', headers: { 'User-Agent': 'agent-static-head' } });
  const head = parseCombined(await lineWith(files().combined, 'agent-static-head'));
  assert.deepEqual([head.request, head.status, head.bytes], ['HEAD /files/main.css HTTP/1.1', 200, '-']);

  await request(`${lb.url}/files/main.css`, { headers: { 'User-Agent': 'agent-static-304', 'If-None-Match': r.headers.etag! } });
  const notModified = parseCombined(await lineWith(files().combined, 'agent-static-304'));
  assert.deepEqual([notModified.status, notModified.bytes], [304, '-']);

  await request(`${lb.url}/files/missing.css`, { headers: { 'User-Agent': 'agent-static-404' } });
  const missing = parseCombined(await lineWith(files().combined, 'agent-static-404'));
  assert.equal(missing.status, 404);
  assert.notEqual(missing.bytes, '-');
});

test('a 503 from a balancer without a usable member: logged, and the error log names the member and route', async () => {
  const before = mem.lines.length;
  const r = await request(`${lb.url}/gone/page`, { headers: { 'User-Agent': 'agent-503' } });
  assert.equal(r.status, 503);
  const c = parseCombined(await lineWith(files().combined, 'agent-503'));
  assert.equal(c.request, 'GET /gone/page HTTP/1.1');
  assert.equal(c.status, 503);
  assert.equal(c.bytes, String(Buffer.byteLength(r.body)));

  const bal = await lineWith(files().balancer, '/gone/page');
  // The worker tried is named; the balancer has no stickysession, so no session fields.
  assert.equal(bal, `"GET /gone/page HTTP/1.1" 503 balancer://gone http://127.0.0.1:${dead} D1 - - -`);

  await until(() => mem.lines.slice(before).some((l) => /failed with 503/.test(l.msg)), 'the error log line of the 503');
  const lines = mem.lines.slice(before);
  const connect = lines.find((l) => /could not connect to member/.test(l.msg));
  assert.ok(connect, JSON.stringify(lines));
  assert.equal(connect.level, 50);
  assert.equal(connect.balancer, 'gone');
  assert.equal(connect.member, `http://127.0.0.1:${dead}`);
  assert.equal(connect.route, 'D1');
  assert.match(connect.cause, /ECONNREFUSED|refused/i);
  const final = lines.find((l) => /failed with 503/.test(l.msg))!;
  assert.equal(final.balancer, 'gone');
  assert.equal(final.code, 'ERR_CONNECT');
  assert.equal(final.client, '127.0.0.1');
});

test('the balancer outcome: new session, sticky by cookie and by URL, changed route, static', async () => {
  const bal = () => files().balancer;
  const f1 = await request(`${lb.url}/outcome/new`);
  const first = f1.json().member === 'n1' ? ['R1', n1.url] : ['R2', n2.url];
  // Apache sets BALANCER_ROUTE_CHANGED also when the session has no route yet.
  assert.equal(await lineWith(bal(), '/outcome/new'), `"GET /outcome/new HTTP/1.1" 200 balancer://seaside-cluster ${first[1]} ${first[0]} - - 1`);

  await request(`${lb.url}/outcome/cookie`, { headers: { Cookie: '_s=abc123.R2' } });
  assert.equal(await lineWith(bal(), '/outcome/cookie'), `"GET /outcome/cookie HTTP/1.1" 200 balancer://seaside-cluster ${n2.url} R2 _s R2 -`);

  await request(`${lb.url}/outcome/url?_s=abc123.R1`);
  assert.equal(await lineWith(bal(), '/outcome/url'), `"GET /outcome/url?_s=abc123.R1 HTTP/1.1" 200 balancer://seaside-cluster ${n1.url} R1 _s R1 -`);

  const moved = await request(`${lb.url}/outcome/moved`, { headers: { Cookie: '_s=abc123.R9' } });
  const to = moved.json().member === 'n1' ? ['R1', n1.url] : ['R2', n2.url];
  assert.equal(await lineWith(bal(), '/outcome/moved'), `"GET /outcome/moved HTTP/1.1" 200 balancer://seaside-cluster ${to[1]} ${to[0]} _s R9 1`);

  await request(`${lb.url}/files/main.css?outcome`);
  assert.equal(await lineWith(bal(), '/files/main.css?outcome'), '"GET /files/main.css?outcome HTTP/1.1" 200 - - - - - -');
});

test('JSON lines: the combined fields, typed', async () => {
  const r = await request(`${lb.url}/json/check?q=1`, { headers: { 'User-Agent': 'agent-json', Referer: 'http://r.example/' } });
  const o = JSON.parse(await lineWith(files().json, 'agent-json'));
  assert.deepEqual(Object.keys(o).sort(), ['bytes', 'remote_host', 'remote_logname', 'remote_user', 'request', 'request_headers', 'status', 'time']);
  assert.equal(o.remote_host, '127.0.0.1');
  assert.equal(o.remote_logname, null);
  assert.equal(o.remote_user, null);
  assertRecent(new Date(o.time));
  assert.equal(o.request, 'GET /json/check?q=1 HTTP/1.1');
  assert.equal(o.status, 200);
  assert.equal(o.bytes, Buffer.byteLength(r.body));
  assert.deepEqual(o.request_headers, { referer: 'http://r.example/', 'user-agent': 'agent-json' });
  // Every JSON line parses.
  for (const l of readLines(files().json)) JSON.parse(l);
});

test("quotes, backslashes and high bytes are escaped as Apache does; the raw value survives in JSON", async () => {
  const agent = 'agent-escape "quoted" back\\slash caf\xe9';
  const r = await rawRequest(lb.port, `GET /files/main.css HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${agent}\r\nConnection: close\r\n\r\n`);
  assert.equal(r.status, 200);
  const line = await lineWith(files().combined, 'agent-escape');
  const c = parseCombined(line);
  assert.equal(c.agent, 'agent-escape \\"quoted\\" back\\\\slash caf\\xe9');
  const o = JSON.parse(await lineWith(files().json, 'agent-escape'));
  assert.equal(o.request_headers['user-agent'], 'agent-escape "quoted" back\\slash café');
});

test('a bad request line is logged to the default site with 400', async () => {
  const r = await rawRequest(lb.port, 'GET /a/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: agent-400\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 400);
  const c = parseCombined(await lineWith(files().combined, 'agent-400'));
  assert.deepEqual([c.request, c.status], ['GET /a/../../etc/passwd HTTP/1.1', 400]);
});

test('a WebSocket upgrade is logged with 101 once the tunnel is up', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${lb.port}/chat/room`, { headers: { 'User-Agent': 'agent-ws' } });
  const msg = await new Promise<string>((resolve, reject) => {
    ws.once('message', (d) => resolve(String(d)));
    ws.once('error', reject);
  });
  assert.equal(msg, 'hello');
  const c = parseCombined(await lineWith(files().combined, 'agent-ws'));
  assert.deepEqual([c.request, c.status], ['GET /chat/room HTTP/1.1', 101]);
  assert.equal(await lineWith(files().balancer, '/chat/room'), `"GET /chat/room HTTP/1.1" 101 balancer://chat ${lb.app.runtime.balancers.get('chat')!.members[0].url} W1 - - -`);
  ws.close();
});

test('a refused WebSocket upgrade (a path above the root) is logged with its status', async () => {
  const r = await rawRequest(
    lb.port,
    'GET /balancer-manager-nope/../../x HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: agent-ws-refused\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  assert.equal(r.status, 400);
  const c = parseCombined(await lineWith(files().combined, 'agent-ws-refused'));
  assert.equal(c.status, 400);
});

test('each request is logged exactly once in each file', async () => {
  for (let i = 0; i < 20; i++) await request(`${lb.url}/once/${i}`, { headers: { 'User-Agent': `agent-once-${i}-end` } });
  for (let i = 0; i < 20; i++) {
    await lineWith(files().combined, `agent-once-${i}-end`);
    await lineWith(files().json, `agent-once-${i}-end`);
    await lineWith(files().balancer, `/once/${i} `);
  }
});
