import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateAccess, hostEntry } from '../../src/config/apache/access.js';
import { parseApache } from '../../src/config/apache/parser.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import type { ConfigFs } from '../../src/config/apache/include.js';

const noFs: ConfigFs = { readFile: () => '', readdir: () => [], isDirectory: () => false, exists: () => false };

/** Evaluates the access directives of a <Location> body. */
function access(body: string) {
  const r = parseApache(`<Location /x>\n${body}\n</Location>`, 'a.conf', { fs: noFs });
  const a = evaluateAccess(r.directives[0].children!);
  return {
    allow: a.allow?.map((e) => e.value),
    deny: a.deny?.map((e) => e.value),
    htpasswd: a.htpasswd?.value,
    realm: a.realm?.value,
    decidedBy: a.decidedBy?.line,
    present: a.present,
    messages: a.diagnostics.map(formatDiagnostic),
  };
}

test('apache access: host words to entries (all, localhost, IPs, partial IPs, CIDR, netmask, IPv6, names)', () => {
  assert.deepEqual(hostEntry('all'), { entry: 'all' });
  assert.deepEqual(hostEntry('ALL'), { entry: 'all' });
  assert.deepEqual(hostEntry('localhost'), { entry: 'local' });
  assert.deepEqual(hostEntry('127.0.0.1'), { entry: '127.0.0.1' });
  assert.deepEqual(hostEntry('10'), { entry: '10.0.0.0/8' });
  assert.deepEqual(hostEntry('10.1'), { entry: '10.1.0.0/16' });
  assert.deepEqual(hostEntry('192.168.2.'), { entry: '192.168.2.0/24' });
  assert.deepEqual(hostEntry('10.0.0.0/8'), { entry: '10.0.0.0/8' });
  assert.deepEqual(hostEntry('10.1.0.0/255.255.0.0'), { entry: '10.1.0.0/16' });
  assert.deepEqual(hostEntry('2001:db8::1'), { entry: '2001:db8::1' });
  assert.deepEqual(hostEntry('2001:db8::/32'), { entry: '2001:db8::/32' });
  assert.deepEqual(hostEntry('example.org'), { entry: 'host example.org' });
  assert.deepEqual(hostEntry('.example.org'), { entry: 'host example.org' });
  assert.deepEqual(hostEntry('10.0.0.0/255.0.255.0'), { problem: '"10.0.0.0/255.0.255.0" has an invalid network mask', severity: 'error' });
  assert.deepEqual(hostEntry('300.1'), { problem: '"300.1" is not an IP address', severity: 'error' });
  assert.deepEqual(hostEntry('10.0.0.0/33'), { problem: '"10.0.0.0/33" has an invalid network mask', severity: 'error' });
  assert.deepEqual(hostEntry('env=LOCAL'), { problem: '"env=LOCAL": environment conditions are not supported', severity: 'warning' });
  assert.deepEqual(hostEntry('a_b!'), { problem: '"a_b!" is not a host name, an IP address or a network', severity: 'error' });
});

test('apache access: no rules at all says nothing (the caller decides)', () => {
  assert.deepEqual(access('SetHandler server-status'), { allow: undefined, deny: undefined, htpasswd: undefined, realm: undefined, decidedBy: undefined, present: false, messages: [] });
});

test('apache access 2.2: Order Deny,Allow + Deny from all + Allow from X lets in only X (the seed)', () => {
  const a = access('Order Deny,Allow\nDeny from all\nAllow from 127.0.0.1\nAllow from localhost');
  assert.deepEqual([a.allow, a.deny, a.decidedBy, a.messages], [['127.0.0.1', 'local'], [], 4, []]);
});

test('apache access 2.2: Order deny,allow + Allow from all is everyone (Sven)', () => {
  const a = access('Order deny,allow\nAllow from all');
  assert.deepEqual([a.allow, a.deny, a.decidedBy], [['all'], [], 3]);
});

test('apache access 2.2: Deny,Allow without any Deny lets everyone in (Apache default allow)', () => {
  assert.deepEqual(access('Order Deny,Allow\nAllow from 10.1').allow, ['all']);
});

test('apache access 2.2: Deny,Allow with a partial Deny denies it; re-admitting part of it cannot be expressed', () => {
  const a = access('Order Deny,Allow\nDeny from 10.0.0.0/8\nAllow from 10.1.2.3');
  assert.deepEqual([a.allow, a.deny], [['all'], ['10.0.0.0/8']]);
  assert.deepEqual(a.messages, [
    'a.conf:2: warning: Order Deny,Allow: clients matching both a Deny and an Allow (10.1.2.3) get in under Apache; stickylb keeps them out',
  ]);
});

test('apache access 2.2: Deny from all alone is nobody', () => {
  assert.deepEqual(access('Order Deny,Allow\nDeny from all').allow, ['none']);
});

test('apache access 2.2: Order Allow,Deny lets in Allow minus Deny; nothing allowed is nobody', () => {
  const a = access('Order Allow,Deny\nAllow from 10.1\nDeny from 10.1.2.3');
  assert.deepEqual([a.allow, a.deny], [['10.1.0.0/16'], ['10.1.2.3']]);
  assert.deepEqual(access('Order Allow,Deny').allow, ['none']);
  assert.deepEqual(access('Order Allow,Deny\nAllow from all\nDeny from all').allow, ['none']);
  assert.deepEqual(access('Order Mutual-failure\nAllow from 10.2').allow, ['10.2.0.0/16']);
});

