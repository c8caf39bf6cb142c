// HTTPS at the edge with real clients: curl (HTTP/1.1 and HTTP/2, --resolve for SNI), Node's
// https and http2 clients, nghttp. Sticky sessions by cookie and URL over TLS, SNI for three names
// plus the default for clients without SNI, RSA and ECDSA on one site, the scheme followed
// (X-Forwarded-Proto, ProxyPassReverse, the route cookie's Secure, HSTS), and bad input on the
// TLS port: plain HTTP, garbage, a handshake that stalls. Certificates are made at run time.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { certDir, makeCa, makeCert, writeCert, type TestKeyPair } from '../helpers/certs.js';
import { curl, h2Connect, h2Request, httpsRequest, presented, run } from '../helpers/tls.js';
import { request, until } from '../helpers/http.js';
import type { RequestRecord } from '../../src/proxy/core/record.js';

let ca: TestKeyPair;
let dir: string;
let caFile: string;
const files: Record<string, { cert: string; key: string }> = {};
let one: Backend;
let two: Backend;

before(async () => {
  ca = await makeCa();
  dir = certDir();
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  files.aEc = writeCert(dir, 'a-ec', await makeCert(ca, ['a.test'], { cn: 'a.test ecdsa' }));
  files.aRsa = writeCert(dir, 'a-rsa', await makeCert(ca, ['a.test'], { keyType: 'rsa', cn: 'a.test rsa' }));
  files.b = writeCert(dir, 'b', await makeCert(ca, ['b.test']));
  files.c = writeCert(dir, 'c', await makeCert(ca, ['*.c.test']));
  one = await startBackend({ name: 'one' });
  // A member that redirects with its own absolute URL, and one that says Location relative.
  two = await startBackend({
    name: 'two',
    handler: (req, res, _body, b) => {
      if (req.url === '/go') {
        res.writeHead(302, { Location: `${b.url}/landing`, 'X-Member': 'two' });
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Member': 'two' });
      res.end(JSON.stringify({ member: 'two', url: req.url, headers: req.headers }));
    },
  });
});

after(async () => {
  await one?.close();
  await two?.close();
});

function config(engine: 'lean' | 'node') {
  return {
    engine,
    listen: [{ host: '127.0.0.1', port: 0, tls: true }],
    balancers: {
      app: { stickysession: '_s', routecookie: 'ROUTEID', members: [{ url: one.url, route: 'one' }, { url: two.url, route: 'two' }] },
    },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    proxyPassReverse: [{ path: '/', to: 'balancer://app/' }],
    metrics: { allow: ['all'] },
    virtualHosts: [
      // The first site is the default: clients without SNI get its certificate.
      { serverName: 'a.test', tls: { certificates: [files.aEc, files.aRsa] }, hsts: true },
      { serverName: 'b.test', tls: files.b },
      { serverName: 'www.c.test', serverAliases: ['*.c.test'], tls: files.c },
    ],
  } as const;
}

for (const engine of ['lean', 'node'] as const) {
  describe(`TLS listener (${engine} engine)`, () => {
    let lb: RunningBalancer;
    const records: RequestRecord[] = [];
    before(async () => {
      lb = await startBalancer(structuredClone(config(engine)) as never);
      lb.app.server.records.subscribe((r) => records.push(r));
    });
    after(() => lb?.close());

    test('HTTPS/1.1 with curl: sticky by cookie and by URL, X-Forwarded-Proto https, the route cookie Secure [route-cookie-secure]', async () => {
      const url = `https://a.test:${lb.port}/x`;
      const first = await curl(lb.port, 'a.test', caFile, ['--http1.1', '-i', url]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^HTTP\/1\.1 200/);
      const member = /x-member: (\w+)/i.exec(first.stdout)![1];
      assert.match(first.stdout, /set-cookie: ROUTEID=\.\w+; Path=\/; HttpOnly; Secure/i);
      // Sticky by cookie (the other member's route is never chosen), then by URL.
      const other = member === 'one' ? 'two' : 'one';
      for (let i = 0; i < 4; i++) {
        const r = await curl(lb.port, 'a.test', caFile, ['--http1.1', '-i', '-H', `Cookie: _s=abc.${other}`, url]);
        assert.match(r.stdout, new RegExp(`x-member: ${other}`, 'i'));
        const u = await curl(lb.port, 'a.test', caFile, ['--http1.1', '-i', `https://a.test:${lb.port}/x;_s=abc.${member}`]);
        assert.match(u.stdout, new RegExp(`x-member: ${member}`, 'i'));
      }
      const seen = [...one.seen, ...two.seen].at(-1)!;
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.equal(seen.headers['x-forwarded-host'], `a.test:${lb.port}`);
    });

    test('HTTP/2 with curl and nghttp: ALPN h2, sticky by cookie and URL, HSTS on the answers', async () => {
      const url = `https://a.test:${lb.port}/y`;
      for (const route of ['one', 'two']) {
        const r = await curl(lb.port, 'a.test', caFile, ['--http2', '-i', '-H', `Cookie: _s=s1.${route}`, url]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^HTTP\/2 200/);
        assert.match(r.stdout, new RegExp(`x-member: ${route}`));
        assert.match(r.stdout, /strict-transport-security: max-age=31536000/);
        const u = await curl(lb.port, 'a.test', caFile, ['--http2', '-i', `https://a.test:${lb.port}/y?_s=s2.${route}`]);
        assert.match(u.stdout, new RegExp(`x-member: ${route}`));
      }
      const n = await run('nghttp', ['-v', '-n', '-H', 'cookie: _s=q.two', `https://127.0.0.1:${lb.port}/z`, '-H', `:authority: a.test:${lb.port}`]);
      assert.equal(n.code, 0, n.stderr);
      assert.match(n.stdout, /:status: 200/);
      assert.match(n.stdout, /x-member: two/);
      const h2 = records.filter((r) => r.transport === 'h2');
      assert.ok(h2.length >= 4);
      assert.ok(h2.every((r) => r.httpVersion === '2' && r.scheme === 'https' && r.tls?.protocol === 'TLSv1.3'));
      const metrics = await curl(lb.port, 'a.test', caFile, ['--http2', `https://a.test:${lb.port}/metrics`]);
      assert.match(metrics.stdout, /stickylb_http_requests_by_protocol_total\{protocol="HTTP\/2\.0",scheme="https"\} [1-9]/);
      assert.match(metrics.stdout, /stickylb_certificate_expiry_seconds\{name="a\.test",source="file"\}/);
    });

    test('SNI chooses among three names on one port; a client without SNI gets the first site\'s certificate', async () => {
      assert.equal((await presented(lb.port, 'b.test')).san, 'DNS:b.test');
      assert.equal((await presented(lb.port, 'x.c.test')).san, 'DNS:*.c.test');
      assert.equal((await presented(lb.port, 'a.test')).san, 'DNS:a.test');
      assert.equal((await presented(lb.port, undefined)).san, 'DNS:a.test');
      // A name no site has: the default too.
      assert.equal((await presented(lb.port, 'nobody.test')).san, 'DNS:a.test');
      // And Host picks the virtual host as SNI did: a verified request to each name.
      for (const name of ['a.test', 'b.test', 'x.c.test']) {
        const r = await httpsRequest(lb.port, '/sni', { ca: ca.certPem, servername: name });
        assert.equal(r.status, 200, name);
      }
    });

    test('RSA and ECDSA certificates side by side: each client gets the one its ciphers can use', async () => {
      const kind = (ciphers: string) =>
        new Promise<string>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port: lb.port, servername: 'a.test', ca: ca.certPem, ciphers, maxVersion: 'TLSv1.2' }, () => {
            resolve(String(s.getPeerCertificate().subject.CN));
            s.end();
          });
          s.on('error', reject);
        });
      assert.equal(await kind('ECDHE-RSA-AES128-GCM-SHA256'), 'a.test rsa');
      assert.equal(await kind('ECDHE-ECDSA-AES128-GCM-SHA256'), 'a.test ecdsa');
    });

    test('secure defaults: TLS 1.1 and 1.0 are refused, sessions resume with tickets', async () => {
      await assert.rejects(
        new Promise((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port: lb.port, servername: 'a.test', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }, () => resolve(s.getProtocol()));
          s.on('error', reject);
        }),
      );
      const connect = (session?: Buffer) =>
        new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
          let ticket: Buffer | undefined;
          const s = tls.connect({ host: '127.0.0.1', port: lb.port, servername: 'a.test', ca: ca.certPem, session }, () => {
            s.write(`GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
          });
          s.on('session', (t) => (ticket = t));
          s.on('data', () => undefined);
          s.on('end', () => resolve({ reused: s.isSessionReused(), session: ticket }));
          s.on('error', reject);
        });
      const first = await connect();
      assert.equal(first.reused, false);
      assert.ok(first.session);
      const second = await connect(first.session);
      assert.equal(second.reused, true);
    });

    test('ProxyPassReverse makes https:// URLs for requests that came over TLS, on HTTP/1.1 and HTTP/2', async () => {
      const h1 = await httpsRequest(lb.port, '/go', { ca: ca.certPem, headers: { cookie: '_s=z.two' } });
      assert.equal(h1.status, 302);
      assert.equal(h1.headers.location, `https://a.test:${lb.port}/landing`);
      assert.equal(h1.headers['strict-transport-security'], 'max-age=31536000');
      // HTTP/1.1 over TLS stays on the engine of the listener (the lean one parses the TLS socket).
      const r1 = records.find((r) => r.target === '/go' && r.httpVersion === '1.1')!;
      assert.equal(r1.transport, engine === 'lean' ? 'h1-lean' : 'h1-node');
      assert.equal(r1.scheme, 'https');
      assert.equal(r1.tls?.protocol, 'TLSv1.3');
      const s = await h2Connect(lb.port, { ca: ca.certPem });
      try {
        const r = await h2Request(s, { ':path': '/go', cookie: '_s=z.two' });
        assert.equal(r.status, 302);
        assert.equal(r.headers.location, `https://a.test:${lb.port}/landing`);
      } finally {
        s.close();
      }
      // b.test has no HSTS.
      const b = await httpsRequest(lb.port, '/x', { ca: ca.certPem, servername: 'b.test' });
      assert.equal(b.headers['strict-transport-security'], undefined);
    });

    test('bad input on the TLS port: plain HTTP gets a 400 that says so, garbage and a stalled handshake are cut, others are served throughout', async () => {
      const plain = await request(`http://127.0.0.1:${lb.port}/`);
      assert.equal(plain.status, 400);
      assert.match(plain.body, /plain HTTP request was sent to an HTTPS port/);
      // A TLS record header followed by garbage: the handshake fails, the connection closes.
      const garbage = await new Promise<boolean>((resolve) => {
        const s = net.connect(lb.port, '127.0.0.1', () => s.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20]), Buffer.alloc(32, 0xee)])));
        s.on('data', () => undefined);
        s.on('close', () => resolve(true));
        s.on('error', () => undefined);
      });
      assert.equal(garbage, true);
      const ok = await httpsRequest(lb.port, '/after', { ca: ca.certPem });
      assert.equal(ok.status, 200);
    });
  });
}

