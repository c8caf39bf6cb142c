// HTTP/2 to clients, proxied to HTTP/1.1 members: every stream routed on its own (many interleaved
// streams on one connection going to different members), split Cookie fields, :authority as
// Host, request bodies streamed (and replayed on failover), trailers, 103, a client's reset
// aborting the member request, h2c with prior knowledge, GOAWAY on reload and shutdown with the
// streams in flight finishing, GOAWAY on idle connections only, and h2load driving many streams
// per connection.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, refusedPort, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { certDir, makeCa, makeCert, writeCert, type TestKeyPair } from '../helpers/certs.js';
import { h2Connect, h2Request, run } from '../helpers/tls.js';
import { request, until } from '../helpers/http.js';
import { validateConfig } from '../../src/config/validate.js';

let ca: TestKeyPair;
let dir: string;
let certFiles: { cert: string; key: string };
let one: Backend;
let two: Backend;
const aborted: string[] = [];

/** A member that echoes, streams, sends trailers and 103, or hangs, by path. */
async function member(name: string): Promise<Backend> {
  return startBackend({
    name,
    handler: (req, res, body) => {
      const url = req.url ?? '/';
      if (url.startsWith('/hang')) {
        req.socket.once('close', () => aborted.push(`${name} ${url}`));
        return;
      }
      if (url.startsWith('/slower')) {
        // Longer than the shortest idle time of an HTTP/2 connection (1 s).
        setTimeout(() => {
          res.writeHead(200, { 'X-Member': name });
          res.end('slower done');
        }, 2_500);
        return;
      }
      if (url.startsWith('/slow')) {
        setTimeout(() => {
          res.writeHead(200, { 'X-Member': name });
          res.end('slow done');
        }, 400);
        return;
      }
      if (url.startsWith('/trailers')) {
        res.writeHead(200, { 'X-Member': name, Trailer: 'X-Checksum' });
        res.write('part one ');
        res.write('part two');
        res.addTrailers({ 'X-Checksum': 'abc123' });
        res.end();
        return;
      }
      if (url.startsWith('/hints')) {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.writeHead(200, { 'X-Member': name });
        res.end('hinted');
        return;
      }
      if (url.startsWith('/big')) {
        const chunk = Buffer.alloc(64 * 1024, name);
        res.writeHead(200, { 'X-Member': name, 'Content-Length': String(chunk.length * 160) });
        let n = 0;
        const more = () => {
          while (n < 160) {
            n++;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        more();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Member': name });
      res.end(
        JSON.stringify({ member: name, url, method: req.method, cookie: req.headers.cookie, host: req.headers.host, xfh: req.headers['x-forwarded-host'], proto: req.headers['x-forwarded-proto'], te: req.headers['transfer-encoding'], length: body.length, sha: createHash('sha256').update(body).digest('hex') }),
      );
    },
  });
}

before(async () => {
  ca = await makeCa();
  dir = certDir();
  certFiles = writeCert(dir, 'a', await makeCert(ca, ['a.test']));
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  one = await member('one');
  two = await member('two');
});

after(async () => {
  await one?.close();
  await two?.close();
});

function raw(extra: Record<string, unknown> = {}) {
  return {
    listen: [{ host: '127.0.0.1', port: 0, tls: true }, { host: '127.0.0.1', port: 0, protocols: ['h2c', 'http/1.1'] }],
    balancers: { app: { stickysession: '_s', members: [{ url: one.url, route: 'one' }, { url: two.url, route: 'two' }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    serverName: 'a.test',
    tls: certFiles,
    serverStatus: { allow: ['all'] },
    ...extra,
  };
}

for (const engine of ['lean', 'node'] as const) {
  describe(`HTTP/2 streams (${engine} engine)`, () => {
    let lb: RunningBalancer;
    let tlsPort: number;
    let h2cPort: number;
    before(async () => {
      lb = await startBalancer({ ...raw(), engine } as never);
      tlsPort = lb.app.addresses[0].port;
      h2cPort = lb.app.addresses[1].port;
    });
    after(() => lb?.close());

    test('many interleaved streams on one connection: each goes to the member of its own cookie or URL', async () => {
      const s = await h2Connect(tlsPort, { ca: ca.certPem });
      try {
        const asks: Promise<[string, string]>[] = [];
        for (let i = 0; i < 90; i++) {
          const want = i % 3 === 0 ? 'one' : 'two';
          const h = i % 2 === 0 ? { ':path': `/i${i}`, cookie: `_s=s${i}.${want}` } : { ':path': `/i${i};_s=s${i}.${want}` };
          asks.push(h2Request(s, h).then((r) => [want, String(r.headers['x-member'])]));
        }
        const got = await Promise.all(asks);
        for (const [want, member] of got) assert.equal(member, want);
        assert.ok(got.some(([w]) => w === 'one') && got.some(([w]) => w === 'two'));
      } finally {
        s.close();
      }
    });

    test('split Cookie fields are joined for the sticky lookup and for the member; :authority becomes Host', async () => {
      const s = await h2Connect(tlsPort, { ca: ca.certPem });
      try {
        const r = await h2Request(s, { ':path': '/c', cookie: ['a=1', '_s=zz.two', 'b=2'] });
        const j = JSON.parse(r.body);
        assert.equal(j.member, 'two');
        assert.equal(j.cookie, 'a=1; _s=zz.two; b=2');
        assert.equal(j.xfh, `a.test:${tlsPort}`);
        assert.equal(j.proto, 'https');
      } finally {
        s.close();
      }
    });

    test('request bodies stream to the member (with and without Content-Length) and answers stream back', async () => {
      const s = await h2Connect(tlsPort, { ca: ca.certPem });
      try {
        const body = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
        const sha = createHash('sha256').update(body).digest('hex');
        const withLength = JSON.parse((await h2Request(s, { ':path': '/up', ':method': 'POST', 'content-length': String(body.length), cookie: '_s=u.one' }, body)).body);
        assert.equal(withLength.length, body.length);
        assert.equal(withLength.sha, sha);
        const chunked = JSON.parse((await h2Request(s, { ':path': '/up', ':method': 'POST', cookie: '_s=u.one' }, body)).body);
        assert.equal(chunked.sha, sha);
        assert.equal(chunked.te, 'chunked');
        const big = await new Promise<number>((resolve, reject) => {
          const req = s.request({ ':path': '/big', cookie: '_s=b.two' });
          let n = 0;
          req.on('data', (c: Buffer) => (n += c.length));
          req.on('end', () => resolve(n));
          req.on('error', reject);
        });
        assert.equal(big, 64 * 1024 * 160);
      } finally {
        s.close();
      }
    });

    test('trailers and 103 Early Hints reach the HTTP/2 client', async () => {
      const s = await h2Connect(tlsPort, { ca: ca.certPem });
      try {
        const t = await h2Request(s, { ':path': '/trailers', cookie: '_s=t.one' });
        assert.equal(t.body, 'part one part two');
        assert.equal(t.trailers?.['x-checksum'], 'abc123');
        const hints: string[] = [];
        const done = await new Promise<string>((resolve, reject) => {
          const req = s.request({ ':path': '/hints', cookie: '_s=h.two' });
          req.on('headers', (h) => hints.push(`${h[':status']} ${h.link}`));
          let b = '';
          req.on('data', (c) => (b += c));
          req.on('end', () => resolve(b));
          req.on('error', reject);
        });
        assert.equal(done, 'hinted');
        assert.deepEqual(hints, ['103 </style.css>; rel=preload; as=style']);
      } finally {
        s.close();
      }
    });

    test('a stream the client resets aborts the member request; the connection carries on', async () => {
      const s = await h2Connect(tlsPort, { ca: ca.certPem });
      try {
        const req = s.request({ ':path': `/hang-${engine}`, cookie: '_s=r.one' });
        req.on('error', () => undefined);
        await until(() => one.seen.some((x) => x.url === `/hang-${engine}`), 'the member got the request');
        req.close(http2.constants.NGHTTP2_CANCEL);
        await until(() => aborted.includes(`one /hang-${engine}`), 'the member request was aborted');
        const r = await h2Request(s, { ':path': '/after', cookie: '_s=r.one' });
        assert.equal(r.status, 200);
      } finally {
        s.close();
      }
    });

    test('h2c with prior knowledge on a plain listener that asks for it; HTTP/1.1 on the same port still works', async () => {
      const s = await h2Connect(h2cPort);
      try {
        const r = await h2Request(s, { ':path': '/plain', cookie: '_s=p.two' });
        const j = JSON.parse(r.body);
        assert.equal(j.member, 'two');
        assert.equal(j.proto, 'http');
      } finally {
        s.close();
      }
      const h1 = await request(`http://127.0.0.1:${h2cPort}/plain`, { headers: { cookie: '_s=p.one' } });
      assert.equal(JSON.parse(h1.body).member, 'one');
    });

    test('handlers answer over HTTP/2 too (server-status through the ordinary request path)', async () => {
      const s = await h2Connect(tlsPort, { ca: ca.certPem });
      try {
        const r = await h2Request(s, { ':path': '/server-status?auto' });
        assert.equal(r.status, 200);
        assert.match(r.body, /Total Accesses:/);
      } finally {
        s.close();
      }
    });

    test('h2load: 600 requests on 3 connections, 10 streams each at a time, all answered', async () => {
      const r = await run('h2load', ['-n', '600', '-c', '3', '-m', '10', `https://127.0.0.1:${tlsPort}/load`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /requests: 600 total, 600 started, 600 done, 600 succeeded, 0 failed, 0 errored/);
      assert.match(r.stdout, /status codes: 600 2xx/);
    });
  });
}

test('a request body is replayed on failover over HTTP/2: the member that refuses never costs the client its body', async () => {
  const dead = await refusedPort();
  const lb = await startBalancer({ ...raw(), balancers: { app: { members: [{ url: `http://127.0.0.1:${dead}`, route: 'dead' }, { url: one.url, route: 'one' }] } } } as never);
  try {
    const s = await h2Connect(lb.app.addresses[0].port, { ca: ca.certPem });
    const body = Buffer.alloc(40_000, 'r');
    for (let i = 0; i < 4; i++) {
      const r = await h2Request(s, { ':path': '/replay', ':method': 'POST' }, body);
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).length, body.length);
    }
    s.close();
  } finally {
    await lb.close();
  }
});

test('GOAWAY on reload and on shutdown: streams in flight finish, new streams go to a new connection', async () => {
  const lb = await startBalancer(raw() as never);
  const port = lb.app.addresses[0].port;
  try {
    const s = await h2Connect(port, { ca: ca.certPem });
    let goaways = 0;
    s.on('goaway', () => goaways++);
    const inFlight = h2Request(s, { ':path': '/slow', cookie: '_s=g.one' });
    await until(() => one.seen.some((x) => x.url === '/slow'), 'the slow request reached its member');
    await lb.app.reload(validateConfig(raw()));
    await until(() => goaways === 1, 'GOAWAY after the reload');
    // The connection takes no new stream after GOAWAY: the client opens another one.
    assert.throws(() => s.request({ ':path': '/x' }), /GOAWAY/);
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'slow done');
    s.close();
    // Shutdown: a new connection, a stream in flight, then close with a grace time.
    const t = await h2Connect(port, { ca: ca.certPem });
    let closedGoaway = false;
    t.on('goaway', () => (closedGoaway = true));
    const before = one.seen.length;
    const last = h2Request(t, { ':path': '/slow', cookie: '_s=g.one' });
    await until(() => one.seen.length > before, 'the second slow request reached its member');
    const closing = lb.app.close(5_000);
    const done = await last;
    assert.equal(done.body, 'slow done');
    await closing;
    assert.equal(closedGoaway, true);
  } finally {
    await lb.close().catch(() => undefined);
  }
});

test('HTTP/2 requests on a site with access rules go through the gate: refused ones get 403, others reach their member over the HTTP/2 transport', async () => {
  const lb = await startBalancer({ ...raw(), access: [{ path: '/private', allow: ['all'], deny: ['127.0.0.1'] }] } as never);
  const records: { transport: string; target: string; status?: number }[] = [];
  lb.app.server.records.subscribe((r) => records.push({ transport: r.transport, target: r.target, status: r.status }));
  try {
    const s = await h2Connect(lb.app.addresses[0].port, { ca: ca.certPem });
    const denied = await h2Request(s, { ':path': '/private/x', cookie: '_s=d.one' });
    assert.equal(denied.status, 403);
    const body = Buffer.alloc(100_000, 'g');
    const ok = await h2Request(s, { ':path': '/open', ':method': 'POST', cookie: ['a=1', '_s=d.two'] }, body);
    const j = JSON.parse(ok.body);
    assert.equal(j.member, 'two');
    assert.equal(j.cookie, 'a=1; _s=d.two');
    assert.equal(j.length, body.length);
    s.close();
    await until(() => records.length === 2, 'both records');
    assert.deepEqual(records.map((r) => [r.transport, r.target, r.status]), [
      ['h2', '/private/x', 403],
      ['h2', '/open', 200],
    ]);
  } finally {
    await lb.close();
  }
});

// The HTTP/2 transport builds the member's request headers where node:http's does: the same
// X-Forwarded-For (a declared proxy's extended with the connection's address) and the Forwarded
// header a site asks for, whether the stream took the HTTP/2 transport directly or, on a site
// with trusted proxies, the ordinary request path.
test('HTTP/2 sends the member the forwarding headers HTTP/1.1 sends: Forwarded where the site asks, a declared proxy\'s X-Forwarded-For extended', async () => {
  const echo = await startBackend({ name: 'e', route: 'e' });
  try {
    for (const trusted of [false, true]) {
      const lb = await startBalancer({
        listen: [{ host: '127.0.0.1', port: 0, protocols: ['h2c', 'http/1.1'] }],
        balancers: { e: { members: [{ url: echo.url, route: 'e' }] } },
        proxyPass: [{ path: '/', to: 'balancer://e/' }],
        forwarded: true,
        ...(trusted ? { remoteIp: { header: 'X-Forwarded-For', internalProxies: ['127.0.0.1'] } } : {}),
      } as never);
      try {
        const port = lb.app.addresses[0].port;
        const s = await h2Connect(port);
        const over2 = JSON.parse((await h2Request(s, { ':path': '/fwd', 'x-forwarded-for': '203.0.113.9' })).body).headers;
        s.close();
        const over1 = JSON.parse((await request(`http://127.0.0.1:${port}/fwd`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).body).headers;
        assert.equal(over2['x-forwarded-for'], trusted ? '203.0.113.9, 127.0.0.1' : '127.0.0.1');
        assert.equal(over2.forwarded, `for=127.0.0.1;host="127.0.0.1:${port}";proto=http`);
        for (const name of ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded']) assert.equal(over2[name], over1[name], name);
      } finally {
        await lb.close();
      }
    }
  } finally {
    await echo.close();
  }
});

// Without the header time, a client on an h2c listener that never finishes its first bytes would
// hold the connection forever (Node's own timeouts start later).
test('an idle HTTP/2 connection gets GOAWAY after the keep-alive time; a stream in flight for longer keeps its connection', { timeout: 20_000 }, async () => {
  const lb = await startBalancer({ ...raw(), keepAliveTimeout: '1s', engine: 'lean' } as never);
  try {
    const s = await h2Connect(lb.app.addresses[1].port);
    let goaway = false;
    s.on('goaway', () => (goaway = true));
    const r = await h2Request(s, { ':path': '/slower', cookie: '_s=i.one' });
    assert.equal(r.body, 'slower done');
    assert.equal(goaway, false, 'no GOAWAY while a stream was in flight');
    assert.equal((await h2Request(s, { ':path': '/again', cookie: '_s=i.one' })).status, 200);
    await until(() => goaway && s.closed, 'GOAWAY and the end of the idle connection', 10_000);
  } finally {
    await lb.close();
  }
});

test('an h2c listener cuts a client that says nothing, or stops inside the preface, after the header time', { timeout: 20_000 }, async () => {
  const lb = await startBalancer({ ...raw(), requestReadTimeout: 'header=1' } as never);
  try {
    const port = lb.app.addresses[1].port;
    const closes = (first: Buffer | undefined) =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => first && s.write(first));
        s.on('close', () => resolve(true));
        s.on('error', () => undefined);
      });
    assert.equal(await closes(undefined), true);
    assert.equal(await closes(Buffer.from('PRI * HTTP/2', 'latin1')), true);
    const s = await h2Connect(port);
    assert.equal((await h2Request(s, { ':path': '/after' })).status, 200);
    s.close();
  } finally {
    await lb.close();
  }
});
