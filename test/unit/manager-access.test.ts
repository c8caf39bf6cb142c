// Access rules (allow/deny lists), the same-origin check and htpasswd parsing, without sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { decideAccess, parseRule, plainAddress, type AccessRule, type ReverseLookup } from '../../src/manager/access/access-rules.js';
import { checkSameOrigin } from '../../src/manager/access/origin.js';
import { hashKind, HtpasswdFile, parseBasicAuth, parseHtpasswd } from '../../src/edge/htpasswd.js';

const noDns: ReverseLookup = async () => [];
const rules = (list: string[]): AccessRule[] => list.map(parseRule);
async function allowed(allow: string[], deny: string[], remote: string, reverse: ReverseLookup = noDns, local?: string) {
  return (await decideAccess(rules(allow), rules(deny), { remote, local }, reverse)).allowed;
}

test('rules: all, none, local, addresses, CIDRs, netmasks and partial IPs', async () => {
  const cases: [string[], string[], string, boolean][] = [
    [['all'], [], '203.0.113.9', true],
    [['none'], [], '127.0.0.1', false],
    [['local'], [], '127.0.0.1', true],
    [['local'], [], '127.9.9.9', true],
    [['local'], [], '::1', true],
    [['local'], [], '::ffff:127.0.0.1', true],
    [['local'], [], '10.0.0.1', false],
    [['10.0.0.0/8'], [], '10.200.3.4', true],
    [['10.0.0.0/8'], [], '127.0.0.1', false],
    [['10.0.0.0/8'], [], '::ffff:10.1.2.3', true],
    [['10.1'], [], '10.1.77.3', true],
    [['10.1'], [], '10.10.0.1', false],
    [['10.1.'], [], '10.1.0.9', true],
    [['192.168.1'], [], '192.168.1.200', true],
    [['192.168.0.0/255.255.0.0'], [], '192.168.44.1', true],
    [['192.168.1.5'], [], '192.168.1.5', true],
    [['192.168.1.5'], [], '192.168.1.6', false],
    [['2001:db8::/32'], [], '2001:db8:1::5', true],
    [['2001:db8::/32'], [], '2001:db9::5', false],
    [['all'], ['10.0.0.0/8'], '10.3.3.3', false],
    [['all'], ['10.0.0.0/8'], '11.3.3.3', true],
    [['local', '10.1'], ['10.1.2'], '10.1.2.3', false],
    [['local', '10.1'], ['10.1.2'], '10.1.3.3', true],
  ];
  for (const [allow, deny, remote, want] of cases) {
    assert.equal(await allowed(allow, deny, remote), want, `allow ${allow} deny ${deny} from ${remote}`);
  }
});

test('rules: a client on one of our own addresses is local', async () => {
  assert.equal(await allowed(['local'], [], '192.0.2.10', noDns, '192.0.2.10'), true);
  assert.equal(await allowed(['local'], [], '192.0.2.11', noDns, '192.0.2.10'), false);
});

test('rules: host names use the verified reverse lookup, matching the domain and its subdomains', async () => {
  const reverse = async (addr: string) => (addr === '198.51.100.7' ? ['app1.ops.example.org'] : []);
  assert.equal(await allowed(['host example.org'], [], '198.51.100.7', reverse), true);
  assert.equal(await allowed(['host ops.example.org'], [], '198.51.100.7', reverse), true);
  assert.equal(await allowed(['example.org'], [], '198.51.100.7', reverse), true);
  assert.equal(await allowed(['host ample.org'], [], '198.51.100.7', reverse), false);
  assert.equal(await allowed(['host example.org'], [], '198.51.100.8', reverse), false);
  assert.equal(await allowed(['all'], ['host example.org'], '198.51.100.7', reverse), false);
});

test('rules: invalid entries match nothing when allowing and refuse everyone when denying', async () => {
  assert.equal(parseRule('10.0.0.0/33').kind, 'invalid');
  assert.equal(parseRule('300.1').kind, 'invalid');
  assert.equal(parseRule('10.0.0.0/255.0.255.0').kind, 'invalid');
  assert.equal(parseRule('env=LOCAL').kind, 'invalid');
  assert.equal(await allowed(['bogus!', '127.0.0.1'], [], '127.0.0.1'), true);
  assert.equal(await allowed(['bogus!'], [], '127.0.0.1'), false);
  const d = await decideAccess(rules(['all']), rules(['bogus!']), { remote: '127.0.0.1' }, noDns);
  assert.equal(d.allowed, false);
  assert.match(d.reason, /invalid/);
});

