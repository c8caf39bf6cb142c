import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLogFormat, checkLogFormat, escapeLogItem, strftime, LogFormatError, type AccessRecord } from '../../src/log/access-format.js';
import { STANDARD_LOG_FORMATS } from '../../src/config/resolve.js';
import { balancerEnv } from '../../src/log/access-record.js';
import { RequestRecord } from '../../src/proxy/core/record.js';

// 2010-08-21 12:57:37.250 in the local zone of the test process.
const START = new Date(2010, 7, 21, 12, 57, 37, 250).getTime();

function offsetOf(ms: number): string {
  const m = -new Date(ms).getTimezoneOffset();
  const a = Math.abs(m);
  return `${m >= 0 ? '+' : '-'}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`;
}

function record(over: Partial<AccessRecord> = {}): AccessRecord {
  return {
    startMs: START,
    durationUs: 1_234_567,
    remoteAddr: '192.0.2.7',
    remotePort: 51000,
    localAddr: '127.0.0.1',
    localPort: 8080,
    method: 'GET',
    target: '/seaside/counter?_s=abc.R1&_k=x',
    protocol: 'HTTP/1.1',
    status: 200,
    bytes: 2326,
    bytesOut: 2500,
    bytesIn: 300,
    requestHeaders: { host: 'smalltalk.wolf359.be:8080', referer: 'http://smalltalk.wolf359.be/', 'user-agent': 'Mozilla/5.0 (X11)', cookie: 'a=1; _s=abc.R1' },
    responseHeaders: { 'content-type': 'text/html', 'set-cookie': ['a=1', 'b=2'], 'content-length': 2326 },
    serverName: 'smalltalk.wolf359.be',
    env: {
      BALANCER_NAME: 'balancer://seaside-cluster',
      BALANCER_WORKER_NAME: 'http://127.0.0.1:8081',
      BALANCER_WORKER_ROUTE: 'R1',
      BALANCER_SESSION_STICKY: '_s',
      BALANCER_SESSION_ROUTE: 'R1',
    },
    connection: '+',
    pid: 4242,
    ...over,
  };
}

test('common and combined produce Apache lines', () => {
  const clf = `[21/Aug/2010:12:57:37 ${offsetOf(START)}]`;
  assert.equal(
    compileLogFormat(STANDARD_LOG_FORMATS.common).line(record()),
    `192.0.2.7 - - ${clf} "GET /seaside/counter?_s=abc.R1&_k=x HTTP/1.1" 200 2326`,
  );
  assert.equal(
    compileLogFormat(STANDARD_LOG_FORMATS.combined).line(record()),
    `192.0.2.7 - - ${clf} "GET /seaside/counter?_s=abc.R1&_k=x HTTP/1.1" 200 2326 "http://smalltalk.wolf359.be/" "Mozilla/5.0 (X11)"`,
  );
  assert.equal(
    compileLogFormat(STANDARD_LOG_FORMATS.vhost_combined).line(record({ requestHeaders: {} })),
    `smalltalk.wolf359.be:8080 192.0.2.7 - - ${clf} "GET /seaside/counter?_s=abc.R1&_k=x HTTP/1.1" 200 2500 "-" "-"`,
  );
});

test('missing values are "-", %b is "-" for no body but %B is 0', () => {
  const f = compileLogFormat('%u|%b|%B|%{Referer}i|%{X-Nope}o|%{NOPE}e|%l');
  assert.equal(f.line(record({ bytes: 0, requestHeaders: {} })), '-|-|0|-|-|-|-');
  assert.equal(f.line(record({ user: 'sven' })), 'sven|2326|2326|http://smalltalk.wolf359.be/|-|-|-');
  // Apache shows an empty user name as "".
  assert.equal(compileLogFormat('%u').line(record({ user: '' })), '""');
});

test('request parts, server and connection directives', () => {
  const f = compileLogFormat('%m %U%q %H %v %V %p %{remote}p %a %{c}a %A %P %X %>s %s %<s');
  assert.equal(
    f.line(record()),
    'GET /seaside/counter?_s=abc.R1&_k=x HTTP/1.1 smalltalk.wolf359.be smalltalk.wolf359.be 8080 51000 192.0.2.7 192.0.2.7 127.0.0.1 4242 + 200 200 200',
  );
  // No query: %q logs nothing (not "-"), as Apache.
  assert.equal(compileLogFormat('[%U%q]').line(record({ target: '/x' })), '[/x]');
});

