// The pure parts of the edge: the PROXY header parser, mod_remoteip's walk, Require trees as
// mod_authz_core combines them, the 2.2 rules, RequestReadTimeout, the rate limit window, and the
// PCRE constructs a <LocationMatch> may not use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, V2_SIGNATURE } from '../../src/proxy/proxy-protocol.js';
import { compileRemoteIp, isPrivateAddress, resolveClient } from '../../src/edge/remote-ip.js';
import { compatAllows, evaluate, addressRule, DENIED, DENIED_NO_USER, GRANTED, NEUTRAL, type CompatRules } from '../../src/edge/authz.js';
import { compileRequire, type RequireSpec } from '../../src/edge/require-spec.js';
import { parseReadTimeout, readDeadline } from '../../src/edge/read-timeout.js';
import { RateLimiter, retryAfter } from '../../src/edge/rate-limit.js';
import { pcreProblem } from '../../src/edge/regex.js';

function v2(cmd: number, fam: number, addr: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(addr.length);
  return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20 | cmd, fam]), len, addr]);
}

test('PROXY v1: TCP4, TCP6 and UNKNOWN; the length of the header is what follows', () => {
  const b = Buffer.from('PROXY TCP4 203.0.113.9 192.0.2.1 56324 443\r\nGET / HTTP/1.1\r\n');
  const r = parseProxyHeader(b);
  assert.deepEqual(r, { kind: 'header', version: 1, length: 44, command: 'proxy', family: 'tcp4', sourceAddress: '203.0.113.9', sourcePort: 56324, destAddress: '192.0.2.1', destPort: 443 });
  const six = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::9 2001:db8::1 1 2\r\n'));
  assert.equal(six.kind === 'header' && six.sourceAddress, '2001:db8::9');
  const unknown = parseProxyHeader(Buffer.from('PROXY UNKNOWN whatever follows\r\n'));
  assert.equal(unknown.kind === 'header' && unknown.family, 'unknown');
  assert.equal(unknown.kind === 'header' && unknown.sourceAddress, undefined);
});

test('PROXY v1: incomplete until CRLF; malformed, wrong family, bad ports and overlong lines are errors', () => {
  assert.equal(parseProxyHeader(Buffer.from('PRO')).kind, 'incomplete');
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2')).kind, 'incomplete');
  for (const bad of [
    'GET / HTTP/1.1\r\n',
    'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n',
    'PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n',
    'PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n',
    'PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n',
    'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n',
    'PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n',
    'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n',
    `PROXY UNKNOWN ${'x'.repeat(120)}`,
  ]) {
    assert.equal(parseProxyHeader(Buffer.from(bad)).kind, 'error', bad);
  }
});

test('PROXY v2: PROXY over TCP4 and TCP6, LOCAL, UNSPEC; truncated waits, oversized and bad versions are errors', () => {
  const a4 = Buffer.from([203, 0, 113, 9, 192, 0, 2, 1, 0xdc, 0x04, 0x01, 0xbb]);
  const r4 = parseProxyHeader(Buffer.concat([v2(1, 0x11, a4), Buffer.from('GET')]));
  assert.deepEqual(r4, { kind: 'header', version: 2, length: 28, command: 'proxy', family: 'tcp4', sourceAddress: '203.0.113.9', destAddress: '192.0.2.1', sourcePort: 56324, destPort: 443 });
  const a6 = Buffer.alloc(36);
  a6.write('20010db8000000000000000000000009', 0, 'hex');
  a6.write('20010db8000000000000000000000001', 16, 'hex');
  a6.writeUInt16BE(1234, 32);
  a6.writeUInt16BE(80, 34);
  const r6 = parseProxyHeader(v2(1, 0x21, a6));
  assert.equal(r6.kind === 'header' && r6.sourceAddress, '2001:db8::9');
  assert.equal(r6.kind === 'header' && r6.sourcePort, 1234);
  const local = parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)));
  assert.equal(local.kind === 'header' && local.command, 'local');
  const withTlv = parseProxyHeader(v2(1, 0x11, Buffer.concat([a4, Buffer.from([0x04, 0x00, 0x02, 0x61, 0x62])])));
  assert.equal(withTlv.kind === 'header' && withTlv.length, 33);
  assert.equal(parseProxyHeader(v2(1, 0x11, a4).subarray(0, 20)).kind, 'incomplete');
  assert.equal(parseProxyHeader(V2_SIGNATURE.subarray(0, 7)).kind, 'incomplete');
  const huge = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
  assert.match((parseProxyHeader(huge) as { reason: string }).reason, /larger than/);
  assert.equal(parseProxyHeader(Buffer.concat([V2_SIGNATURE, Buffer.from([0x31, 0x11, 0, 12]), a4])).kind, 'error');
  assert.equal(parseProxyHeader(v2(1, 0x11, a4.subarray(0, 8))).kind, 'error');
});

