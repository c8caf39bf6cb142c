// The lean engine over raw sockets: pipelined requests routed one by one and answered in order,
// backpressure both ways with slow readers, the replay of a request whose pooled member
// connection died, HTTP/1.0 clients, bodiless answers, trailers, members that answer badly, and
// connections handed to node:http for what the lean engine does not forward.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { hangingPort, rawRequest, recordingMember, statuses } from '../helpers/raw.js';
import type { RawConfig } from '../../src/config/schema.js';

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function backend(name: string, route = name, handler?: Parameters<typeof startBackend>[0]['handler']): Promise<Backend> {
  const b = await startBackend({ name, route, handler });
  cleanup.push(() => b.close());
  return b;
}

async function lean(raw: RawConfig): Promise<RunningBalancer> {
  const lb = await startBalancer({ engine: 'lean', ...raw });
  cleanup.push(() => lb.close());
  return lb;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A connection that collects everything; `text()` so far, `closed` once the server closed. */
function connection(port: number) {
  const s = net.connect(port, '127.0.0.1');
  const parts: Buffer[] = [];
  let length = 0;
  let closed = false;
  s.on('data', (d: Buffer) => {
    parts.push(d);
    length += d.length;
  });
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  const bytes = () => {
    if (parts.length > 1) parts.splice(0, parts.length, Buffer.concat(parts));
    return parts[0] ?? Buffer.alloc(0);
  };
  return {
    socket: s,
    ready: new Promise<void>((r) => s.once('connect', () => r())),
    text: () => bytes().toString('latin1'),
    bytes,
    length: () => length,
    closed: () => closed,
  };
}

test('pipelined requests: each routed on its own, answered in order on one connection', async () => {
  const a = await backend('a', 'first');
  const b = await backend('b', 'second');
  const lb = await lean({
    balancers: { c: { stickysession: '_s', nofailover: true, members: [{ url: a.url, route: 'first' }, { url: b.url, route: 'second' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const reqs =
    'GET /1 HTTP/1.1\r\nHost: x\r\nCookie: _s=s.second\r\n\r\n' +
    'POST /2 HTTP/1.1\r\nHost: x\r\nCookie: _s=s.first\r\nContent-Length: 5\r\n\r\nhello' +
    'GET /3?_s=s.second HTTP/1.1\r\nHost: x\r\n\r\n' +
    'POST /4 HTTP/1.1\r\nHost: x\r\nCookie: _s=s.first\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
    'GET /5 HTTP/1.1\r\nHost: x\r\nCookie: _s=s.second\r\nConnection: close\r\n\r\n';
  const r = await rawRequest(lb.port, reqs);
  assert.deepEqual(statuses(r.text), [200, 200, 200, 200, 200]);
  assert.equal(r.closed, true);
  const bodies = r.text.split(/HTTP\/1\.1 200 OK\r\n/).slice(1).map((part) => JSON.parse(part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n[0-9a-f]+\r\n|^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, '')));
  assert.deepEqual(bodies.map((x) => [x.url, x.member, x.body]), [
    ['/1', 'b', ''],
    ['/2', 'a', 'hello'],
    ['/3?_s=s.second', 'b', ''],
    ['/4', 'a', 'abc'],
    ['/5', 'b', ''],
  ]);
});

test('a slow reader: the member is held back, not buffered in full; the download arrives whole', async () => {
  const big = randomBytes(32 * 1024 * 1024);
  let written = 0;
  const m = await backend('big', 'big', (_req, res) => {
    res.writeHead(200, { 'Content-Length': String(big.length) });
    const step = 1024 * 1024;
    let off = 0;
    const pump = () => {
      while (off < big.length) {
        const ok = res.write(big.subarray(off, off + step));
        off += step;
        written = off;
        if (!ok) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const lb = await lean({ balancers: { c: { members: [{ url: m.url, route: 'big' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const c = connection(lb.port);
  await c.ready;
  c.socket.pause();
  c.socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
  // Let the pipe fill up, then see that the member had to stop.
  let last = -1;
  await until(async () => {
    const w = written;
    await new Promise((r) => setTimeout(r, 100));
    const still = written === w && w === last;
    last = written;
    return still;
  }, 'the member to stall', 10_000);
  assert.ok(written < big.length / 2, `the member wrote ${written} of ${big.length} bytes to a client that reads nothing`);
  c.socket.resume();
  await until(() => c.length() >= big.length, 'the whole download', 20_000);
  const all = c.bytes();
  const body = all.subarray(all.indexOf('\r\n\r\n') + 4);
  assert.equal(body.length, big.length);
  assert.equal(sha(body), sha(big));
  c.socket.destroy();
});

test('a slow member: the upload is held back at the client, then arrives whole', async () => {
  let seen = 0;
  let release: (() => void) | undefined;
  const hash = createHash('sha256');
  const server = http.createServer((req, res) => {
    req.pause();
    release = () => {
      req.on('data', (d: Buffer) => {
        seen += d.length;
        hash.update(d);
      });
      req.on('end', () => res.end(JSON.stringify({ seen, sha: hash.digest('hex') })));
      req.resume();
    };
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lb = await lean({ balancers: { c: { members: [{ url, route: 'slow' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const body = randomBytes(48 * 1024 * 1024);
  const c = connection(lb.port);
  await c.ready;
  c.socket.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  let accepted = 0;
  const step = 1024 * 1024;
  let off = 0;
  const pump = () => {
    while (off < body.length) {
      const ok = c.socket.write(body.subarray(off, off + step));
      off += step;
      if (ok) accepted = off;
      if (!ok) return void c.socket.once('drain', () => ((accepted = off), pump()));
    }
  };
  pump();
  await until(() => release !== undefined, 'the request to reach the member');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(accepted < body.length / 2, `the client could push ${accepted} of ${body.length} bytes to a member that reads nothing`);
  release!();
  await until(() => c.closed(), 'the answer', 20_000);
  const r = JSON.parse(c.text().slice(c.text().indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''));
  assert.equal(r.seen, body.length);
  assert.equal(r.sha, sha(body));
});

test('a dead pooled connection: the request and its body are replayed once on a fresh connection', async () => {
  // The member answers the first request of each connection and closes the connection when a
  // second request arrives on it, as a member whose keep-alive timeout just ran out.
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    let data = Buffer.alloc(0);
    let answered = 0;
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (answered > 0) {
        s.destroy();
        return;
      }
      const len = Number(/content-length: (\d+)/i.exec(data.toString('latin1', 0, end))?.[1] ?? 0);
      if (data.length < end + 4 + len) return;
      const body = data.subarray(end + 4, end + 4 + len);
      data = data.subarray(end + 4 + len);
      answered++;
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lb = await lean({ balancers: { c: { members: [{ url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanup.push(async () => agent.destroy());
  assert.equal((await request(`${lb.url}/warm`, { agent })).status, 200);
  for (const size of [0, 10, 3000, 60_000]) {
    const before = connections;
    const body = randomBytes(size / 2).toString('hex');
    const r = await request(`${lb.url}/again`, { agent, method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
    assert.equal(r.status, 200, `size ${size}`);
    assert.equal(r.body, body, `size ${size}`);
    assert.equal(connections, before + 1, `size ${size}: one fresh connection`);
  }
  const m = lb.app.runtime.balancer('c')!.members[0];
  assert.equal(m.flags.E, false, 'a stale connection is no member failure');
  await until(() => m.busy === 0, 'busy back to 0');
});

test('HTTP/1.0 clients: Content-Length answers stay, chunked answers become close-delimited', async () => {
  const m = await backend('m', 'm', (req, res) => {
    if (req.url === '/chunked') {
      res.write('part one,');
      res.end('part two');
    } else res.end('fixed');
  });
  const lb = await lean({ balancers: { c: { members: [{ url: m.url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const fixed = await rawRequest(lb.port, 'GET /fixed HTTP/1.0\r\n\r\n');
  assert.equal(fixed.status, 200);
  assert.match(fixed.text, /\r\nContent-Length: 5\r\n/i);
  assert.match(fixed.text, /\r\nConnection: close\r\n/);
  assert.ok(fixed.text.endsWith('\r\n\r\nfixed'));
  assert.equal(fixed.closed, true);
  const chunked = await rawRequest(lb.port, 'GET /chunked HTTP/1.0\r\n\r\n');
  assert.doesNotMatch(chunked.text, /transfer-encoding/i);
  assert.ok(chunked.text.endsWith('\r\n\r\npart one,part two'), JSON.stringify(chunked.text.slice(-40)));
  assert.equal(chunked.closed, true);
  // Keep-alive when the HTTP/1.0 client asks for it and the length is known.
  const ka = await rawRequest(lb.port, 'GET /fixed HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /fixed HTTP/1.0\r\n\r\n');
  assert.deepEqual(statuses(ka.text), [200, 200]);
  assert.match(ka.text, /\r\nConnection: keep-alive\r\n/);
});

test('HEAD, 204 and 304 answers have no body; the connection carries the next request', async () => {
  const m = await backend('m', 'm', (req, res) => {
    if (req.url === '/204') {
      res.writeHead(204);
      res.end();
    } else if (req.url === '/304') {
      res.writeHead(304, { ETag: '"x"' });
      res.end();
    } else {
      res.writeHead(200, { 'Content-Length': '4' });
      res.end(req.method === 'HEAD' ? undefined : 'body');
    }
  });
  const lb = await lean({ balancers: { c: { members: [{ url: m.url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const r = await rawRequest(
    lb.port,
    'HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  assert.deepEqual(statuses(r.text), [200, 204, 304, 200]);
  const parts = r.text.split(/(?=HTTP\/1\.1 \d{3} )/);
  assert.match(parts[0], /Content-Length: 4\r\n/i);
  assert.ok(parts[0].endsWith('\r\n\r\n'), 'HEAD: no body');
  assert.ok(parts[1].endsWith('\r\n\r\n'), '204: no body');
  assert.doesNotMatch(parts[1], /transfer-encoding/i);
  assert.ok(parts[2].endsWith('\r\n\r\n'), '304: no body');
  assert.ok(parts[3].endsWith('\r\n\r\nbody'));
});

test('chunked answers keep their trailers for HTTP/1.1 clients', async () => {
  const m = await backend('m', 'm', (_req, res) => {
    res.writeHead(200, { Trailer: 'X-Checksum' });
    res.write('abc');
    res.addTrailers({ 'X-Checksum': '42' });
    res.end();
  });
  const lb = await lean({ balancers: { c: { members: [{ url: m.url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const r = await rawRequest(lb.port, 'GET /t HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n');
  assert.match(r.text, /\r\nTransfer-Encoding: chunked\r\n/);
  assert.match(r.text, /\r\nTrailer: X-Checksum\r\n/i);
  assert.ok(r.text.endsWith('\r\n3\r\nabc\r\n0\r\nX-Checksum: 42\r\n\r\n'), JSON.stringify(r.text.slice(-50)));
});

test('members that answer badly: 502 before the head, a cut connection after it', async () => {
  const answers: Record<string, string> = {
    '/cl-te': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    '/two-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    '/fold': 'HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n',
    '/bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 0\n\n',
    '/bad-status': 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n',
    '/upgrade': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n',
    '/bad-chunk-at-once': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n',
  };
  const member = await recordingMember((s, head) => {
    const path = /^GET (\S+)/.exec(head)?.[1] ?? '';
    if (path === '/bad-chunk') {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
      setTimeout(() => s.write('zz\r\n'), 50);
      return;
    }
    s.write(answers[path] ?? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  cleanup.push(() => member.close());
  const lb = await lean({ balancers: { c: { members: [{ url: member.url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  for (const path of ['/cl-te', '/two-cl', '/fold', '/bare-lf', '/bad-status', '/upgrade', '/bad-chunk-at-once']) {
    const r = await rawRequest(lb.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 502, `${path}: ${r.text.slice(0, 80)}`);
    assert.match(r.text, /<!DOCTYPE html>/);
  }
  const cut = await rawRequest(lb.port, 'GET /bad-chunk HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(cut.status, 200);
  assert.equal(cut.closed, true);
  assert.doesNotMatch(cut.text, /\r\n0\r\n\r\n$/, 'the client never sees a complete answer');
  const m = lb.app.runtime.balancer('c')!.members[0];
  assert.equal(m.flags.E, false, 'bad answers are no connect failures');
  await until(() => m.busy === 0, 'busy back to 0');
  // Still serving.
  assert.equal((await rawRequest(lb.port, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 200);
});

test('bytes after a complete answer: the member connection is not used again', async () => {
  const member = await recordingMember((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged'));
  cleanup.push(() => member.close());
  const lb = await lean({ balancers: { c: { members: [{ url: member.url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanup.push(async () => agent.destroy());
  for (let i = 0; i < 3; i++) {
    const r = await request(`${lb.url}/x${i}`, { agent });
    assert.equal(r.body, 'ok');
  }
  assert.equal(member.connections, 3, 'a fresh member connection each time');
});

test('the connect timeout, the response timeout and a refused connection answer as errors.ts pins them', async () => {
  const silent = await recordingMember(() => {
    // Never answers.
  });
  cleanup.push(() => silent.close());
  const lb = await lean({ balancers: { c: { members: [{ url: silent.url, route: 's', timeout: '150ms' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const t0 = Date.now();
  const r = await rawRequest(lb.port, 'GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 504);
  assert.ok(Date.now() - t0 >= 140);
  const hanging = await hangingPort();
  cleanup.push(() => hanging.close());
  const blackhole = await lean({
    balancers: { c: { members: [{ url: `http://127.0.0.1:${hanging.port}`, route: 'b', connectiontimeout: '100ms' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const t1 = Date.now();
  const ct = await rawRequest(blackhole.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(ct.status, 503);
  assert.ok(Date.now() - t1 >= 90 && Date.now() - t1 < 2000);
  const b = blackhole.app.runtime.balancer('c')!.members[0];
  assert.equal(b.flags.E, true);
  assert.match(b.errorCause, /connect timeout/);
  const refused = await lean({ balancers: { c: { members: [{ url: 'http://127.0.0.1:1', route: 'r' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  assert.equal((await rawRequest(refused.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 503);
  assert.match(refused.app.runtime.balancer('c')!.members[0].errorCause, /ECONNREFUSED/);
});

test('what the lean engine does not forward is answered by node:http on the same connection', async () => {
  const m = await backend('m', 'm');
  const lb = await lean({
    balancers: { c: { members: [{ url: m.url, route: 'm' }] } },
    proxyPass: [
      { path: '/static', to: '!' },
      { path: '/', to: 'balancer://c/' },
    ],
  });
  const r = await rawRequest(
    lb.port,
    'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /static/x HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  assert.deepEqual(statuses(r.text), [200, 404, 200, 200]);
  assert.match(r.text, /"url":"\/a"[\s\S]*404 Not Found[\s\S]*"url":"\/b"/);
  assert.equal(r.closed, true);
  // A 100-continue upload goes the node:http way too.
  const up = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${lb.url}/up`, { method: 'POST', headers: { Expect: '100-continue', 'Content-Length': '5' }, agent: false });
    req.on('continue', () => req.end('hello'));
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.equal(up, 200);
});

test('answers already made leave before the refusal of a malformed request that follows them', async () => {
  const m = await backend('m2', 'm');
  const lb = await lean({ balancers: { c: { members: [{ url: m.url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  // Two answers are made in the same turn as the 400 (the member answers both before the bad head
  // is read): each is written before the refusal, in order, and the connection then closes.
  const r = await rawRequest(lb.port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
  assert.deepEqual(statuses(r.text), [200, 200, 400]);
  assert.match(r.text, /"url":"\/a"[\s\S]*"url":"\/b"[\s\S]*400 Bad Request/);
  assert.equal(r.closed, true);
});

test('records: one per forwarded request, with the outcome and the answer', async () => {
  const m = await backend('m', 'first');
  const lb = await lean({
    balancers: { c: { stickysession: '_s', members: [{ url: m.url, route: 'first' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const seen: { method: string; url: string; status: number; outcome?: string; route?: string; ct?: unknown }[] = [];
  lb.app.server.records.subscribe((r) => {
    seen.push({ method: r.method, url: r.target, status: r.status!, outcome: r.outcome, route: r.memberRoute, ct: r.responseHeaders()['content-type'] });
  });
  const before = lb.app.server.stats().requests;
  await rawRequest(lb.port, 'GET /x?_s=a.first HTTP/1.1\r\nHost: x\r\n\r\nPOST /y HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nz');
  await until(() => seen.length === 2, 'two events');
  assert.deepEqual(seen, [
    { method: 'GET', url: '/x?_s=a.first', status: 200, outcome: 'sticky', route: 'first', ct: 'application/json' },
    { method: 'POST', url: '/y', status: 200, outcome: 'new', route: 'first', ct: 'application/json' },
  ]);
  assert.equal(lb.app.server.stats().requests, before + 2);
  await until(() => lb.app.server.stats().inFlight === 0, 'nothing in flight');
});

test('idle keep-alive connections close after keepAliveTimeout; a head that stalls gets 408', async () => {
  const m = await backend('m', 'm');
  const lb = await lean({
    keepAliveTimeout: '200ms',
    timeout: '400ms',
    balancers: { c: { members: [{ url: m.url, route: 'm' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  const idle = connection(lb.port);
  await idle.ready;
  idle.socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
  const t0 = Date.now();
  await until(() => idle.closed(), 'the idle connection to close', 3000);
  assert.match(idle.text(), /^HTTP\/1\.1 200 /);
  assert.ok(Date.now() - t0 >= 150, 'not before the keep-alive timeout');
  const slow = connection(lb.port);
  await slow.ready;
  slow.socket.write('GET /b HTTP/1.1\r\nHost: x\r\n');
  const t1 = Date.now();
  await until(() => slow.closed(), 'the stalled head to be refused', 3000);
  assert.match(slow.text(), /^HTTP\/1\.1 408 /);
  assert.ok(Date.now() - t1 >= 350, 'not before the head timeout');
});

test('a bug of ours while forwarding: 500, the connection closed, the process still serving', async () => {
  const m = await backend('m', 'm');
  const lb = await lean({ balancers: { c: { members: [{ url: m.url, route: 'm' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const b = lb.app.runtime.balancer('c')!;
  Object.defineProperty(b, 'scheduler', {
    configurable: true,
    get() {
      throw new Error('scheduler exploded');
    },
  });
  const r = await rawRequest(lb.port, 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(r.status, 500);
  assert.equal(r.closed, true);
  assert.doesNotMatch(r.text, /exploded/);
  delete (b as unknown as Record<string, unknown>).scheduler;
  assert.equal((await rawRequest(lb.port, 'GET /y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 200);
  assert.equal(b.members[0].busy, 0);
});

test('a member with max: 1 gets one connection; concurrent requests wait for it in turn', async () => {
  let open = 0;
  let most = 0;
  const m = await backend('m', 'm', (_req, res) => {
    setTimeout(() => res.end('ok'), 30);
  });
  m.server.on('connection', (s) => {
    open++;
    most = Math.max(most, open);
    s.on('close', () => open--);
  });
  const lb = await lean({ balancers: { c: { members: [{ url: m.url, route: 'm', max: 1 }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => request(`${lb.url}/q${i}`)));
  assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200]);
  assert.equal(most, 1);
  assert.equal(m.seen.length, 5);
});