// Node's own handshake timeout is 120 s: the test's time limit fails it unless the header timeout cuts.
test('a handshake that stalls is cut within the header timeout', { timeout: 20_000 }, async () => {
  const lb = await startBalancer({ ...(structuredClone(config('lean')) as object), requestReadTimeout: 'header=1' } as never);
  try {
    // Half a ClientHello, then nothing.
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(lb.port, '127.0.0.1', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])));
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    // A client that connects and says nothing is cut as well.
    const silent = await new Promise<boolean>((resolve) => {
      const s = net.connect(lb.port, '127.0.0.1');
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    assert.equal(closed, true);
    assert.equal(silent, true);
    const ok = await httpsRequest(lb.port, '/after', { ca: ca.certPem });
    assert.equal(ok.status, 200);
  } finally {
    await lb.close();
  }
});

test('redirectToHttps and HSTS: plain HTTP gets a 301 to the same URL on https://; HTTPS answers carry the header, plain ones never [hsts-over-https]', async () => {
  const lb = await startBalancer({
    listen: ['127.0.0.1:0', { host: '127.0.0.1', port: 0, tls: true }],
    balancers: { app: { members: [{ url: one.url }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    serverName: 'a.test',
    tls: files.aEc,
    redirectToHttps: { port: 8443 },
    hsts: { maxAge: 600, includeSubDomains: true },
  });
  try {
    const plain = lb.app.addresses[0].port;
    const tlsPort = lb.app.addresses[1].port;
    const r = await request(`http://127.0.0.1:${plain}/p/q?x=1`, { headers: { host: `a.test:${plain}` } });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://a.test:8443/p/q?x=1');
    assert.equal(r.headers['strict-transport-security'], undefined);
    const s = await httpsRequest(tlsPort, '/p', { ca: ca.certPem });
    assert.equal(s.status, 200);
    assert.equal(s.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
    await until(() => one.seen.some((x) => x.url === '/p'), 'the HTTPS request reached the member');
  } finally {
    await lb.close();
  }
});