test('remote ip: the header is walked from the right while the hop is a declared proxy [forwarded-trust]', () => {
  const c = compileRemoteIp({ header: 'x-forwarded-for', proxies: [{ net: '127.0.0.1', internal: true }, { net: '10.0.0.0/8', internal: true }, { net: '198.51.100.7', internal: false }] });
  // An undeclared peer: nothing in the header counts.
  assert.deepEqual(resolveClient(c, '192.0.2.50', '203.0.113.9'), { client: '192.0.2.50', viaProxy: false, remaining: '203.0.113.9' });
  // A declared proxy: the rightmost address is the client's.
  assert.deepEqual(resolveClient(c, '127.0.0.1', '203.0.113.9'), { client: '203.0.113.9', viaProxy: true, remaining: undefined });
  // Through two internal proxies; the walk stops at the first hop that is not a proxy.
  assert.deepEqual(resolveClient(c, '::ffff:127.0.0.1', '6.6.6.6, 203.0.113.9, 10.1.2.3'), { client: '203.0.113.9', viaProxy: true, remaining: '6.6.6.6' });
  // An internal proxy may present a private address; a trusted one may not.
  assert.equal(resolveClient(c, '127.0.0.1', '192.168.1.5').client, '192.168.1.5');
  assert.deepEqual(resolveClient(c, '198.51.100.7', '192.168.1.5'), { client: '198.51.100.7', viaProxy: true, remaining: '192.168.1.5' });
  // Garbage stops the walk and stays in the header.
  assert.deepEqual(resolveClient(c, '127.0.0.1', 'evil, not-an-ip'), { client: '127.0.0.1', viaProxy: true, remaining: 'evil, not-an-ip' });
  assert.equal(isPrivateAddress('172.20.0.1'), true);
  assert.equal(isPrivateAddress('172.32.0.1'), false);
  assert.equal(isPrivateAddress('fd00::1'), true);
  assert.equal(isPrivateAddress('2001:db8::1'), false);
});

const facts = (client: string, user?: string) => ({ client, method: 'GET', user, names: [] as string[] });
function tree(spec: RequireSpec) {
  const problems: { at: string; message: string }[] = [];
  const t = compileRequire(spec, problems);
  assert.deepEqual(problems, []);
  return t!;
}

test('Require: RequireAny, RequireAll, RequireNone and not combine as mod_authz_core does', () => {
  const any = tree(['ip 10.0.0.0/8', 'valid-user']);
  assert.equal(evaluate(any, facts('10.1.1.1')), GRANTED);
  assert.equal(evaluate(any, facts('192.0.2.1')), DENIED_NO_USER);
  assert.equal(evaluate(any, facts('192.0.2.1', 'alice')), GRANTED);
  const all = tree({ all: ['ip 10.0.0.0/8', 'valid-user'] });
  assert.equal(evaluate(all, facts('10.1.1.1')), DENIED_NO_USER);
  assert.equal(evaluate(all, facts('192.0.2.1', 'alice')), DENIED);
  assert.equal(evaluate(all, facts('10.1.1.1', 'alice')), GRANTED);
  const notBad = tree({ all: ['all granted', 'not ip 10.9.0.0/16'] });
  assert.equal(evaluate(notBad, facts('10.9.1.1')), DENIED);
  assert.equal(evaluate(notBad, facts('10.8.1.1')), GRANTED);
  const none = tree({ all: ['local', { none: ['ip 127.0.0.2'] }] });
  assert.equal(evaluate(none, facts('127.0.0.2')), DENIED);
  assert.equal(evaluate(none, facts('127.0.0.1')), GRANTED);
  assert.equal(evaluate(tree({ all: ['user alice bob'] }), facts('1.1.1.1', 'carol')), DENIED);
  assert.equal(evaluate(tree(['all denied']), facts('1.1.1.1')), DENIED);
  // A negated rule on its own can only refuse: neutral when it does not.
  assert.equal(evaluate({ kind: 'container', op: 'or', negate: true, children: [tree('ip 10.0.0.0/8')], text: 'RequireNone' }, facts('1.1.1.1')), NEUTRAL);
});

