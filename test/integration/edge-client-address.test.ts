// The real client address, on both engines: a client's own X-Forwarded-For changes nothing; the
// same header from a declared proxy makes the client 203.0.113.9, so a manager allowed to
// 127.0.0.1 refuses it; the PROXY protocol (v1 and v2: TCP4, TCP6, UNKNOWN, LOCAL) gives the
// client's address; malformed, truncated, oversized and missing headers close the connection,
// and the process serves other clients throughout.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { until } from '../helpers/http.js';
import { get, rawConn } from '../helpers/edge.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { RequestRecord } from '../../src/proxy/core/record.js';
import { V2_SIGNATURE } from '../../src/proxy/proxy-protocol.js';

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

let member: Backend | undefined;
async function echo(): Promise<Backend> {
  if (!member) {
    member = await startBackend({ name: 'm', route: 'm' });
    cleanup.push(() => member!.close());
  }
  return member;
}

async function balancer(engine: 'lean' | 'node', extra: RawConfig): Promise<{ lb: RunningBalancer; records: RequestRecord[] }> {
  const m = await echo();
  const lb = await startBalancer({
    engine,
    balancers: { c: { members: [{ url: m.url, route: 'm' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
    manager: { access: { require: 'ip 127.0.0.1' } },
    ...extra,
  });
  cleanup.push(() => lb.close());
  const records: RequestRecord[] = [];
  lb.app.server.records.subscribe((r) => records.push(r));
  return { lb, records };
}

/** What the member saw (the test backend answers with the headers it got). */
const seen = (body: string) => JSON.parse(body).headers as Record<string, string>;

function v2Header(cmd: number, fam: number, addr: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(addr.length);
  return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20 | cmd, fam]), len, addr]);
}