test('apache access 2.2: "Allow from" with nothing after it is an error naming the accepted form', () => {
  const a = access('Order Deny,Allow\nDeny from all\nAllow from\nAllow from localhost');
  assert.deepEqual(a.messages, ['a.conf:4: error: Allow from: nothing after "from" (expected Allow from all|HOST|IP|IP/CIDR …)']);
  assert.deepEqual(a.allow, ['local']);
});

test('apache access 2.2: "Allow" without "from", a bad Order, a bad address are errors', () => {
  assert.deepEqual(access('Allow 10.1').messages, ['a.conf:2: error: Allow 10.1: "from" is missing (expected Allow from all|HOST|IP|IP/CIDR …)']);
  assert.deepEqual(access('Order Deny').messages, ['a.conf:2: error: Order Deny: not accepted (expected Order Deny,Allow, Order Allow,Deny or Order Mutual-failure)']);
  assert.deepEqual(access('Allow from 10.0.0.0/99').messages, [
    'a.conf:2: error: Allow: "10.0.0.0/99" has an invalid network mask (expected Allow from all|HOST|IP|IP/CIDR …)',
  ]);
});

test('apache access 2.4: Require all granted / denied, ip, local, host', () => {
  assert.deepEqual(access('Require all granted').allow, ['all']);
  assert.deepEqual(access('Require all denied').allow, ['none']);
  assert.deepEqual(access('Require ip 10.1 192.168.0.0/16\nRequire local\nRequire host example.org').allow, ['10.1.0.0/16', '192.168.0.0/16', 'local', 'host example.org']);
  assert.deepEqual(access('Require host localhost').allow, ['local']);
});

test('apache access 2.4: Require not … and <RequireNone> become deny entries', () => {
  const a = access('<RequireAll>\nRequire all granted\nRequire not ip 10.9\n</RequireAll>');
  assert.deepEqual([a.allow, a.deny], [['all'], ['10.9.0.0/16']]);
  const b = access('Require ip 10.0.0.0/8\n<RequireNone>\nRequire ip 10.9.9.9\n</RequireNone>');
  assert.deepEqual([b.allow, b.deny], [['10.0.0.0/8'], ['10.9.9.9']]);
});

test('apache access 2.4: Basic auth gives htpasswd and realm; valid-user alone lets anyone log in', () => {
  const a = access('AuthType Basic\nAuthName "Balancer manager"\nAuthUserFile /etc/htpasswd\nRequire valid-user');
  assert.deepEqual([a.allow, a.htpasswd, a.realm, a.messages], [['all'], '/etc/htpasswd', 'Balancer manager', []]);
});

test('apache access 2.4: valid-user next to address rules is an approximation (Apache: either; stickylb: both)', () => {
  const a = access('AuthType Basic\nAuthUserFile /p\nRequire ip 10.1\nRequire valid-user');
  assert.deepEqual(a.allow, ['10.1.0.0/16']);
  assert.deepEqual(a.messages, ['a.conf:5: warning: Require valid-user next to address rules: Apache lets in clients that match either; stickylb requires both the address and a login']);
});

test('apache access: incomplete or unsupported auth says so', () => {
  assert.deepEqual(access('AuthType Basic\nRequire valid-user').messages, ['a.conf:2: warning: AuthType: no AuthUserFile in this section, so no one can log in (add AuthUserFile FILE)']);
  assert.deepEqual(access('AuthType Digest').messages, ['a.conf:2: warning: AuthType Digest: only AuthType Basic is supported (ignored)']);
  assert.deepEqual(access('AuthUserFile /p\nRequire valid-user').messages, [
    'a.conf:2: warning: AuthUserFile: no AuthType Basic in this section, so Apache would not ask for a login (stickylb does)',
  ]);
  assert.deepEqual(access('Require user alice').messages, [
    'a.conf:2: warning: Require user alice: stickylb lets in every user of the AuthUserFile, not only the ones named',
    'a.conf:2: warning: Require: no AuthUserFile in this section, so no one can log in (add AuthUserFile FILE)',
  ]);
  assert.deepEqual(access('Require env X').messages, ['a.conf:2: warning: Require env: not supported by stickylb (ignored; supported: all, local, ip, host, valid-user)']);
  assert.deepEqual(access('Require').messages, ['a.conf:2: error: Require: nothing to require (expected Require all granted|all denied|local|ip IP …|host HOST …|valid-user)']);
});

test('apache access: 2.2 rules next to Require: Require wins, with a warning', () => {
  const a = access('Order Deny,Allow\nAllow from all\nRequire local');
  assert.deepEqual(a.allow, ['local']);
  assert.deepEqual(a.messages, ['a.conf:2: warning: Order: Apache 2.2 access rules mixed with Require; stickylb uses the Require rules and ignores Order']);
});

test('apache access: Satisfy Any with a login is an approximation', () => {
  const a = access('Order Deny,Allow\nDeny from all\nAllow from 10.1\nAuthType Basic\nAuthUserFile /p\nRequire valid-user\nSatisfy Any');
  assert.ok(a.messages.includes('a.conf:8: warning: Satisfy Any: Apache lets in clients that match the address rules or log in; stickylb requires both'));
});
