// The chunked transfer coding decoder: a table of malformed bodies with their rejection reason,
// valid bodies decoded whole and split at every byte, trailers, and where the body ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedDecoder, parseChunkSizeLine } from '../../src/proxy/h1/chunked.js';

interface Decoded {
  body: string;
  end: number;
  trailers: string[];
  error?: string;
}

/** Decodes `input` in pieces of `step` bytes (0: all at once). */
function decode(input: string, step = 0): Decoded {
  const d = new ChunkedDecoder(64, 256);
  const all = Buffer.from(input, 'latin1');
  const out: Buffer[] = [];
  let consumed = 0;
  const pieces = step ? Array.from({ length: Math.ceil(all.length / step) }, (_, i) => all.subarray(i * step, (i + 1) * step)) : [all];
  for (const p of pieces) {
    const end = d.decode(p, 0, out);
    if (end < 0) return { body: Buffer.concat(out).toString('latin1'), end: -1, trailers: [], error: d.error!.reason };
    consumed += end;
    if (d.done) break;
  }
  return { body: Buffer.concat(out).toString('latin1'), end: d.done ? consumed : -2, trailers: d.trailers };
}

const MALFORMED: [string, string, string][] = [
  ['size not hex', 'zz\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['empty size', '\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['size with a sign', '+5\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['size with 0x', '0x5\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['space before the size', ' 5\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['space after the size', '5 \r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['tab after the size', '5\t\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['size too long (overflow)', '10000000000000005\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['size of 14 significant digits after leading zeros', '0000010000000000000\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['size line ending in bare LF', '5\nhello\r\n0\r\n\r\n', 'bare-lf'],
  ['bare CR inside the size line', '5\r;a\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['data longer than the size', '5\r\nhello!\r\n0\r\n\r\n', 'bad-chunk-crlf'],
  ['data shorter than the size', '6\r\nhello\r\n0\r\n\r\n', 'bad-chunk-crlf'],
  ['data followed by bare LF', '5\r\nhello\n0\r\n\r\n', 'bad-chunk-crlf'],
  ['data followed by bare CR', '5\r\nhello\r0\r\n\r\n', 'bad-chunk-crlf'],
  ['extension without name', '5;\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
  ['extension with space before ;', '5 ;a=1\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
  ['extension with space after ;', '5; a=1\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
  ['extension with empty value', '5;a=\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
  ['extension with an unterminated quote', '5;a="x\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
  ['extension with a bad character', '5;a=b@c\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
  ['extension with a control character in quotes', '5;a="\x01"\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
  ['extension with LF in quotes', '5;a="x\ny"\r\nhello\r\n0\r\n\r\n', 'bare-lf'],
  ['size line too long', `5;${'a'.repeat(100)}\r\nhello\r\n0\r\n\r\n`, 'chunk-line-too-long'],
  ['trailer with obs-fold', '0\r\nX-A: 1\r\n 2\r\n\r\n', 'obs-fold'],
  ['trailer without colon', '0\r\nX-A\r\n\r\n', 'bad-trailer'],
  ['trailer with space before the colon', '0\r\nX-A : 1\r\n\r\n', 'bad-trailer'],
  ['trailer ending in bare LF', '0\r\nX-A: 1\n\r\n', 'bare-lf'],
  ['last chunk ending in bare LF', '0\r\n\n', 'bare-lf'],
  ['trailers too large', `0\r\n${'X-A: aaaaaaaaaaaaaaaaaaaa\r\n'.repeat(12)}\r\n`, 'trailers-too-large'],
];

for (const [what, body, reason] of MALFORMED) {
  test(`chunked body refused: ${what} → ${reason}`, () => {
    for (const step of [0, 1, 2, 3, 7]) {
      const r = decode(body, step);
      assert.equal(r.error, reason, `step ${step}: ${JSON.stringify(r)}`);
    }
  });
}

const VALID: [string, string, string, string[]][] = [
  ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 'hello', []],
  ['two chunks', '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', 'hello world', []],
  ['upper-case hex', 'A\r\n0123456789\r\n0\r\n\r\n', '0123456789', []],
  ['leading zeros', '0005\r\nhello\r\n000\r\n\r\n', 'hello', []],
  ['more leading zeros than a size may have digits', '000000000000000000005\r\nhello\r\n0000000000000000000000\r\n\r\n', 'hello', []],
  ['a long run of leading zeros before a one-digit size', '00000000000000000000000000000001\r\nx\r\n0\r\n\r\n', 'x', []],
  ['extensions', '5;name=value;flag;q="a \\"b\\" c"\r\nhello\r\n0;last\r\n\r\n', 'hello', []],
  ['empty body', '0\r\n\r\n', '', []],
  ['trailers', '5\r\nhello\r\n0\r\nX-Sum: 42\r\nX-Other:  two words \r\n\r\n', 'hello', ['X-Sum', '42', 'X-Other', 'two words']],
  ['binary data with CRLF inside', '4\r\n\r\n\r\n\r\n0\r\n\r\n', '\r\n\r\n', []],
];

for (const [what, body, payload, trailers] of VALID) {
  test(`chunked body decoded: ${what}, whole and split at every byte`, () => {
    for (const step of [0, 1, 2, 3, 5, 11]) {
      const r = decode(body, step);
      assert.equal(r.error, undefined, `step ${step}`);
      assert.equal(r.body, payload, `step ${step}`);
      assert.deepEqual(r.trailers, trailers, `step ${step}`);
    }
  });
}

test('chunked body: the end is found exactly; bytes after it belong to the next message', () => {
  const d = new ChunkedDecoder();
  const out: Buffer[] = [];
  const buf = Buffer.from('5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\n', 'latin1');
  const end = d.decode(buf, 0, out);
  assert.equal(d.done, true);
  assert.equal(buf.toString('latin1', end), 'GET /next HTTP/1.1\r\n');
  assert.equal(d.bytes, 5);
});

test('chunked body: payload slices are views of the input (no copies)', () => {
  const d = new ChunkedDecoder();
  const out: Buffer[] = [];
  const buf = Buffer.from('5\r\nhello\r\n', 'latin1');
  d.decode(buf, 0, out);
  assert.equal(out.length, 1);
  assert.equal(out[0].buffer, buf.buffer);
});

test('chunk size lines', () => {
  const line = (s: string) => parseChunkSizeLine(Buffer.from(s, 'latin1'), 0, s.length);
  assert.equal(line('0'), 0);
  assert.equal(line('ff'), 255);
  assert.equal(line('FFFFFFFFFFFFF'), 0xfffffffffffff);
  assert.equal(line('FFFFFFFFFFFFFF'), -1);
  // Leading zeros are not digits of the value: any number of them is fine.
  assert.equal(line('000000000000000000005'), 5);
  assert.equal(line('000000000000000000005;a=b'), 5);
  assert.equal(line(`${'0'.repeat(200)}FFFFFFFFFFFFF`), 0xfffffffffffff);
  assert.equal(line('0'.repeat(200)), 0);
  assert.equal(line(`${'0'.repeat(20)}10000000000000`), -1);
  assert.equal(line('1;a'), 1);
  assert.equal(line('1;a=b;c="d"'), 1);
  assert.equal(line('1;a=b c'), -2);
  assert.equal(line('g'), -1);
  assert.equal(line(''), -1);
});

test('chunked answer from a member: leading zeros in sizes, and the next answer after it', () => {
  // Decoded as the lean engine decodes a member's chunked answer.
  const d = new ChunkedDecoder(4096, 16_384);
  const out: Buffer[] = [];
  const buf = Buffer.from('000000000000000000005\r\nhello\r\n00000000000000000006\r\n world\r\n000000000000000000000\r\n\r\nHTTP/1.1 200 OK\r\n', 'latin1');
  const end = d.decode(buf, 0, out);
  assert.equal(d.error, undefined);
  assert.equal(d.done, true);
  assert.equal(Buffer.concat(out).toString('latin1'), 'hello world');
  assert.equal(buf.toString('latin1', end), 'HTTP/1.1 200 OK\r\n');
});

test('chunked answer from a member: a size beyond 13 significant digits is still refused', () => {
  const d = new ChunkedDecoder(4096, 16_384);
  const end = d.decode(Buffer.from('000000000000000000000020000000000000\r\n', 'latin1'), 0, []);
  assert.equal(end, -1);
  assert.equal(d.error?.reason, 'bad-chunk-size');
});