test('Require: rules stickylb cannot enforce, and those httpd refuses, are errors', () => {
  const errors = (spec: RequireSpec) => {
    const problems: { at: string; message: string }[] = [];
    compileRequire(spec, problems);
    return problems.map((p) => `${p.at} ${p.message}`);
  };
  assert.match(errors('env FOO').join(), /the env provider cannot be enforced/);
  assert.match(errors('ldap-group cn=x').join(), /LDAP is not supported/);
  assert.match(errors('frobnicate').join(), /unknown authorization provider "frobnicate"/);
  assert.match(errors('not ip 1.2.3.4').join(), /a negated rule has no effect in a RequireAny list/);
  assert.match(errors({ all: ['not ip 1.2.3.4'] }).join(), /contains only negative authorization rules/);
  assert.match(errors(['ip 10.0.0.0/33']).join(), /^\[0\] .*prefix length/);
  assert.match(errors({ all: [] }).join(), /contains no authorization rules/);
});

test('Order/Allow/Deny as mod_access_compat: Deny,Allow, Allow,Deny, Mutual-failure', () => {
  const rules = (order: CompatRules['order'], allow: string[], deny: string[]): CompatRules => ({
    order,
    allow: allow.map((w) => addressRule(w, true) as never),
    deny: deny.map((w) => addressRule(w, true) as never),
    satisfy: 'all',
  });
  const f = (c: string) => ({ client: c, method: 'GET', names: [] as string[] });
  assert.equal(compatAllows(rules('deny,allow', ['127.0.0.1'], ['all']), f('127.0.0.1')), true);
  assert.equal(compatAllows(rules('deny,allow', ['127.0.0.1'], ['all']), f('127.0.0.2')), false);
  assert.equal(compatAllows(rules('deny,allow', [], ['10.0.0.0/8']), f('192.0.2.1')), true);
  assert.equal(compatAllows(rules('allow,deny', ['10'], ['10.1.2.3']), f('10.1.2.3')), false);
  assert.equal(compatAllows(rules('allow,deny', ['10'], []), f('10.9.9.9')), true);
  assert.equal(compatAllows(rules('allow,deny', [], []), f('10.9.9.9')), false);
  assert.equal(compatAllows(rules('mutual-failure', ['all'], ['10.0.0.0/255.0.0.0']), f('10.2.2.2')), false);
  // A host name needs the verified names of the client.
  assert.equal(compatAllows(rules('deny,allow', ['localhost'], ['all']), { client: '127.0.0.2', method: 'GET' }), undefined);
  assert.equal(compatAllows(rules('deny,allow', ['localhost'], ['all']), { client: '127.0.0.1', method: 'GET', names: ['localhost'] }), true);
});

test('RequestReadTimeout: Apache syntax, defaults per stage, deadlines raised by MinRate up to the cap', () => {
  assert.deepEqual(parseReadTimeout('header=20-40,MinRate=500 body=20,MinRate=500'), { headerMs: 20000, headerMaxMs: 40000, headerMinRate: 500, bodyMs: 20000, bodyMaxMs: 0, bodyMinRate: 500 });
  assert.deepEqual(parseReadTimeout('body=10'), { headerMs: 20000, headerMaxMs: 40000, headerMinRate: 500, bodyMs: 10000, bodyMaxMs: 0, bodyMinRate: 0 });
  assert.match(parseReadTimeout('header=10-20') as string, /needs MinRate/);
  assert.match(parseReadTimeout('head=10') as string, /expected handshake=/);
  assert.equal(readDeadline(1000, 0, 20000, 40000, 500), 21000);
  assert.equal(readDeadline(1000, 5000, 20000, 40000, 500), 31000);
  assert.equal(readDeadline(1000, 50000, 20000, 40000, 500), 41000);
  assert.equal(readDeadline(1000, 50000, 20000, 0, 500), 121000);
});

