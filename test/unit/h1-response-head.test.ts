// The lean engine's parser of members' answer heads: the same strict rules as for requests (a
// member's ambiguous framing is a 502, never a guess), and the framing decisions made from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResponseHead, type ResponseHead } from '../../src/proxy/h1/response-head.js';
import { ParseError } from '../../src/proxy/h1/parse-error.js';
import { BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE, answerBody, clientFraming, requestBody } from '../../src/proxy/h1/framing.js';

function head(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function ok(s: string): ResponseHead {
  const r = parseResponseHead(s);
  if (r instanceof ParseError) assert.fail(`refused (${r.reason}): ${JSON.stringify(s)}`);
  return r;
}

const MALFORMED: [string, string, string][] = [
  ['not HTTP at all', 'SSH-2.0-OpenSSH_9.6\r\n\r\n', 'bad-status-line'],
  ['HTTP/2', head(['HTTP/2 200 OK']), 'bad-status-line'],
  ['HTTP/1.2', head(['HTTP/1.2 200 OK']), 'bad-version'],
  ['two-digit status', head(['HTTP/1.1 20 OK']), 'bad-status-line'],
  ['status 600', head(['HTTP/1.1 600 Odd']), 'bad-status-line'],
  ['status 099', head(['HTTP/1.1 099 Odd']), 'bad-status-line'],
  ['status with letters', head(['HTTP/1.1 2OO OK']), 'bad-status-line'],
  ['no space after the status', head(['HTTP/1.1 200OK']), 'bad-status-line'],
  ['control character in the reason', head(['HTTP/1.1 200 O\x01K']), 'bad-status-line'],
  ['CL with TE', head(['HTTP/1.1 200 OK', 'Content-Length: 5', 'Transfer-Encoding: chunked']), 'content-length-with-transfer-encoding'],
  ['differing CL', head(['HTTP/1.1 200 OK', 'Content-Length: 5', 'Content-Length: 7']), 'duplicate-content-length'],
  ['bad CL', head(['HTTP/1.1 200 OK', 'Content-Length: five']), 'bad-content-length'],
  ['TE not chunked', head(['HTTP/1.1 200 OK', 'Transfer-Encoding: gzip']), 'bad-transfer-encoding'],
  ['TE in HTTP/1.0', head(['HTTP/1.0 200 OK', 'Transfer-Encoding: chunked']), 'transfer-encoding-in-http-1.0'],
  ['obs-fold', head(['HTTP/1.1 200 OK', 'X-A: 1', ' 2']), 'obs-fold'],
  ['space before the colon', head(['HTTP/1.1 200 OK', 'Content-Length : 5']), 'space-before-colon'],
  ['bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'bare-lf'],
  ['bare CR in a value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n', 'bare-cr'],
  ['NUL in a value', head(['HTTP/1.1 200 OK', 'Set-Cookie: a=\x00']), 'bad-header-value'],
  ['bad header name', head(['HTTP/1.1 200 OK', 'X(A): 1']), 'bad-header-name'],
];

for (const [what, s, reason] of MALFORMED) {
  test(`answer head refused: ${what} → ${reason}`, () => {
    const r = parseResponseHead(s);
    assert.ok(r instanceof ParseError, `accepted: ${JSON.stringify(s)}`);
    assert.equal(r.reason, reason);
  });
}

test('answer head: fields', () => {
  const r = ok(head(['HTTP/1.1 404 Not Found', 'Content-Type: text/plain', 'Content-Length: 9', 'Date: Tue, 01 Jan 2030 00:00:00 GMT', 'Set-Cookie: a=1', 'Set-Cookie: b=2']));
  assert.equal(r.status, 404);
  assert.equal(r.reason, 'Not Found');
  assert.equal(r.contentLength, 9);
  assert.equal(r.chunked, false);
  assert.equal(r.keepAlive, true);
  assert.equal(r.hasDate, true);
  assert.deepEqual(r.raw, ['Content-Type', 'text/plain', 'Date', 'Tue, 01 Jan 2030 00:00:00 GMT', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
});

test('answer head: a status line without reason phrase is accepted', () => {
  assert.equal(ok(head(['HTTP/1.1 204'])).reason, '');
  assert.equal(ok(head(['HTTP/1.1 200 '])).reason, '');
});

test('answer head: keep-alive of the member connection', () => {
  assert.equal(ok(head(['HTTP/1.1 200 OK', 'Connection: close'])).keepAlive, false);
  assert.equal(ok(head(['HTTP/1.0 200 OK'])).keepAlive, false);
  assert.equal(ok(head(['HTTP/1.0 200 OK', 'Connection: keep-alive'])).keepAlive, true);
});

test('answer body framing (RFC 9112 §6.3)', () => {
  const f = (chunked: boolean, contentLength: number) => ({ chunked, contentLength });
  assert.equal(answerBody(true, 200, f(false, 10)), BODY_NONE, 'HEAD');
  assert.equal(answerBody(false, 204, f(false, -1)), BODY_NONE);
  assert.equal(answerBody(false, 304, f(false, 10)), BODY_NONE);
  assert.equal(answerBody(false, 103, f(false, -1)), BODY_NONE);
  assert.equal(answerBody(false, 200, f(true, -1)), BODY_CHUNKED);
  assert.equal(answerBody(false, 200, f(false, 10)), BODY_LENGTH);
  assert.equal(answerBody(false, 200, f(false, 0)), BODY_NONE);
  assert.equal(answerBody(false, 200, f(false, -1)), BODY_CLOSE);
  assert.equal(requestBody(f(false, -1)), BODY_NONE);
  assert.equal(requestBody(f(false, 0)), BODY_NONE);
  assert.equal(requestBody(f(false, 3)), BODY_LENGTH);
  assert.equal(requestBody(f(true, -1)), BODY_CHUNKED);
});

test('client framing: lengths pass, chunked for HTTP/1.1, close-delimited for HTTP/1.0', () => {
  const KA = 'Connection: keep-alive\r\n';
  assert.deepEqual(clientFraming(BODY_LENGTH, 10, 1, true, KA), { mode: BODY_LENGTH, lines: `Content-Length: 10\r\n${KA}`, keepAlive: true });
  assert.deepEqual(clientFraming(BODY_LENGTH, 10, 0, true, KA), { mode: BODY_LENGTH, lines: `Content-Length: 10\r\n${KA}`, keepAlive: true });
  assert.deepEqual(clientFraming(BODY_CHUNKED, -1, 1, true, KA), { mode: BODY_CHUNKED, lines: `Transfer-Encoding: chunked\r\n${KA}`, keepAlive: true });
  assert.deepEqual(clientFraming(BODY_CHUNKED, -1, 0, true, KA), { mode: BODY_CLOSE, lines: 'Connection: close\r\n', keepAlive: false });
  assert.deepEqual(clientFraming(BODY_CLOSE, -1, 1, true, KA), { mode: BODY_CHUNKED, lines: `Transfer-Encoding: chunked\r\n${KA}`, keepAlive: true });
  assert.deepEqual(clientFraming(BODY_CLOSE, -1, 0, false, KA), { mode: BODY_CLOSE, lines: 'Connection: close\r\n', keepAlive: false });
  // HEAD and 304 keep the Content-Length that describes the representation.
  assert.deepEqual(clientFraming(BODY_NONE, 1234, 1, true, KA), { mode: BODY_NONE, lines: `Content-Length: 1234\r\n${KA}`, keepAlive: true });
  assert.deepEqual(clientFraming(BODY_NONE, -1, 1, false, KA), { mode: BODY_NONE, lines: 'Connection: close\r\n', keepAlive: false });
});
