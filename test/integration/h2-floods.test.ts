// The known HTTP/2 floods, written as raw frames over h2c and over TLS: rapid reset
// (CVE-2023-44487), CONTINUATION flood, SETTINGS and PING floods, an HPACK bomb and an oversized
// header list. Each gets its connection closed (GOAWAY, or a cut) while another client is served
// throughout and the process stays up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { certDir, makeCa, makeCert, writeCert, type TestKeyPair } from '../helpers/certs.js';
import * as F from '../helpers/h2-frames.js';
import { h2Connect, h2Request } from '../helpers/tls.js';

let ca: TestKeyPair;
let member: Backend;
let lb: RunningBalancer;
let tlsPort: number;
let h2cPort: number;

before(async () => {
  ca = await makeCa();
  const files = writeCert(certDir(), 'a', await makeCert(ca, ['a.test']));
  member = await startBackend({ name: 'one' });
  lb = await startBalancer({
    listen: [{ host: '127.0.0.1', port: 0, tls: true }, { host: '127.0.0.1', port: 0, protocols: ['h2c', 'http/1.1'] }],
    balancers: { app: { members: [{ url: member.url, route: 'one' }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    serverName: 'a.test',
    tls: files,
  });
  tlsPort = lb.app.addresses[0].port;
  h2cPort = lb.app.addresses[1].port;
});

after(async () => {
  await lb?.close();
  await member?.close();
});

interface Outcome {
  goaway: number | undefined;
  closed: boolean;
  resets: number;
  answers: number;
}

/**
 * Writes `frames` on a raw HTTP/2 connection (h2c, or TLS with ALPN h2) and reads until the server
 * closes it or says GOAWAY.
 */
function attack(frames: Buffer[], overTls = false, enough?: (o: Outcome) => boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { goaway: undefined, closed: false, resets: 0, answers: 0 };
    const s: net.Socket = overTls
      ? tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'a.test', ca: ca.certPem, ALPNProtocols: ['h2'] })
      : net.connect(h2cPort, '127.0.0.1');
    let buf: Buffer = Buffer.alloc(0);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      s.destroy();
      resolve(out);
    };
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const { frames: got, rest } = F.parseFrames(buf);
      buf = rest;
      for (const f of got) {
        if (f.type === F.TYPE.GOAWAY) {
          out.goaway = F.goawayCode(f.payload);
          // The server has given up on the connection: what it says next does not matter.
          setTimeout(finish, 200);
        } else if (f.type === F.TYPE.RST_STREAM) out.resets++;
        else if (f.type === F.TYPE.HEADERS) out.answers++;
      }
      if (enough?.(out)) finish();
    });
    s.on('close', () => {
      out.closed = true;
      finish();
    });
    s.on('error', () => undefined);
    s.once(overTls ? 'secureConnect' : 'connect', async () => {
      for (const f of frames) {
        if (s.destroyed || finished) return;
        if (!s.write(f)) await new Promise((r) => s.once('drain', r));
      }
    });
  });
}

/** Another client, served while the attack goes on. */
async function bystander(): Promise<void> {
  const s = await h2Connect(tlsPort, { ca: ca.certPem });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await h2Request(s, { ':path': '/bystander' })).status, 200);
  } finally {
    s.close();
  }
}

async function during(frames: Buffer[], overTls = false, enough?: (o: Outcome) => boolean): Promise<Outcome> {
  const [outcome] = await Promise.all([attack(frames, overTls, enough), bystander()]);
  await bystander();
  return outcome;
}

const ENHANCE_YOUR_CALM = 11;

test('rapid reset: the connection is closed after the reset limit, long before the member sees the flood', async () => {
  const before = member.seen.length;
  const frames = [F.PREFACE, F.settings()];
  for (let i = 0; i < 3000; i++) {
    const id = 1 + 2 * i;
    frames.push(F.headers(id, F.headerBlock({ path: `/rr${i}` })), F.rstStream(id));
  }
  const o = await during(frames);
  assert.equal(o.goaway, ENHANCE_YOUR_CALM, JSON.stringify(o));
  // nghttp2 alone lets about a thousand through; the reset limit (100 a second) stops it sooner.
  assert.ok(member.seen.length - before < 600, `${member.seen.length - before} requests reached the member`);
});

test('CONTINUATION flood: an endless header block ends the connection', async () => {
  const frames = [F.PREFACE, F.settings(), F.headers(1, F.headerBlock(), 0)];
  for (let i = 0; i < 20_000; i++) frames.push(F.continuation(1, F.literal('x-a', 'b')));
  const o = await during(frames);
  assert.ok(o.goaway !== undefined || o.closed);
  assert.equal(o.answers, 0);
});

test('SETTINGS flood and PING flood: closed with ENHANCE_YOUR_CALM, over h2c and over TLS', async () => {
  const settings = [F.PREFACE, F.settings()];
  for (let i = 0; i < 20_000; i++) settings.push(F.settings([[3, 100]]));
  const a = await during(settings);
  assert.equal(a.goaway, ENHANCE_YOUR_CALM, JSON.stringify(a));
  const pings = [F.PREFACE, F.settings()];
  for (let i = 0; i < 20_000; i++) pings.push(F.ping(`p${i}`));
  const b = await during(pings, true);
  assert.equal(b.goaway, ENHANCE_YOUR_CALM, JSON.stringify(b));
});

test('HPACK bomb and an oversized header list: 431 for a big one, the connection closed for a bomb', async () => {
  // 15 KB of fields in one list (under 16 KB of wire bytes, over the 16 KB limit once counted).
  const extra: [string, string][] = [];
  for (let i = 0; i < 70; i++) extra.push([`x-f${i}`, 'v'.repeat(200)]);
  const big = F.headerBlock({ extra });
  const b = await during([F.PREFACE, F.settings(), F.frame(F.TYPE.HEADERS, F.FLAG.END_STREAM, 1, big.subarray(0, 8000)), F.continuation(1, big.subarray(8000), true), F.headers(3, F.headerBlock({ path: '/next' }))], false, (o) => o.answers === 2);
  // Both streams answered (the oversized one with 431), the connection still open.
  assert.equal(b.answers, 2);
  assert.equal(b.goaway, undefined);
  // One 4000-byte field in the dynamic table, then referenced by one byte each.
  const bomb = Buffer.concat([F.headerBlock(), F.literal('x-bomb', 'a'.repeat(4000), true), Buffer.alloc(100, 0xbe)]);
  const o = await during([F.PREFACE, F.settings(), F.headers(1, bomb)]);
  assert.ok(o.goaway !== undefined || o.closed, JSON.stringify(o));
  assert.equal(o.answers, 0);
});