test('durations: %D in microseconds, %T in seconds, %{ms}T and %{us}T', () => {
  assert.equal(compileLogFormat('%D %T %{ms}T %{us}T %{s}T').line(record()), '1234567 1 1234 1234567 1');
});

test('times: %t, strftime formats, sec/msec/usec and begin:/end:', () => {
  const f = compileLogFormat('%{%Y-%m-%d %H:%M:%S}t|%{sec}t|%{msec}t|%{msec_frac}t|%{usec_frac}t|%{end:msec}t|%{begin:%d/%b}t');
  const sec = Math.floor(START / 1000);
  assert.equal(f.line(record()), `2010-08-21 12:57:37|${sec}|${START}|250|250000|${START + 1234}|21/Aug`);
  assert.equal(strftime('%a %A %B %e %j %y %I %p %T %F %D %%', START), 'Sat Saturday August 21 233 10 12 PM 12:57:37 2010-08-21 08/21/10 %');
});

test('%{Header}i and %{Header}o are case-insensitive; repeated headers are joined with ", "', () => {
  const f = compileLogFormat('%{USER-AGENT}i|%{Set-Cookie}o|%{content-length}o|%{_s}C|%{a}C|%{zz}C');
  assert.equal(f.line(record()), 'Mozilla/5.0 (X11)|a=1, b=2|2326|abc.R1|1|-');
});

test('the balancer outcome as %{BALANCER_*}e', () => {
  const f = compileLogFormat(
    '%{BALANCER_NAME}e %{BALANCER_WORKER_NAME}e %{BALANCER_WORKER_ROUTE}e %{BALANCER_SESSION_STICKY}e %{BALANCER_SESSION_ROUTE}e %{BALANCER_ROUTE_CHANGED}e',
  );
  assert.equal(f.line(record()), 'balancer://seaside-cluster http://127.0.0.1:8081 R1 _s R1 -');

  // From a request record, as the logs plugin reads it.
  const info = new RequestRecord('h1-lean');
  info.balancer = 'seaside-cluster';
  info.member = { url: 'http://127.0.0.1:8082' } as never;
  info.memberRoute = 'R2';
  info.stickyName = '_s';
  info.sessionRoute = 'R1';
  info.routeChanged = true;
  info.outcome = 'route-changed';
  assert.equal(f.line(record({ env: balancerEnv(info, false) })), 'balancer://seaside-cluster http://127.0.0.1:8082 R2 _s R1 1');
  // A single-URL ProxyPass has no balancer name, only the worker.
  assert.equal(f.line(record({ env: balancerEnv(info, true) })), '- http://127.0.0.1:8082 R2 _s R1 1');
  assert.deepEqual(balancerEnv(new RequestRecord('h1-lean'), false), {});
  assert.equal(compileLogFormat('%{STICKYLB_OUTCOME}e').line(record({ env: balancerEnv(info, false) })), 'route-changed');
});

test('escaping as ap_escape_logitem: quotes, backslashes, control characters, high bytes', () => {
  assert.equal(escapeLogItem('plain text'), 'plain text');
  assert.equal(escapeLogItem('say "hi"'), 'say \\"hi\\"');
  assert.equal(escapeLogItem('C:\\dir'), 'C:\\\\dir');
  assert.equal(escapeLogItem('a\nb\rc\td\x0be\bf'), 'a\\nb\\rc\\td\\ve\\bf');
  assert.equal(escapeLogItem('\x00\x01\x1b\x7f'), '\\x00\\x01\\x1b\\x7f');
  // Latin-1 header bytes, and wider characters as their UTF-8 bytes.
  assert.equal(escapeLogItem('caf\xe9'), 'caf\\xe9');
  assert.equal(escapeLogItem('€'), '\\xe2\\x82\\xac');
  assert.equal(escapeLogItem('😀'), '\\xf0\\x9f\\x98\\x80');

  const f = compileLogFormat('"%r" "%{User-Agent}i" %U %{X}e');
  const line = f.line(
    record({
      target: '/a"b\\c',
      requestHeaders: { 'user-agent': 'evil"\n127.0.0.1 - - [forged]' },
      env: { X: 'x"y' },
    }),
  );
  assert.equal(line, '"GET /a\\"b\\\\c HTTP/1.1" "evil\\"\\n127.0.0.1 - - [forged]" /a\\"b\\\\c x\\"y');
  assert.ok(!line.includes('\n'));
});