for (const engine of ['lean', 'node'] as const) {
  test(`${engine}: a spoofed X-Forwarded-For from an undeclared peer changes nothing [forwarded-trust]`, async () => {
    const { lb, records } = await balancer(engine, {});
    const r = await get(lb.port, '/x', { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https', Forwarded: 'for=203.0.113.9' } });
    assert.equal(r.status, 200);
    const h = seen(r.body);
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h.forwarded, undefined);
    // The manager allowed to 127.0.0.1 still takes this client: it is 127.0.0.1.
    const m = await get(lb.port, '/balancer-manager', { headers: { 'X-Forwarded-For': '203.0.113.9' } });
    assert.equal(m.status, 200);
    await until(() => records.length >= 2, 'two records');
    assert.deepEqual(records.map((x) => [x.clientAddress, x.peerAddress, x.viaProxy]), [
      ['127.0.0.1', '127.0.0.1', false],
      ['127.0.0.1', '127.0.0.1', false],
    ]);
  });

  test(`${engine}: from a declared proxy the header gives the client: a Require ip 127.0.0.1 manager refuses 203.0.113.9 [forwarded-trust]`, async () => {
    const { lb, records } = await balancer(engine, { remoteIp: { header: 'X-Forwarded-For', internalProxies: ['127.0.0.1'] }, forwarded: true });
    const r = await get(lb.port, '/x', { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' } });
    assert.equal(r.status, 200);
    const h = seen(r.body);
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.match(h.forwarded, /^for=127\.0\.0\.1;host="127\.0\.0\.1:\d+";proto=http$/);
    const m = await get(lb.port, '/balancer-manager', { headers: { 'X-Forwarded-For': '203.0.113.9' } });
    assert.equal(m.status, 403);
    // Without the header the proxy itself is the client.
    assert.equal((await get(lb.port, '/balancer-manager')).status, 200);
    await until(() => records.length >= 3, 'three records');
    assert.deepEqual(records.slice(0, 2).map((x) => [x.clientAddress, x.peerAddress, x.viaProxy]), [
      ['203.0.113.9', '127.0.0.1', true],
      ['203.0.113.9', '127.0.0.1', true],
    ]);
    // A peer that is not declared (127.0.0.2) is its own client, whatever it says.
    const other = await get(lb.port, '/x', { from: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.9' } });
    assert.equal(seen(other.body)['x-forwarded-for'], '127.0.0.2');
  });

  test(`${engine}: the PROXY protocol v1 and v2 give the client's address; LOCAL and UNKNOWN keep the connection's`, async () => {
    const { lb, records } = await balancer(engine, { proxyProtocol: true, proxyProtocolTimeout: '500ms' });
    const send = async (header: Buffer | string): Promise<string> => {
      const c = rawConn(lb.port);
      await c.ready;
      c.write(Buffer.concat([Buffer.from(header as never), Buffer.from('GET /pp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
      await until(() => c.closed(), 'the answer');
      return c.text();
    };
    const xff = (text: string) => JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)).headers['x-forwarded-for'];
    assert.equal(xff(await send('PROXY TCP4 203.0.113.9 192.0.2.1 56324 80\r\n')), '203.0.113.9');
    assert.equal(xff(await send('PROXY TCP6 2001:db8::9 2001:db8::1 56324 80\r\n')), '2001:db8::9');
    assert.equal(xff(await send('PROXY UNKNOWN\r\n')), '127.0.0.1');
    const a4 = Buffer.from([198, 51, 100, 7, 192, 0, 2, 1, 0x30, 0x39, 0, 80]);
    assert.equal(xff(await send(v2Header(1, 0x11, a4))), '198.51.100.7');
    const a6 = Buffer.alloc(36);
    a6.write('20010db8000000000000000000000042', 0, 'hex');
    assert.equal(xff(await send(v2Header(1, 0x21, a6))), '2001:db8::42');
    assert.equal(xff(await send(v2Header(0, 0x00, Buffer.alloc(0)))), '127.0.0.1');
    await until(() => records.length >= 6, 'six records');
    assert.deepEqual(records.map((r) => r.clientAddress), ['203.0.113.9', '2001:db8::9', '127.0.0.1', '198.51.100.7', '2001:db8::42', '127.0.0.1']);
    assert.deepEqual(records.map((r) => r.peerAddress), records.map((r) => r.clientAddress));
    assert.equal(records[0].clientPort, 56324);
    // A manager allowed to 127.0.0.1 refuses what came through the PROXY header from elsewhere.
    const c = rawConn(lb.port);
    await c.ready;
    c.write('PROXY TCP4 203.0.113.9 192.0.2.1 1 80\r\nGET /balancer-manager HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await until(() => c.closed(), 'the manager to answer');
    assert.match(c.text(), /^HTTP\/1\.1 403 /);
  });

  test(`${engine}: malformed, truncated, oversized and missing PROXY headers close the connection; others are served meanwhile`, async () => {
    const { lb, records } = await balancer(engine, { proxyProtocol: true, proxyProtocolTimeout: '300ms' });
    const good = async () => {
      const c = rawConn(lb.port);
      await c.ready;
      c.write('PROXY TCP4 203.0.113.9 192.0.2.1 1 80\r\nGET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await until(() => c.closed(), 'a good request');
      assert.match(c.text(), /^HTTP\/1\.1 200 /);
    };
    const silent = rawConn(lb.port);
    const slow = rawConn(lb.port);
    await Promise.all([silent.ready, slow.ready]);
    slow.write('PROXY TCP4 203.0.1');
    const cases: (string | Buffer)[] = [
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      'PROXY TCP4 1.2.3.4 nope 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
      `PROXY UNKNOWN ${'x'.repeat(200)}\r\n`,
      Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]),
      Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x00, 0x0c, 1, 2])]),
    ];
    for (const bytes of cases) {
      const c = rawConn(lb.port);
      await c.ready;
      c.write(bytes);
      if (bytes === cases[4]) c.socket.end();
      await until(() => c.closed(), 'the connection to be closed');
      assert.equal(c.text(), '', 'nothing is answered, nothing was read as HTTP');
      await good();
    }
    // The silent client and the one that stopped half-way are cut by the PROXY timeout.
    await until(() => silent.closed() && slow.closed(), 'the PROXY timeout');
    assert.equal(silent.text() + slow.text(), '');
    await good();
    assert.equal(lb.app.server.edge.counters.proxyProtocolRefused, 7);
    assert.ok(records.every((r) => r.target === '/ok'), 'only the good requests reached HTTP');
  });
}

for (const engine of ['lean', 'node'] as const) {
  test(`${engine}: on a TLS listener the PROXY header is read before the TLS handshake`, async () => {
    const { makeCa, makeCert, certDir, writeCert } = await import('../helpers/certs.js');
    const tls = await import('node:tls');
    const net = await import('node:net');
    const ca = await makeCa();
    const dir = certDir();
    const files = writeCert(dir, 'a', await makeCert(ca, ['a.test']));
    const m = await echo();
    const lb = await startBalancer({
      engine,
      listen: [{ host: '127.0.0.1', port: 0, tls: true }],
      proxyProtocol: true,
      balancers: { c: { members: [{ url: m.url, route: 'm' }] } },
      proxyPass: [{ path: '/', to: 'balancer://c/' }],
      tls: files,
    });
    cleanup.push(() => lb.close());
    const text = await new Promise<string>((resolve, reject) => {
      const raw = net.connect(lb.port, '127.0.0.1', () => {
        raw.write('PROXY TCP4 203.0.113.77 192.0.2.1 40000 443\r\n');
        const s = tls.connect({ socket: raw, servername: 'a.test', ca: ca.certPem }, () => s.write('GET /tls HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'));
        let out = '';
        s.setEncoding('latin1');
        s.on('data', (d: string) => (out += d));
        s.on('end', () => resolve(out));
        s.on('error', reject);
      });
      raw.on('error', reject);
    });
    assert.match(text, /^HTTP\/1\.1 200 /);
    const h = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)).headers;
    assert.equal(h['x-forwarded-for'], '203.0.113.77');
    assert.equal(h['x-forwarded-proto'], 'https');
  });
}