test('rate limit: a sliding window per client and rule; refused requests are not counted; Retry-After', () => {
  const rule = { id: '/ 3/10s', path: '/', requests: 3, windowMs: 10_000 };
  const r = new RateLimiter();
  const t0 = 1_000_000_000;
  assert.deepEqual([0, 1, 2].map((i) => r.hit(rule, '192.0.2.1', t0 + i)), [0, 0, 0]);
  const wait = r.hit(rule, '192.0.2.1', t0 + 3);
  assert.ok(wait >= 1 && wait <= 20, `retry after ${wait}`);
  assert.equal(r.hit(rule, '192.0.2.2', t0 + 3), 0, 'another client has its own window');
  // Half a window later the previous window still weighs half: 3 * 0.5 + 0 < 3 → allowed once.
  assert.equal(r.hit(rule, '192.0.2.1', t0 + 15_000), 0);
  assert.deepEqual(r.snapshot(), [{ rule: '/ 3/10s', allowed: 5, limited: 1, clients: 2 }]);
  // Full at the start of a window: a third into the next one the old count weighs 2.
  assert.equal(retryAfter({ prev: 0, curr: 3 }, 3, 10_000, 0), 14);
});

test('LocationMatch: PCRE-only constructs are told apart from JavaScript ones', () => {
  assert.equal(pcreProblem('^/(admin|ops)/.*\\.php$'), undefined);
  assert.equal(pcreProblem('^/(?<name>x)'), undefined);
  assert.match(pcreProblem('\\A/admin')!, /PCRE escapes/);
  assert.match(pcreProblem('(?i)^/admin')!, /inline flags/);
  assert.match(pcreProblem('^/a++')!, /possessive/);
  assert.match(pcreProblem('^/[[:alpha:]]+')!, /POSIX classes/);
});

test('ip-match: IPv4, IPv6 (compressed, with an IPv4 tail, a zone), IPv4-mapped, networks', async () => {
  const { inNet, parseIp, parseNet } = await import('../../src/edge/ip-match.js');
  const yes = (ip: string, net: string) => inNet(parseIp(ip)!, parseNet(net)!);
  assert.equal(yes('10.1.2.3', '10.0.0.0/8'), true);
  assert.equal(yes('11.1.2.3', '10.0.0.0/8'), false);
  assert.equal(yes('192.168.1.200', '192.168.1.128/25'), true);
  assert.equal(yes('192.168.1.127', '192.168.1.128/25'), false);
  assert.equal(yes('1.2.3.4', '0.0.0.0/0'), true);
  assert.equal(yes('::ffff:10.1.2.3', '10.0.0.0/8'), true);
  assert.equal(yes('2001:db8::1', '2001:db8::/32'), true);
  assert.equal(yes('2001:db9::1', '2001:db8::/32'), false);
  assert.equal(yes('2001:db8:0:0:0:0:0:1', '2001:db8::1'), true);
  assert.equal(yes('fe80::1%eth0', 'fe80::/10'), true);
  assert.equal(yes('::1', '::1/128'), true);
  assert.equal(yes('64:ff9b::10.0.0.1', '64:ff9b::/96'), true);
  assert.equal(yes('10.1.2.3', '2001:db8::/32'), false);
  for (const bad of ['1.2.3', '1.2.3.256', '1.2.3.4.5', '01.2.3.4x', '2001:db8::1::2', '2001:db8:1:2:3:4:5:6:7', 'g::1', 'example.org', '']) assert.equal(parseIp(bad), undefined, bad);
  assert.equal(parseNet('10.0.0.0/33'), undefined);
});