test('status conditions: %400,501{…}i and %!200,304{…}i', () => {
  const f = compileLogFormat('%404{Referer}i|%!200,304{Referer}i');
  assert.equal(f.line(record({ status: 404 })), 'http://smalltalk.wolf359.be/|http://smalltalk.wolf359.be/');
  assert.equal(f.line(record({ status: 200 })), '-|-');
  assert.equal(f.line(record({ status: 500 })), '-|http://smalltalk.wolf359.be/');
});

test('literal text: %%, \\n and \\t as Apache reads them', () => {
  assert.equal(compileLogFormat('100%% %>s\\t%m\\n').line(record()), '100% 200\tGET\n');
  assert.equal(compileLogFormat('a\\qb').line(record()), 'a\\qb');
  assert.equal(compileLogFormat('').line(record()), '');
});

test('JSON lines carry the same fields, typed, with null for missing ones', () => {
  const f = compileLogFormat(`${STANDARD_LOG_FORMATS.combined} %D %{BALANCER_WORKER_ROUTE}e %{BALANCER_ROUTE_CHANGED}e %q`);
  const o = JSON.parse(f.jsonLine(record()));
  assert.deepEqual(o, {
    remote_host: '192.0.2.7',
    remote_logname: null,
    remote_user: null,
    time: new Date(START).toISOString(),
    request: 'GET /seaside/counter?_s=abc.R1&_k=x HTTP/1.1',
    status: 200,
    bytes: 2326,
    request_headers: { referer: 'http://smalltalk.wolf359.be/', 'user-agent': 'Mozilla/5.0 (X11)' },
    duration_us: 1234567,
    env: { BALANCER_WORKER_ROUTE: 'R1', BALANCER_ROUTE_CHANGED: null },
    query: '_s=abc.R1&_k=x',
  });
  // JSON escaping replaces Apache's: the raw value survives a round trip.
  const evil = 'evil"\n\\';
  const o2 = JSON.parse(f.jsonLine(record({ requestHeaders: { 'user-agent': evil }, bytes: 0 })));
  assert.equal(o2.request_headers['user-agent'], evil);
  assert.equal(o2.bytes, 0);
  assert.ok(!f.jsonLine(record({ requestHeaders: { 'user-agent': evil } })).includes('\n'));
});

test('unknown or malformed directives are refused with the reason', () => {
  assert.throws(() => compileLogFormat('%h %Z'), (e: Error) => e instanceof LogFormatError && /unknown directive %Z/.test(e.message));
  assert.throws(() => compileLogFormat('%{Referer'), /unterminated/);
  assert.throws(() => compileLogFormat('%h %'), /ends inside a directive/);
  assert.throws(() => compileLogFormat('%i'), /needs a header name/);
  assert.throws(() => compileLogFormat('%{minutes}T'), /unit must be/);
  assert.throws(() => compileLogFormat('%{nope}p'), /accepted: canonical, local, remote/);
  assert.equal(checkLogFormat(STANDARD_LOG_FORMATS.combined), undefined);
  assert.match(checkLogFormat('%Q') ?? '', /unknown directive %Q/);
});

test('Apache directives stickylb cannot fill are accepted with a warning and log "-"', () => {
  const f = compileLogFormat('%f %k %R %h');
  assert.equal(f.line(record()), '- - - 192.0.2.7');
  assert.equal(f.warnings.length, 3);
});

test('the compiled function is reusable and cheap: the same format, many records', () => {
  const f = compileLogFormat(STANDARD_LOG_FORMATS.combined);
  const lines = new Set<string>();
  for (let i = 0; i < 1000; i++) lines.add(f.line(record({ target: `/r/${i}`, startMs: START + i })));
  assert.equal(lines.size, 1000);
});
