// Bad input sent with raw sockets, and members that misbehave: each answered with the status the
// failure catalogue pins, never forwarded when it must not be, a short HTML page without a stack
// trace, and the process still serving afterwards.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { rawRequest, type RawReply } from '../helpers/raw.js';

let backend: Backend;
let lb: RunningBalancer;

before(async () => {
  backend = await startBackend({ name: 'node1', route: 'first' });
  lb = await startBalancer({
    balancers: {
      c: {
        stickysession: '_s',
        nofailover: true,
        balancerheaders: true,
        members: [{ url: backend.url, route: 'first' }],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
});

after(async () => {
  await lb.close();
  await backend.close();
});

/** After each case: a normal request succeeds and the member is still in service. */
afterEach(async () => {
  const r = await request(`${lb.url}/after`);
  assert.equal(r.status, 200);
  assert.equal(r.json().member, 'node1');
  const m = lb.app.runtime.balancer('c')!.members[0];
  assert.equal(m.flags.E, false, 'the member was put in error');
  await until(() => m.busy === 0, 'busy back to 0', 3000);
});

const raw = rawRequest;

function assertErrorPage(r: RawReply, status: number): void {
  assert.equal(r.status, status, r.text.slice(0, 200));
  const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
  assert.match(r.text, /\r\nContent-Type: text\/html; charset=utf-8\r\n/i);
  assert.match(body, /^<!DOCTYPE html>/);
  assert.ok(body.length < 1000, 'a short page');
  assert.doesNotMatch(body, /\bat [\w.<>]+ \(|node:internal|\.ts:\d+/, 'no stack trace');
}

const seenCount = () => backend.seen.length;

test('Content-Length with Transfer-Encoding → 400, connection closed, never forwarded', async () => {
  const before = seenCount();
  const r = await raw(lb.port, 'POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
  assertErrorPage(r, 400);
  assert.equal(r.closed, true);
  assert.equal(r.text.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer, the smuggled request was not read');
  assert.equal(seenCount(), before);
});

test('duplicate differing Content-Length → 400, never forwarded', async () => {
  const before = seenCount();
  const r = await raw(lb.port, 'POST /dup HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!');
  assertErrorPage(r, 400);
  assert.equal(r.closed, true);
  assert.equal(seenCount(), before);
});

test('bad chunk size → 400 or closed; the member never gets a complete request', async () => {
  const before = seenCount();
  const r = await raw(lb.port, 'POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n');
  assert.ok(r.status === 400 || (r.status === 0 && r.closed), r.text.slice(0, 100));
  if (r.status === 400) assertErrorPage(r, 400);
  assert.equal(r.closed, true);
  // Give a forwarded head time to show up as a complete request if it were one.
  await request(`${lb.url}/sync`);
  assert.equal(backend.seen.filter((s) => s.url === '/chunks').length, 0);
  assert.equal(seenCount(), before + 1);
});

test('a bad chunk arriving after the member connection is ready: never a complete request', async () => {
  const s = net.connect(lb.port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write('POST /late-chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  // The head reaches the member first.
  await until(() => lb.app.runtime.balancer('c')!.members[0].busy === 1, 'the forward to start');
  let text = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => (text += d));
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.on('error', () => {});
  s.write('zz\r\nworld\r\n0\r\n\r\n');
  await closed;
  assert.ok(text === '' || /^HTTP\/1\.1 400 /.test(text), text.slice(0, 100));
  await request(`${lb.url}/sync`);
  assert.equal(backend.seen.filter((x) => x.url === '/late-chunks').length, 0);
});

test('a client that goes away mid-upload is no member failure', async () => {
  const s = net.connect(lb.port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write('POST /partial HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
  await until(() => lb.app.runtime.balancer('c')!.members[0].busy === 1, 'the forward to start');
  s.destroy();
  await request(`${lb.url}/sync`);
  assert.equal(backend.seen.filter((x) => x.url === '/partial').length, 0);
});

test('oversized request head → 431', async () => {
  const r = await raw(lb.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assertErrorPage(r, 431);
  assert.equal(r.closed, true);
});

test('absolute-URI for another host → 403; for our own host it is served', async () => {
  const before = seenCount();
  const r = await raw(lb.port, 'GET http://example.com/ HTTP/1.1\r\nHost: example.com:80\r\nConnection: close\r\n\r\n');
  assertErrorPage(r, 403);
  const r2 = await raw(lb.port, 'GET http://other.example/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assertErrorPage(r2, 403);
  assert.equal(seenCount(), before);
  const own = await raw(lb.port, `GET http://127.0.0.1:${lb.port}/own?a=1 HTTP/1.1\r\nHost: 127.0.0.1:${lb.port}\r\nConnection: close\r\n\r\n`);
  assert.equal(own.status, 200);
  assert.equal(backend.seen[backend.seen.length - 1].url, '/own?a=1');
});

test('CONNECT → 405', async () => {
  const before = seenCount();
  const r = await raw(lb.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  assertErrorPage(r, 405);
  assert.equal(r.closed, true);
  assert.equal(seenCount(), before);
});

test('a path above the root or with a bad escape → 400', async () => {
  for (const target of ['/../etc/passwd', '/%zz', '/a/%2e%2e/%2e%2e/b']) {
    const r = await raw(lb.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assertErrorPage(r, 400);
  }
});

test('a route with control characters is treated as no route', async () => {
  // llhttp refuses control characters other than tab in header values (400); a tab gets through.
  const r = await raw(lb.port, 'GET /ctl HTTP/1.1\r\nHost: x\r\nCookie: _s=abc.fi\trst\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
  const seen = backend.seen[backend.seen.length - 1];
  assert.equal(seen.url, '/ctl');
  assert.equal(seen.headers['x-stickylb-session-sticky'], '_s');
  assert.equal(seen.headers['x-stickylb-session-route'], undefined);
  assert.equal(seen.headers['x-stickylb-route-changed'], '1');
  const bad = await raw(lb.port, 'GET /ctl HTTP/1.1\r\nHost: x\r\nCookie: _s=abc.fi\x01rst\r\nConnection: close\r\n\r\n');
  assertErrorPage(bad, 400);
  // The same with a clean route is sticky.
  const ok = await raw(lb.port, 'GET /ctl2 HTTP/1.1\r\nHost: x\r\nCookie: _s=abc.first\r\nConnection: close\r\n\r\n');
  assert.equal(ok.status, 200);
  assert.equal(backend.seen[backend.seen.length - 1].headers['x-stickylb-session-route'], 'first');
});

test('no usable member → 503', async () => {
  const b = lb.app.runtime.balancer('c')!;
  const m = b.members[0];
  b.setFlag(m, 'D', true, 'test');
  try {
    const r = await raw(lb.port, 'GET /none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assertErrorPage(r, 503);
    const sticky = await raw(lb.port, 'GET /none HTTP/1.1\r\nHost: x\r\nCookie: _s=a.first\r\nConnection: close\r\n\r\n');
    assertErrorPage(sticky, 503);
  } finally {
    b.setFlag(m, 'D', false, 'test');
  }
});

// ---- Members that misbehave ----

/** A raw TCP member; `onRequest` gets the socket once a request head has arrived. */
async function rawMember(onRequest: (s: net.Socket) => void): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let head = '';
    s.on('data', (d) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        head = '';
        onRequest(s);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function withMember(
  onRequest: (s: net.Socket) => void,
  member: Record<string, unknown>,
  fn: (url: string, lb2: RunningBalancer) => Promise<void>,
): Promise<void> {
  const bad = await rawMember(onRequest);
  const lb2 = await startBalancer({
    balancers: { c: { members: [{ url: bad.url, route: 'bad', ...member }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  try {
    await fn(lb2.url, lb2);
  } finally {
    await lb2.close();
    await bad.close();
  }
}

test('member resets mid-answer (inside the head) → 502', async () => {
  await withMember(
    (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Le');
      s.resetAndDestroy();
    },
    {},
    async (_url, lb2) => {
      const r = await raw(lb2.port, 'GET /reset HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assertErrorPage(r, 502);
      const m = lb2.app.runtime.balancer('c')!.members[0];
      // A reset after connecting is the member's fault but no connect failure: no error state.
      assert.equal(m.flags.E, false);
      await until(() => m.busy === 0, 'busy back to 0');
    },
  );
});

test('member resets mid-body → the client connection is cut (the head was already sent)', async () => {
  await withMember(
    (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
      setImmediate(() => s.resetAndDestroy());
    },
    {},
    async (_url, lb2) => {
      const r = await raw(lb2.port, 'GET /cut HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(r.status, 200);
      assert.equal(r.closed, true);
      assert.ok(r.text.endsWith('0123456789'));
      await until(() => lb2.app.runtime.balancer('c')!.members[0].busy === 0, 'busy back to 0');
    },
  );
});

test('member sends garbage → 502', async () => {
  await withMember(
    (s) => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'),
    {},
    async (_url, lb2) => {
      const r = await raw(lb2.port, 'GET /garbage HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assertErrorPage(r, 502);
    },
  );
});

test('member too slow → 504 after the member timeout, never before it [member-timeout-granularity]', async () => {
  await withMember(
    () => {
      // Never answers.
    },
    { timeout: '150ms' },
    async (_url, lb2) => {
      const t0 = Date.now();
      const r = await raw(lb2.port, 'GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assertErrorPage(r, 504);
      assert.ok(Date.now() - t0 >= 140, 'waited for the timeout');
      const m = lb2.app.runtime.balancer('c')!.members[0];
      // failontimeout is Off: the member stays in service.
      assert.equal(m.flags.E, false);
      await until(() => m.busy === 0, 'busy back to 0');
    },
  );
});

test('the member timeout counts traffic: an answer trickling in for longer than it arrives whole', async () => {
  await withMember(
    (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n');
      // One byte every 100 ms: 600 ms in all, never 250 ms without a byte.
      let sent = 0;
      const t = setInterval(() => {
        if (s.destroyed) return clearInterval(t);
        s.write('abcdef'[sent++]);
        if (sent === 6) clearInterval(t);
      }, 100);
    },
    { timeout: '250ms' },
    async (_url, lb2) => {
      const t0 = Date.now();
      const r = await raw(lb2.port, 'GET /trickle HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(r.status, 200);
      assert.ok(r.text.endsWith('\r\n\r\nabcdef'), r.text);
      assert.ok(Date.now() - t0 >= 500, 'the whole answer took longer than the member timeout');
    },
  );
});

test('member resets mid-upload → 502, and the client connection stays usable', async () => {
  let requests = 0;
  await withMember(
    (s) => {
      requests++;
      if (requests % 2 === 0) {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        return;
      }
      // Reset once some of the body has arrived.
      let got = 0;
      s.on('data', (d) => {
        got += d.length;
        if (got > 64 * 1024) s.resetAndDestroy();
      });
    },
    {},
    async (_url, lb2) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const within = <T>(p: Promise<T>, what: string) =>
        Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no answer in 3 s: ${what}`)), 3000))]);
      try {
        const r = await within(request(`${lb2.url}/upload`, { method: 'POST', body: Buffer.alloc(3_000_000), agent }), 'upload');
        assert.equal(r.status, 502);
        const next = await within(request(`${lb2.url}/next`, { agent }), 'next request');
        assert.equal(next.status, 200);
        assert.equal(next.body, 'ok');
      } finally {
        agent.destroy();
      }
      await until(() => lb2.app.runtime.balancer('c')!.members[0].busy === 0, 'busy back to 0');
    },
  );
});

test('member too slow while the client uploads → 504, and the client connection stays usable', async () => {
  let requests = 0;
  await withMember(
    (s) => {
      requests++;
      if (requests % 2 === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      // The odd ones read the body and never answer.
    },
    { timeout: '200ms' },
    async (_url, lb2) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const within = <T>(p: Promise<T>, what: string) =>
        Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no answer in 3 s: ${what}`)), 3000))]);
      try {
        // The client sends the first part and stalls; the member times out meanwhile.
        const slow = new Promise<{ status: number }>((resolve, reject) => {
          const req = http.request(`${lb2.url}/stall`, { method: 'POST', agent, headers: { 'Content-Length': '2000000' } }, (res) => {
            res.resume();
            res.on('end', () => {
              req.end(Buffer.alloc(1_000_000));
              resolve({ status: res.statusCode! });
            });
          });
          req.on('error', reject);
          req.write(Buffer.alloc(1_000_000));
        });
        assert.equal((await within(slow, 'stalled upload')).status, 504);
        const next = await within(request(`${lb2.url}/next`, { agent }), 'next request');
        assert.equal(next.status, 200);
      } finally {
        agent.destroy();
      }
    },
  );
});

test('an internal error → 500 with a short page, no stack trace, no detail', async () => {
  const lb2 = await startBalancer({
    serverStatus: { path: '/server-status', allow: ['all'] },
    balancers: { c: { members: [{ url: backend.url, route: 'first' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  lb2.app.server.handlers.set('server-status', () => {
    throw new Error('boom in /srv/stickylb/src/secret.ts:12:3');
  });
  try {
    const r = await raw(lb2.port, 'GET /server-status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assertErrorPage(r, 500);
    assert.doesNotMatch(r.text, /boom|secret/);
    assert.equal((await request(`${lb2.url}/after`)).status, 200);
  } finally {
    await lb2.close();
  }
});