test('plainAddress unwraps IPv4-mapped IPv6', () => {
  assert.equal(plainAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(plainAddress('::1'), '::1');
});

test('same origin: Origin first, then Referer, against the Host header', () => {
  const ok = (h: Record<string, string>) => checkSameOrigin(h).ok;
  assert.equal(ok({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }), true);
  assert.equal(ok({ host: '127.0.0.1:8080', origin: 'https://127.0.0.1:8080' }), true);
  assert.equal(ok({ host: 'LB.example.org', origin: 'http://lb.example.org' }), true);
  assert.equal(ok({ host: '127.0.0.1:8080', origin: 'http://evil.example' }), false);
  assert.equal(ok({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8081' }), false);
  assert.equal(ok({ host: '127.0.0.1:8080', origin: 'null' }), false);
  assert.equal(ok({ host: '127.0.0.1:8080', referer: 'http://127.0.0.1:8080/balancer-manager?b=c' }), true);
  assert.equal(ok({ host: '127.0.0.1:8080', referer: 'http://evil.example/x' }), false);
  // Origin decides when both are present.
  assert.equal(ok({ host: '127.0.0.1:8080', origin: 'http://evil.example', referer: 'http://127.0.0.1:8080/' }), false);
  const none = checkSameOrigin({ host: '127.0.0.1:8080' });
  assert.equal(none.ok, false);
  assert.match((none as { reason: string }).reason, /Origin or Referer/);
});

test('htpasswd: every format htpasswd writes is told apart; plain text is not a hash', () => {
  const bc = bcrypt.hashSync('secret', 4).replace(/^\$2b\$/, '$2y$');
  const entries = parseHtpasswd(`# users\nadmin:${bc}\nold:$apr1$abc$0123456789abcdefghijkl\nsha:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\ndes:abJnggxhB/yWI\nplain:secret\n\n`);
  assert.deepEqual(
    entries.map((e) => [e.user, e.kind]),
    [
      ['admin', 'bcrypt'],
      ['old', 'apr1'],
      ['sha', 'sha1'],
      ['des', 'des-crypt'],
      ['plain', 'unknown'],
    ],
  );
  assert.equal(hashKind(bc), 'bcrypt');
  assert.deepEqual(parseBasicAuth(`Basic ${Buffer.from('admin:pa:ss').toString('base64')}`), { user: 'admin', password: 'pa:ss' });
  assert.equal(parseBasicAuth('Bearer x'), undefined);
});

test('htpasswd file: checks passwords, logs refused hash types once, follows edits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-htpasswd-'));
  const file = join(dir, 'users');
  const bc = bcrypt.hashSync('secret', 4).replace(/^\$2b\$/, '$2y$');
  writeFileSync(file, `admin:${bc}\nold:plaintext\n`);
  const warnings: string[] = [];
  const f = new HtpasswdFile(file, { warn: (m) => warnings.push(m), statEveryMs: 0 });
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  assert.deepEqual(await f.check(basic('admin', 'secret')), { ok: true, user: 'admin' });
  assert.equal((await f.check(basic('admin', 'secret'))).ok, true);
  assert.equal((await f.check(basic('admin', 'wrong'))).ok, false);
  assert.equal((await f.check(basic('nobody', 'secret'))).ok, false);
  const old = await f.check(basic('old', 'plaintext'));
  assert.equal(old.ok, false);
  assert.match((old as { reason: string }).reason, /not in a format htpasswd writes/);
  assert.equal((await f.check(undefined)).ok, false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /the password of user "old" is not in a format htpasswd writes \(plain text is refused\)/);
  // A changed file is read again: the old password stops working.
  const bc2 = bcrypt.hashSync('other', 4);
  writeFileSync(file, `admin:${bc2}\n`);
  const { utimesSync } = await import('node:fs');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  assert.equal((await f.check(basic('admin', 'secret'))).ok, false);
  assert.equal((await f.check(basic('admin', 'other'))).ok, true);
});
