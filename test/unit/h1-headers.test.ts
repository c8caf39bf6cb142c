// The lean engine writes forwarded headers its own way (the lines it passes on are copied as
// they came, no lower-case copies are made); it must give exactly the headers headers.ts gives
// the node engine, for every case of the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.js';
import { downstreamHeaders, downstreamLines, upstreamLines } from '../../src/proxy/h1/lean-headers.js';
import { classify, PLAIN } from '../../src/proxy/h1/head-fields.js';
import { parseRequestHead, type RequestHead } from '../../src/proxy/h1/request-head.js';
import { parseResponseHead, type ResponseHead } from '../../src/proxy/h1/response-head.js';

const headOf = (raw: string[]) => raw.map((v, i) => (i % 2 ? `${v}\r\n` : `${v}: `)).join('');
const request = (raw: string[]) => parseRequestHead(`GET / HTTP/1.0\r\n${headOf(raw)}\r\n`) as RequestHead;
const answer = (raw: string[]) => parseResponseHead(`HTTP/1.1 200 OK\r\n${headOf(raw)}\r\n`) as ResponseHead;

const REQUESTS: [string, string[]][] = [
  ['plain', ['Host', 'x', 'Accept', '*/*', 'User-Agent', 'curl']],
  ['forwarded headers merged', ['host', 'x', 'X-Forwarded-For', '10.0.0.1', 'x-forwarded-for', '10.0.0.2', 'X-Forwarded-Host', 'a', 'X-FORWARDED-SERVER', 's', 'X-Forwarded-Proto', 'https']],
  ['hop-by-hop dropped', ['Host', 'x', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Proxy-Connection', 'x', 'Proxy-Authorization', 'Basic a', 'Upgrade', 'h2c', 'HTTP2-Settings', 'AAA', 'Trailer', 'X-Sum', 'Proxy-Authenticate', 'x']],
  ['names listed in Connection dropped', ['Host', 'x', 'Connection', 'close, X-Secret', 'x-secret', '1', 'X-Kept', '2', 'connection', ' x-other ', 'X-Other', '3']],
  ['Connection naming a forwarded header', ['Host', 'x', 'Connection', 'X-Forwarded-For', 'X-Forwarded-For', '1.2.3.4']],
  ['TE: trailers kept as TE: trailers', ['Host', 'x', 'TE', 'gzip, trailers;q=1']],
  ['TE without trailers dropped', ['Host', 'x', 'te', 'gzip']],
  ['client X-Stickylb headers dropped', ['Host', 'x', 'X-Stickylb-Member', 'forged', 'x-stickylb-route', 'forged', 'X-Stickylbx', 'kept']],
  ['no Host header', ['Accept', '*/*']],
  ['same-length look-alikes kept', ['Host', 'x', 'Upgradf', '1', 'Trailes', '2', 'Connectiom', '3', 'X-Forwarded-Fox', '4', 'Ta', '5', 'Hosts', '6']],
];

function pairsOf(lines: string): string[] {
  const out: string[] = [];
  for (const line of lines.split('\r\n')) {
    if (!line) continue;
    const i = line.indexOf(': ');
    out.push(line.slice(0, i), line.slice(i + 2));
  }
  return out;
}

REQUESTS.push(['Forwarded and X-Forwarded-Proto of the client', ['Host', 'x', 'Forwarded', 'for=192.0.2.1;proto=https', 'forwarded', 'for=198.51.100.1', 'X-Forwarded-Proto', 'https', 'X-Forwarded-For', '192.0.2.1']]);

const TRUST: [string, { viaProxy?: boolean; forwarded?: boolean }][] = [
  ['from a client', {}],
  ['from a declared proxy', { viaProxy: true }],
  ['from a declared proxy, with Forwarded', { viaProxy: true, forwarded: true }],
  ['from a client, with Forwarded', { forwarded: true }],
];

for (const [what, raw] of REQUESTS) {
  for (const [who, trust] of TRUST) {
    test(`upstream headers as headers.ts builds them: ${what}, ${who}`, () => {
      const host = raw.find((_, i) => i % 2 === 0 && raw[i].toLowerCase() === 'host') === undefined ? undefined : raw[raw.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === 'host') + 1];
      const o = { clientIp: '127.0.0.9', host, upstreamHost: 'member:8080', serverName: 'lb.example', proto: 'http' as const, extra: [['X-Stickylb-Route', 'first']] as [string, string][], ...trust };
      assert.deepEqual(pairsOf(upstreamLines(request(raw).fields, o)), upstreamRequestHeaders(raw, o));
    });
  }
}

const ANSWERS: [string, string[]][] = [
  ['plain', ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']],
  ['hop-by-hop dropped, Trailer kept', ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Trailer', 'X-Sum', 'Upgrade', 'x', 'TE', 'trailers', 'Proxy-Authenticate', 'Basic', 'X-A', '1']],
  ['names listed in Connection dropped', ['Connection', 'X-Internal, close', 'X-Internal', 'secret', 'X-Public', 'ok']],
  ['Connection naming Trailer keeps it', ['Connection', 'trailer', 'Trailer', 'X-Sum']],
  ['X-Stickylb and X-Forwarded headers of a member pass', ['X-Stickylb-Route', 'r', 'X-Forwarded-For', '1.1.1.1', 'Host', 'h']],
  ['nothing', []],
];

for (const [what, raw] of ANSWERS) {
  test(`answer headers as headers.ts passes them: ${what}`, () => {
    assert.deepEqual(pairsOf(downstreamLines(answer(raw).fields)), downstreamResponseHeaders(raw));
    assert.deepEqual(downstreamHeaders(raw.slice()), downstreamResponseHeaders(raw));
  });
}

test('answer headers: the input array itself comes back when nothing is dropped', () => {
  const raw = ['Content-Type', 'text/plain', 'Content-Length', '3'];
  assert.equal(downstreamHeaders(raw), raw);
});

test('header kinds are case-insensitive and exact', () => {
  const kind = (n: string) => classify(n);
  assert.equal(kind('HOST'), kind('host'));
  assert.equal(kind('x-stickylb-anything'), kind('X-STICKYLB-Route'));
  assert.notEqual(kind('Hosts'), kind('Host'));
  assert.equal(kind('Accept'), PLAIN);
});

test('lines pass on as they came, in runs, with their own spacing', () => {
  const r = parseRequestHead('GET / HTTP/1.1\r\nHost: x\r\nA:1\r\nB:  two  \r\nConnection: close\r\nC: 3\r\n\r\n') as RequestHead;
  const lines = upstreamLines(r.fields, { clientIp: 'ip', host: 'x', upstreamHost: 'm', serverName: 's', proto: 'http' });
  assert.ok(lines.startsWith('A:1\r\nB:  two  \r\nC: 3\r\nHost: m\r\n'), JSON.stringify(lines));
});
