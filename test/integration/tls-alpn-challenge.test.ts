// TLS-ALPN-01 (RFC 8737) on a TLS listener, with real TLS clients: while a name is under
// validation, a ClientHello that asks for acme-tls/1 with that name gets the challenge
// certificate (acme-client checks its acmeIdentifier) and acme-tls/1, and the connection is closed
// after the handshake; everything else on the same port is served as always, at the same time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import acme from 'acme-client';
import { Challenges } from '../../src/acme/challenges.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { certDir, makeCa, makeCert, writeCert, type TestKeyPair } from '../helpers/certs.js';
import { httpsRequest } from '../helpers/tls.js';

let ca: TestKeyPair;
let member: Backend;
let lb: RunningBalancer;
let port: number;
const challenges = new Challenges();
const KEY_AUTHORIZATION = 'token-of-the-ca.thumbprint-of-the-account';

before(async () => {
  ca = await makeCa();
  const files = writeCert(certDir(), 'a', await makeCert(ca, ['a.test']));
  member = await startBackend({ name: 'one' });
  lb = await startBalancer({
    listen: [{ host: '127.0.0.1', port: 0, tls: true }],
    serverName: 'a.test',
    tls: files,
    balancers: { app: { members: [{ url: member.url, route: 'one' }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
  } as never);
  port = lb.app.addresses[0].port;
  // What the ACME plugin does while an order is open (set by hand here: no CA in this test).
  lb.app.server.challenges = challenges;
});

after(async () => {
  await lb?.close();
  await member?.close();
});

interface Hello {
  alpn: string | false | null;
  cert?: string;
  /** The server closed the connection after the handshake, without a byte. */
  closedByServer: boolean;
  error?: string;
}

/** A connection whose first write (the ClientHello) arrives in two pieces, 50 ms apart. */
function splitting(): Duplex {
  const raw = net.connect(port, '127.0.0.1');
  let first = true;
  const d = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      if (!first) return void raw.write(chunk, cb);
      first = false;
      raw.write(chunk.subarray(0, 7));
      setTimeout(() => raw.write(chunk.subarray(7), cb), 50);
    },
    read() {},
    final(cb) {
      raw.end(cb);
    },
  });
  raw.on('data', (c: Buffer) => d.push(c));
  raw.on('end', () => d.push(null));
  raw.on('error', (e) => d.destroy(e));
  return d;
}

/** A TLS handshake with `name` as SNI and `protocols` as ALPN, as a CA's validation makes it. */
function hello(name: string, protocols: string[], split = false): Promise<Hello> {
  return new Promise((resolve) => {
    const s = tls.connect({ ...(split ? { socket: splitting() } : { host: '127.0.0.1', port }), servername: name, ALPNProtocols: protocols, rejectUnauthorized: false });
    let got: Hello | undefined;
    s.once('secureConnect', () => {
      const raw = s.getPeerX509Certificate();
      got = { alpn: s.alpnProtocol, cert: raw?.toString(), closedByServer: false };
      // A browser's connection stays open for its requests: this one has seen what it came for.
      if (s.alpnProtocol !== 'acme-tls/1') s.destroy();
    });
    s.on('data', () => undefined);
    s.once('end', () => {
      if (got) got.closedByServer = true;
      s.destroy();
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (!got) got = { alpn: false, closedByServer: false, error: e.code ?? e.message };
    });
    s.once('close', () => resolve(got ?? { alpn: false, closedByServer: true }));
  });
}

async function challengeFor(name: string): Promise<void> {
  const key = await acme.crypto.createPrivateEcdsaKey();
  const [, cert] = await acme.crypto.createAlpnCertificate({ identifier: { type: 'dns', value: name } } as never, KEY_AUTHORIZATION, key);
  challenges.addAlpn(name, { certPem: cert.toString(), keyPem: key.toString() });
}

test('a name under validation: acme-tls/1 gets the challenge certificate and is closed after the handshake; browsers on the same port are served meanwhile', async () => {
  await challengeFor('alpn.test');
  const ca1 = await hello('alpn.test', ['acme-tls/1']);
  assert.equal(ca1.alpn, 'acme-tls/1');
  assert.ok(ca1.cert, 'a certificate was presented');
  assert.equal(acme.crypto.isAlpnCertificateAuthorizationValid(ca1.cert!, KEY_AUTHORIZATION), true, 'the acmeIdentifier of the key authorization');
  assert.match(new X509Certificate(ca1.cert!).subjectAltName ?? '', /DNS:alpn\.test/);
  assert.equal(ca1.closedByServer, true);
  // A ClientHello that arrives in pieces is read whole before anything is decided.
  const split = await hello('alpn.test', ['acme-tls/1'], true);
  assert.equal(split.alpn, 'acme-tls/1');
  assert.equal(acme.crypto.isAlpnCertificateAuthorizationValid(split.cert!, KEY_AUTHORIZATION), true);

  // The same port serves everyone else as always, while the challenge is open.
  const r = await httpsRequest(port, '/x', { ca: ca.certPem });
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).member, 'one');
  const browser = await hello('a.test', ['h2', 'http/1.1'], true);
  assert.equal(browser.alpn, 'h2');
  assert.match(new X509Certificate(browser.cert!).subject, /CN=a\.test/);

  // acme-tls/1 for a name that is not under validation gets no challenge certificate.
  const other = await hello('a.test', ['acme-tls/1']);
  assert.notEqual(other.alpn, 'acme-tls/1');
  assert.ok(!other.cert || !/alpn\.test/.test(new X509Certificate(other.cert).subjectAltName ?? ''));
});

test('once the validation is over, acme-tls/1 for the name gets nothing', async () => {
  await challengeFor('done.test');
  assert.equal((await hello('done.test', ['acme-tls/1'])).alpn, 'acme-tls/1');
  challenges.removeAlpn('done.test');
  const after = await hello('done.test', ['acme-tls/1']);
  assert.notEqual(after.alpn, 'acme-tls/1');
  if (after.cert) assert.doesNotMatch(new X509Certificate(after.cert).subjectAltName ?? '', /done\.test/);
});

test('garbage after a TLS record header, while a validation is open, is cut and the listener serves on', async () => {
  await challengeFor('alpn.test');
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20]), Buffer.alloc(32, 0xee)])));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => resolve(true));
  });
  assert.equal(closed, true);
  assert.equal((await httpsRequest(port, '/y', { ca: ca.certPem })).status, 200);
});
