// The lean engine's request head parser: every malformed head of the table is refused with its
// reason (and 400, or 431 for size), and well-formed heads give the fields the forwarder uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestHead, parseContentLength, isOnlyChunked, type RequestHead } from '../../src/proxy/h1/request-head.js';
import { ParseError } from '../../src/proxy/h1/parse-error.js';

function head(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function ok(s: string): RequestHead {
  const r = parseRequestHead(s);
  if (r instanceof ParseError) assert.fail(`refused (${r.reason}): ${JSON.stringify(s)}`);
  return r;
}

const MALFORMED: [string, string, string][] = [
  // [what, head, reason]
  ['CL and TE together (CL.TE)', head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Transfer-Encoding: chunked']), 'content-length-with-transfer-encoding'],
  ['TE and CL together (TE.CL)', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 5']), 'content-length-with-transfer-encoding'],
  ['duplicate differing CL', head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Content-Length: 6']), 'duplicate-content-length'],
  ['CL as a list', head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 5, 5']), 'bad-content-length'],
  ['CL with a sign', head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: +5']), 'bad-content-length'],
  ['CL negative', head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: -1']), 'bad-content-length'],
  ['CL in hex', head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 0x10']), 'bad-content-length'],
  ['CL empty', head(['POST / HTTP/1.1', 'Host: x', 'Content-Length:']), 'bad-content-length'],
  ['CL too long', head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 1234567890123456']), 'bad-content-length'],
  ['TE not chunked', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: gzip']), 'bad-transfer-encoding'],
  ['TE chunked not last', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked, gzip']), 'bad-transfer-encoding'],
  ['TE gzip then chunked', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: gzip, chunked']), 'bad-transfer-encoding'],
  ['TE chunked twice', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']), 'bad-transfer-encoding'],
  ['TE chunked, chunked', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked, chunked']), 'bad-transfer-encoding'],
  ['TE xchunked', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: xchunked']), 'bad-transfer-encoding'],
  ['TE chunked with trailing comma', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked,']), 'bad-transfer-encoding'],
  ['TE with a vertical tab', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked\x0b']), 'bad-header-value'],
  ['TE with a form feed', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding:\x0cchunked']), 'bad-header-value'],
  ['TE with space before the colon', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding : chunked']), 'space-before-colon'],
  ['TE with a tab before the colon', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding\t: chunked']), 'space-before-colon'],
  ['TE folded onto the next line', head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding:', ' chunked']), 'obs-fold'],
  ['TE in HTTP/1.0', head(['POST / HTTP/1.0', 'Transfer-Encoding: chunked']), 'transfer-encoding-in-http-1.0'],
  ['obs-fold', head(['GET / HTTP/1.1', 'Host: x', 'X-A: one', '\ttwo']), 'obs-fold'],
  ['header line starting with a space', head(['GET / HTTP/1.1', ' Host: x']), 'obs-fold'],
  ['space before the colon', head(['GET / HTTP/1.1', 'Host : x']), 'space-before-colon'],
  ['empty header name', head(['GET / HTTP/1.1', 'Host: x', ': v']), 'bad-header-name'],
  ['header name with a slash', head(['GET / HTTP/1.1', 'Host: x', 'X/Y: v']), 'bad-header-name'],
  ['header name with a space inside', head(['GET / HTTP/1.1', 'Host: x', 'X Y: v']), 'bad-header-name'],
  ['header name with non-ASCII', head(['GET / HTTP/1.1', 'Host: x', 'X-\xe9: v']), 'bad-header-name'],
  ['header without colon', head(['GET / HTTP/1.1', 'Host: x', 'X-Nothing']), 'bad-header-name'],
  ['NUL in a value', head(['GET / HTTP/1.1', 'Host: x', 'X-A: a\x00b']), 'bad-header-value'],
  ['control character in a value', head(['GET / HTTP/1.1', 'Host: x', 'Cookie: _s=abc.fi\x01rst']), 'bad-header-value'],
  ['DEL in a value', head(['GET / HTTP/1.1', 'Host: x', 'X-A: a\x7fb']), 'bad-header-value'],
  ['bare CR in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n', 'bare-cr'],
  ['bare CR ending a header line', 'GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n', 'bare-cr'],
  ['bare LF ending a header line', 'GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n', 'bare-lf'],
  ['bare LF ending the request line', 'GET / HTTP/1.1\nHost: x\r\n\r\n', 'bare-lf'],
  ['bare CR in the request line', 'GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n', 'bare-cr'],
  ['lower-case method token is fine but a bad one is not', head(['G(T / HTTP/1.1', 'Host: x']), 'bad-method'],
  ['method with a slash', head(['GE/T / HTTP/1.1', 'Host: x']), 'bad-method'],
  ['empty method', head([' / HTTP/1.1', 'Host: x']), 'bad-method'],
  ['two spaces after the method', head(['GET  / HTTP/1.1', 'Host: x']), 'bad-target'],
  ['tab as separator', head(['GET\t/ HTTP/1.1', 'Host: x']), 'bad-method'],
  ['space inside the target', head(['GET /a b HTTP/1.1', 'Host: x']), 'bad-version'],
  ['non-ASCII in the target', head(['GET /caf\xe9 HTTP/1.1', 'Host: x']), 'bad-target'],
  ['control character in the target', head(['GET /a\x01 HTTP/1.1', 'Host: x']), 'bad-target'],
  ['target that is not a path', head(['GET index.html HTTP/1.1', 'Host: x']), 'bad-target'],
  ['asterisk for GET', head(['GET * HTTP/1.1', 'Host: x']), 'bad-target'],
  ['HTTP/2.0', head(['GET / HTTP/2.0', 'Host: x']), 'bad-version'],
  ['HTTP/1.2', head(['GET / HTTP/1.2', 'Host: x']), 'bad-version'],
  ['HTTP/0.9 style (no version)', head(['GET /', 'Host: x']), 'bad-request-line'],
  ['lower-case version', head(['GET / http/1.1', 'Host: x']), 'bad-version'],
  ['version with trailing space', head(['GET / HTTP/1.1 ', 'Host: x']), 'bad-version'],
  ['missing Host in HTTP/1.1', head(['GET / HTTP/1.1', 'Accept: */*']), 'missing-host'],
  ['two Host headers', head(['GET / HTTP/1.1', 'Host: a', 'Host: b']), 'duplicate-host'],
  ['Host with a space', head(['GET / HTTP/1.1', 'Host: a b']), 'bad-host'],
  ['Host with a slash', head(['GET / HTTP/1.1', 'Host: a/b']), 'bad-host'],
  ['Host with userinfo', head(['GET / HTTP/1.1', 'Host: u@a']), 'bad-host'],
];

for (const [what, s, reason] of MALFORMED) {
  test(`request head refused: ${what} → ${reason}`, () => {
    const r = parseRequestHead(s);
    assert.ok(r instanceof ParseError, `accepted: ${JSON.stringify(s)}`);
    assert.equal(r.reason, reason);
    assert.equal(r.status, 400);
  });
}

test('request head: fields of a plain GET', () => {
  const r = ok(head(['GET /app?_s=abc.first HTTP/1.1', 'Host: example.org:8080', 'Cookie: a=1', 'cookie: _s=x.second', 'Accept: */*']));
  assert.equal(r.method, 'GET');
  assert.equal(r.target, '/app?_s=abc.first');
  assert.equal(r.minor, 1);
  assert.equal(r.host, 'example.org:8080');
  assert.equal(r.cookie, 'a=1; _s=x.second');
  assert.equal(r.contentLength, -1);
  assert.equal(r.chunked, false);
  assert.equal(r.keepAlive, true);
  assert.deepEqual(r.raw, ['Host', 'example.org:8080', 'Cookie', 'a=1', 'cookie', '_s=x.second', 'Accept', '*/*']);
});

test('request head: framing headers are taken out of raw and carried as fields', () => {
  const r = ok(head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 12', 'X-A: 1']));
  assert.equal(r.contentLength, 12);
  assert.deepEqual(r.raw, ['Host', 'x', 'X-A', '1']);
  const c = ok(head(['POST / HTTP/1.1', 'Host: x', 'transfer-ENCODING:  CHUNKED ']));
  assert.equal(c.chunked, true);
  assert.deepEqual(c.raw, ['Host', 'x']);
});

test('request head: identical duplicate Content-Length is one length', () => {
  const r = ok(head(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 5', 'content-length: 5']));
  assert.equal(r.contentLength, 5);
});

test('request head: Transfer-Encoding with tab as optional white space is chunked', () => {
  assert.equal(ok(head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding:\tchunked\t'])).chunked, true);
});

test('request head: header values keep inner white space, lose the outer', () => {
  const r = ok(head(['GET / HTTP/1.1', 'Host: x', 'Cookie: _s=abc.fi\trst', 'X-A:   a  b  ', 'X-Empty:']));
  assert.deepEqual(r.raw.slice(2), ['Cookie', '_s=abc.fi\trst', 'X-A', 'a  b', 'X-Empty', '']);
});

test('request head: obs-text (bytes above 0x7f) is allowed in values', () => {
  const r = ok(head(['GET / HTTP/1.1', 'Host: x', 'X-Name: caf\xe9']));
  assert.equal(r.raw[3], 'caf\xe9');
});

test('request head: keep-alive by version and Connection', () => {
  assert.equal(ok(head(['GET / HTTP/1.1', 'Host: x', 'Connection: close'])).keepAlive, false);
  assert.equal(ok(head(['GET / HTTP/1.1', 'Host: x', 'Connection: Keep-Alive, CLOSE'])).keepAlive, false);
  assert.equal(ok(head(['GET / HTTP/1.0'])).keepAlive, false);
  assert.equal(ok(head(['GET / HTTP/1.0', 'Connection: keep-alive'])).keepAlive, true);
  assert.equal(ok(head(['GET / HTTP/1.1', 'Host: x', 'Connection: closed'])).keepAlive, true);
});

test('request head: HTTP/1.0 needs no Host', () => {
  const r = ok(head(['GET / HTTP/1.0']));
  assert.equal(r.minor, 0);
  assert.equal(r.host, undefined);
});

test('request head: Upgrade and Expect are flagged (the node engine answers those)', () => {
  const r = ok(head(['GET /ws HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade']));
  assert.equal(r.upgrade, true);
  assert.equal(ok(head(['POST / HTTP/1.1', 'Host: x', 'Expect: 100-continue', 'Content-Length: 1'])).expect, true);
});

test('request head: target forms', () => {
  assert.equal(ok(head(['OPTIONS * HTTP/1.1', 'Host: x'])).target, '*');
  assert.equal(ok(head(['GET http://x/a?b HTTP/1.1', 'Host: x'])).target, 'http://x/a?b');
  // CONNECT's authority form is parsed, then answered 405 by the engine.
  assert.equal(ok(head(['CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'])).method, 'CONNECT');
});

test('request head: length is the whole head', () => {
  const s = head(['GET / HTTP/1.1', 'Host: x']);
  assert.equal(ok(s).length, s.length);
});

test('Content-Length values', () => {
  assert.equal(parseContentLength('0'), 0);
  assert.equal(parseContentLength('007'), 7);
  assert.equal(parseContentLength('999999999999999'), 999999999999999);
  for (const bad of ['', ' 1', '1 ', '1.0', '1e3', '-0', 'one', '1,1']) assert.equal(parseContentLength(bad), -1, bad);
});

test('Transfer-Encoding lists', () => {
  assert.equal(isOnlyChunked(['chunked']), true);
  assert.equal(isOnlyChunked(['Chunked']), true);
  assert.equal(isOnlyChunked([' chunked ']), true);
  for (const bad of [['identity'], ['chunked', 'chunked'], ['gzip, chunked'], [''], ['chunked;q=1'], ['"chunked"']]) assert.equal(isOnlyChunked(bad), false, bad.join('|'));
});

test('Host values: the characters of RFC 3986 reg-name, IP literals and ports, nothing else', () => {
  // The same set as /^[A-Za-z0-9\-._~%!$&'()*+,;=:[\]]*$/, checked byte by byte through the parser.
  const allowed = /^[A-Za-z0-9\-._~%!$&'()*+,;=:[\]]$/;
  for (let c = 0x21; c < 0x7f; c++) {
    const ch = String.fromCharCode(c);
    const r = parseRequestHead(head(['GET / HTTP/1.1', `Host: a${ch}b`]));
    if (allowed.test(ch)) assert.ok(!(r instanceof ParseError), `Host with ${JSON.stringify(ch)} refused`);
    else assert.ok(r instanceof ParseError && r.reason === 'bad-host', `Host with ${JSON.stringify(ch)}: ${r instanceof ParseError ? r.reason : 'accepted'}`);
  }
  for (const c of [0x80, 0xa0, 0xe9, 0xff]) {
    const r = parseRequestHead(head(['GET / HTTP/1.1', `Host: a${String.fromCharCode(c)}b`]));
    assert.ok(r instanceof ParseError && r.reason === 'bad-host', `Host with byte ${c}`);
  }
  assert.equal(ok(head(['GET / HTTP/1.1', 'Host: [::1]:8080'])).host, '[::1]:8080');
  assert.equal(ok(head(['GET / HTTP/1.1', 'Host: '])).host, '');
});
