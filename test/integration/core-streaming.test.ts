// HTTP features that must pass through the balancer unchanged: Expect: 100-continue, HEAD,
// chunked responses with trailers, request trailers, and large bodies streamed both ways.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';

let backend: http.Server;
let lb: RunningBalancer;
/** Bytes of the current upload the backend has received so far. */
let uploadSeen = 0;
/** Set by the test to let the backend finish a paused download. */
let releaseDownload: (() => void) | undefined;
let lastTrailers: Record<string, string | undefined> = {};
let lastExpect: string | undefined;
let endlessClosed = false;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(async () => {
  backend = http.createServer();
  backend.on('checkContinue', (req, res) => {
    lastExpect = req.headers.expect;
    if (req.url === '/refuse') {
      res.writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end('too large');
      return;
    }
    res.writeContinue();
    backend.emit('request', req, res);
  });
  backend.on('request', (req, res) => {
    const url = req.url ?? '/';
    if (url === '/endless') {
      // Writes until the connection goes away.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => (endlessClosed = true));
      pump();
      return;
    }
    if (url === '/early') {
      // Answers at once without reading the body, as a member refusing an upload does.
      res.writeHead(413, { 'Content-Type': 'text/plain' });
      res.end('too large');
      return;
    }
    if (url === '/head') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '1234' });
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234));
      return;
    }
    if (url === '/trailers') {
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
      res.write('part one,');
      res.write('part two');
      res.addTrailers({ 'X-Checksum': 'abc123' });
      res.end();
      return;
    }
    if (url === '/download') {
      // 4 MB in two halves; the second is written only when the test has seen the first.
      const half = Buffer.alloc(2 * 1024 * 1024, 0x61);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write(half);
      releaseDownload = () => res.end(half);
      return;
    }
    const hash = createHash('sha256');
    let n = 0;
    uploadSeen = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      n += c.length;
      uploadSeen = n;
    });
    req.on('end', () => {
      lastTrailers = { ...req.trailers };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ n, sha: hash.digest('hex'), expect: req.headers.expect ?? null, te: req.headers['transfer-encoding'] ?? null }));
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  lb = await startBalancer({
    balancers: { c: { members: [{ url, route: 'one' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
});

after(async () => {
  await lb.close();
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

test('Expect: 100-continue: the client gets 100 Continue from the member, then sends the body', async () => {
  const body = randomBytes(50_000);
  let continued = false;
  const r = await new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = http.request(`${lb.url}/upload`, {
      method: 'POST',
      agent: false,
      headers: { Expect: '100-continue', 'Content-Length': String(body.length) },
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(s) }));
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.equal(continued, true);
  assert.equal(r.status, 200);
  assert.equal(r.json.n, body.length);
  assert.equal(r.json.sha, sha(body));
  assert.equal(lastExpect, '100-continue');
});

test('Expect: 100-continue refused by the member: its final answer reaches the client without the body', async () => {
  let continued = false;
  const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${lb.url}/refuse`, { method: 'POST', agent: false, headers: { Expect: '100-continue', 'Content-Length': '100000' } });
    req.on('continue', () => (continued = true));
    req.on('response', (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: s }));
      req.destroy();
    });
    req.on('error', (e) => (continued ? undefined : reject(e)));
    req.flushHeaders();
  });
  assert.equal(continued, false);
  assert.equal(r.status, 413);
  // The balancer is still serving.
  assert.equal((await request(`${lb.url}/head`)).status, 200);
});

test('HEAD: headers with Content-Length and no body; the connection stays usable', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const h = await request(`${lb.url}/head`, { method: 'HEAD', agent });
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-length'], '1234');
    assert.equal(h.body, '');
    const g = await request(`${lb.url}/head`, { agent });
    assert.equal(g.body.length, 1234);
  } finally {
    agent.destroy();
  }
  // On the wire: exactly the head, then the next response on the same connection.
  const wire = await rawExchange(lb.port, 'HEAD /head HTTP/1.1\r\nHost: x\r\n\r\nGET /trailers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const [first, rest] = [wire.slice(0, wire.indexOf('\r\n\r\n') + 4), wire.slice(wire.indexOf('\r\n\r\n') + 4)];
  assert.match(first, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(first, /\r\nContent-Length: 1234\r\n/i);
  assert.match(rest, /^HTTP\/1\.1 200 OK\r\n/);
});

function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('chunked response bodies and trailers pass through', async () => {
  const r = await new Promise<{ te?: string; trailer?: string; body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
    http
      .get(`${lb.url}/trailers`, { agent: false, headers: { TE: 'trailers' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ te: res.headers['transfer-encoding'], trailer: res.headers.trailer, body, trailers: res.trailers }));
      })
      .on('error', reject);
  });
  assert.equal(r.te, 'chunked');
  assert.equal(r.trailer, 'X-Checksum');
  assert.equal(r.body, 'part one,part two');
  assert.deepEqual(r.trailers, { 'x-checksum': 'abc123' });
});

test('request trailers of a chunked upload reach the member', async () => {
  const r = await new Promise<any>((resolve, reject) => {
    const req = http.request(`${lb.url}/upload`, { method: 'POST', agent: false, headers: { Trailer: 'X-Sum', 'Transfer-Encoding': 'chunked' } });
    req.on('response', (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(JSON.parse(s)));
    });
    req.on('error', reject);
    req.write('hello ');
    req.write('world');
    req.addTrailers({ 'X-Sum': '42' });
    req.end();
  });
  assert.equal(r.n, 11);
  assert.equal(r.te, 'chunked');
  assert.equal(lastTrailers['x-sum'], '42');
});

test('a large upload is streamed: the member reads it while the client is still sending', async () => {
  const half = randomBytes(3 * 1024 * 1024);
  const other = randomBytes(3 * 1024 * 1024);
  const done = new Promise<any>((resolve, reject) => {
    const req = http.request(`${lb.url}/upload`, { method: 'POST', agent: false, headers: { 'Content-Length': String(half.length * 2) } });
    req.on('response', (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(JSON.parse(s)));
    });
    req.on('error', reject);
    req.write(half);
    // The second half is sent only once the member has most of the first.
    until(() => uploadSeen >= half.length - 256 * 1024, 'the member to receive the first half', 10_000).then(
      () => req.end(other),
      (e) => {
        req.destroy();
        reject(e);
      },
    );
  });
  const r = await done;
  assert.equal(r.n, half.length * 2);
  assert.equal(r.sha, sha(Buffer.concat([half, other])));
});

test('a large download is streamed: the client reads it while the member is still writing', async () => {
  releaseDownload = undefined;
  const r = await new Promise<{ n: number; sha: string }>((resolve, reject) => {
    http
      .get(`${lb.url}/download`, { agent: false }, (res) => {
        const hash = createHash('sha256');
        let n = 0;
        let released = false;
        res.on('data', (c: Buffer) => {
          hash.update(c);
          n += c.length;
          if (!released && n >= 1024 * 1024 && releaseDownload) {
            released = true;
            releaseDownload();
          }
        });
        res.on('end', () => resolve({ n, sha: hash.digest('hex') }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  assert.equal(r.n, 4 * 1024 * 1024);
  assert.equal(r.sha, sha(Buffer.alloc(4 * 1024 * 1024, 0x61)));
  const m = lb.app.runtime.balancer('c')!.members[0];
  await until(() => m.busy === 0, 'busy back to 0');
});

test('a member that answers before reading the whole body: the client gets the answer and its connection stays usable', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const within = <T>(p: Promise<T>, what: string) =>
    Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no answer in 3 s: ${what}`)), 3000))]);
  try {
    for (let i = 0; i < 3; i++) {
      const early = await within(request(`${lb.url}/early`, { method: 'POST', body: Buffer.alloc(5_000_000), agent }), 'early');
      assert.equal(early.status, 413);
      assert.equal(early.body, 'too large');
      // The next request on the same client connection is answered at once.
      const next = await within(request(`${lb.url}/head`, { agent }), 'next request');
      assert.equal(next.status, 200);
    }
  } finally {
    agent.destroy();
  }
  const m = lb.app.runtime.balancer('c')!.members[0];
  await until(() => m.busy === 0, 'busy back to 0');
  assert.equal(m.flags.E, false);
});

test('a client that goes away mid-answer: the member connection is closed, busy back to 0, no member error', async () => {
  endlessClosed = false;
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${lb.url}/endless`, { agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > 1024 * 1024) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
  });
  const m = lb.app.runtime.balancer('c')!.members[0];
  await until(() => endlessClosed && m.busy === 0, 'the member answer to be cut off');
  assert.equal(m.flags.E, false);
  assert.equal((await request(`${lb.url}/head`)).status, 200);
});
