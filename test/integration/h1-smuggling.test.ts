// Request smuggling attempts against the lean engine over raw sockets: CL.TE, TE.CL, TE.TE with
// odd casing and white space, and the other framing ambiguities. Each is refused with 400 (431
// for size) and a closed connection, and the member receives not one byte of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { rawRequest, recordingMember, statuses, type RecordingMember } from '../helpers/raw.js';
import { until } from '../helpers/http.js';

let member: RecordingMember;
let lb: RunningBalancer;

before(async () => {
  // Requests to /late get no answer: the member waits for the body.
  member = await recordingMember((s, head) => {
    if (!head.startsWith('POST /late ')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  lb = await startBalancer({
    engine: 'lean',
    maxHeaderSize: 4096,
    balancers: { c: { members: [{ url: member.url, route: 'm' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
});

after(async () => {
  await lb.close();
  await member.close();
});

const received = () => member.received.join('');

const REFUSED: [string, string, number?][] = [
  ['CL.TE', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG'],
  ['TE.CL', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n'],
  ['TE.TE: xchunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'],
  ['TE.TE: space before the colon', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n'],
  ['TE.TE: chunked then a second Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n'],
  ['TE.TE: vertical tab', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n'],
  ['TE.TE: quoted', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n'],
  ['TE.TE: chunked, identity', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
  ['TE.TE: folded value', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n'],
  ['TE.TE: bare LF before the header', 'POST / HTTP/1.1\r\nHost: x\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['TE.TE: bare CR before the header', 'POST / HTTP/1.1\r\nHost: x\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['duplicate differing Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc'],
  ['Content-Length with a sign', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc'],
  ['Content-Length list', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc'],
  ['space before the colon of Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc'],
  ['NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n'],
  ['head ending in bare LFs', 'GET / HTTP/1.1\nHost: x\n\n'],
  ['invalid method', 'G@T / HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['HTTP/2.0 version', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n'],
  ['HTTP/1.2 version', 'GET / HTTP/1.2\r\nHost: x\r\n\r\n'],
  ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'],
  ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
  ['bad chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
  ['chunk size with a space', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n'],
  ['chunk extension with a space', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5; a=b\r\nhello\r\n0\r\n\r\n'],
  ['chunk data without CRLF', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n'],
  ['chunk size line ending in bare LF', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n'],
  ['oversized head', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`, 431],
  ['oversized head that never ends', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}`, 431],
];

for (const [what, data, status = 400] of REFUSED) {
  test(`smuggling refused: ${what} → ${status}, closed, nothing forwarded`, async () => {
    const before = received();
    const r = await rawRequest(lb.port, data);
    assert.equal(r.status, status, r.text.slice(0, 120));
    assert.equal(r.closed, true, 'the connection is closed');
    assert.deepEqual(statuses(r.text), [status], 'one answer, nothing after it was read');
    assert.match(r.text, /\r\nConnection: close\r\n/);
    assert.match(r.text, /<!DOCTYPE html>/);
    // A clean request on another connection proves the member got nothing of the refused one.
    assert.equal((await rawRequest(lb.port, 'GET /sync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 200);
    const got = received().slice(before.length);
    assert.match(got, /^GET \/sync HTTP\/1\.1\r\n/, JSON.stringify(got.slice(0, 80)));
    assert.equal(got.match(/HTTP\/1\.1\r\n/g)?.length, 1);
  });
}

test('accepted variants are forwarded with one canonical framing header', async () => {
  for (const te of ['Transfer-Encoding: CHUNKED', 'transfer-encoding:\tchunked\t', 'TRANSFER-ENCODING:  Chunked ']) {
    const before = received();
    const r = await rawRequest(lb.port, `POST /te HTTP/1.1\r\nHost: x\r\n${te}\r\nConnection: close\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n`);
    assert.equal(r.status, 200, te);
    const got = received().slice(before.length);
    assert.equal(got.match(/transfer-encoding/gi)?.length, 1, got);
    assert.match(got, /\r\nTransfer-Encoding: chunked\r\n/);
    assert.doesNotMatch(got, /content-length/i);
    // Chunks are written anew: the extension does not travel.
    assert.ok(got.endsWith('\r\n\r\n3\r\nabc\r\n0\r\n\r\n'), JSON.stringify(got.slice(-40)));
  }
  const before = received();
  const r = await rawRequest(lb.port, 'POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\ncontent-length: 3\r\nConnection: close\r\n\r\nabc');
  assert.equal(r.status, 200);
  const got = received().slice(before.length);
  assert.equal(got.match(/content-length/gi)?.length, 1, 'duplicate identical Content-Length sent once');
  assert.ok(got.endsWith('\r\n\r\nabc'));
});

test('a body after Content-Length is the next request, answered in turn (no smuggling into the first)', async () => {
  const before = received();
  const r = await rawRequest(lb.port, 'POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.deepEqual(statuses(r.text), [200, 200]);
  const got = received().slice(before.length);
  assert.match(got, /^POST \/one HTTP\/1\.1\r\n[\s\S]*\r\n\r\nhelloGET \/two HTTP\/1\.1\r\n/);
});

test('a bad chunk after the head went to the member: the member never sees the end of the body', async () => {
  const s = net.connect(lb.port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  const before = received();
  s.write('POST /late HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  await until(() => received().length > before.length && received().slice(before.length).includes('hello'), 'the first chunk to reach the member');
  let text = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => (text += d));
  s.on('error', () => {});
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.write('zz\r\nworld\r\n0\r\n\r\n');
  await closed;
  assert.ok(text === '' || /^HTTP\/1\.1 400 /.test(text), text.slice(0, 80));
  const got = received().slice(before.length);
  assert.doesNotMatch(got, /0\r\n\r\n$/);
  assert.doesNotMatch(got, /world/);
  await until(() => lb.app.runtime.balancer('c')!.members[0].busy === 0, 'busy back to 0');
});

test('CONNECT → 405 and closed; nothing forwarded', async () => {
  const before = received();
  const r = await rawRequest(lb.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  assert.equal(r.status, 405);
  assert.equal(r.closed, true);
  assert.equal(received(), before);
});

test('empty lines before a request line are ignored', async () => {
  const r = await rawRequest(lb.port, '\r\n\r\nGET /blank HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
});
