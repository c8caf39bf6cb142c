// Apache's defaults under Apache syntax, stickylb's under YAML, for the settings where they differ
// (the rows of src/config/differences.ts): passive back-off through the failover core with a
// clock moved by hand, and the relative-redirect rule of ProxyPassReverse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import { validateConfig } from '../../src/config/validate.js';
import type { ConfigModel } from '../../src/config/model.js';
import type { RawConfig } from '../../src/config/schema.js';
import { BalancerState } from '../../src/balancer/balancer-state.js';
import { Failover } from '../../src/proxy/core/failover.js';
import { RequestRecord } from '../../src/proxy/core/record.js';
import { reverseUrl } from '../../src/proxy/reverse-rewrite.js';

function fromApache(text: string): ConfigModel {
  const r = parseApacheConfig(text, 'site.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity !== 'info'), []);
  return validateConfig(r.raw, { sourceMap: r.sourceMap });
}

const APACHE_SITE = (params = '') => `
<Proxy balancer://c>
  BalancerMember http://127.0.0.1:1 route=a retry=1
  BalancerMember http://127.0.0.1:2 route=b retry=1
  ProxySet stickysession=_s ${params}
</Proxy>
ProxyPass / balancer://c/
`;

const YAML_SITE: RawConfig = {
  balancers: {
    c: {
      stickysession: '_s',
      members: [
        { url: 'http://127.0.0.1:1', route: 'a', retry: 1 },
        { url: 'http://127.0.0.1:2', route: 'b', retry: 1 },
      ],
    },
  },
  proxyPass: [{ path: '/', to: 'balancer://c/' }],
};

/**
 * Member a refuses every connection. Each call sends one request with a session of route a
 * through the failover core at the clock's time and says which member answered it.
 */
function refusingA(model: ConfigModel) {
  const clock = { now: 1_700_000_000_000 };
  const b = new BalancerState(model.balancers.c, () => clock.now);
  const a = b.members[0];
  const send = (): string => {
    const fo = new Failover(b, new RequestRecord('h1-node'), { target: '/', cookie: '_s=x.a' }, clock.now);
    let step = fo.pick();
    while (step.kind === 'attempt' && step.member === a) step = fo.failed({ kind: 'connect-failed', code: 'ECONNREFUSED' }, true);
    assert.equal(step.kind, 'attempt');
    const who = step.kind === 'attempt' ? step.member.route : '';
    fo.answered(200);
    fo.done(0, 0);
    return who;
  };
  return { clock, a, send, attemptsOnA: () => a.errors };
}

test('retry=1 under Apache syntax: the member in error is tried again after 1 s every time, as Apache [retry-backoff]', () => {
  const { clock, a, send, attemptsOnA } = refusingA(fromApache(APACHE_SITE()));
  assert.equal(send(), 'b');
  for (let i = 2; i <= 5; i++) {
    clock.now += 1001;
    assert.equal(send(), 'b');
    assert.equal(attemptsOnA(), i, `tried again after 1 s (failure ${i})`);
    assert.equal(a.retryMs, 1000);
  }
});

test('retry=1 in YAML: the retry interval doubles while the member keeps failing (stickylb\'s back-off) [retry-backoff]', () => {
  const { clock, a, send, attemptsOnA } = refusingA(validateConfig(YAML_SITE));
  send();
  clock.now += 1001;
  send();
  assert.equal(attemptsOnA(), 2);
  assert.equal(a.retryMs, 2000);
  clock.now += 1001;
  send();
  assert.equal(attemptsOnA(), 2, 'not tried again after 1 s');
  clock.now += 1000;
  send();
  assert.equal(attemptsOnA(), 3, 'tried again after 2 s');
  assert.equal(a.retryMs, 4000);
});

test('retrybackoff asks for back-off under Apache syntax, retrybackoff: false turns it off in YAML [retry-backoff]', () => {
  const on = refusingA(fromApache(APACHE_SITE('retrybackoff=On')));
  on.send();
  on.clock.now += 1001;
  on.send();
  assert.equal(on.a.retryMs, 2000);
  const capped = fromApache(APACHE_SITE('retrybackoff=3'));
  assert.equal(capped.balancers.c.retryBackoffMaxMs, 3000);
  const off = refusingA(validateConfig({ ...YAML_SITE, balancers: { c: { ...YAML_SITE.balancers!.c, retrybackoff: false } } }));
  off.send();
  off.clock.now += 1001;
  off.send();
  assert.equal(off.a.retryMs, 1000);
});

const PREFIXED_APACHE = `
<Proxy balancer://c>
  BalancerMember http://10.0.0.1:8080 route=a
</Proxy>
ProxyPass /app/ balancer://c/
ProxyPassReverse /app/ balancer://c/
`;
const PREFIXED_YAML: RawConfig = {
  balancers: { c: { members: [{ url: 'http://10.0.0.1:8080', route: 'a' }] } },
  proxyPass: [{ path: '/app/', to: 'balancer://c/' }],
  proxyPassReverse: [{ path: '/app/', to: 'balancer://c/' }],
};

test('relative redirects under Apache syntax are left alone; absolute member URLs are still rewritten [relative-redirects]', () => {
  const site = fromApache(PREFIXED_APACHE).sites[0];
  assert.equal(reverseUrl(site, '/landing', 'www.example.org'), undefined);
  assert.equal(reverseUrl(site, '/app/landing', 'www.example.org'), undefined);
  assert.equal(reverseUrl(site, 'http://10.0.0.1:8080/landing', 'www.example.org'), 'http://www.example.org/app/landing');
});

test('relative redirects in YAML map to the local path, unless already under it [relative-redirects]', () => {
  const site = validateConfig(PREFIXED_YAML).sites[0];
  assert.equal(reverseUrl(site, '/landing', 'h'), '/app/landing');
  assert.equal(reverseUrl(site, '/app/landing', 'h'), undefined, 'an app that knows its prefix is not sent to /app/app/landing');
  assert.equal(reverseUrl(site, '/app', 'h'), undefined);
  assert.equal(reverseUrl(site, '/application', 'h'), '/app/application');
});

test('relative redirects: relative=On on the ProxyPassReverse line, relative: false in YAML [relative-redirects]', () => {
  const on = fromApache(PREFIXED_APACHE.replace('ProxyPassReverse /app/ balancer://c/', 'ProxyPassReverse /app/ balancer://c/ relative=On')).sites[0];
  assert.equal(reverseUrl(on, '/landing', 'h'), '/app/landing');
  const inLocation = fromApache(`${PREFIXED_APACHE.split('ProxyPassReverse')[0]}<Location /app/>\n  ProxyPassReverse balancer://c/ relative=on\n</Location>\n`).sites[0];
  assert.equal(inLocation.reverse[0].relative, true);
  const off = validateConfig({ ...PREFIXED_YAML, proxyPassReverse: [{ path: '/app/', to: 'balancer://c/', relative: false }] }).sites[0];
  assert.equal(reverseUrl(off, '/landing', 'h'), undefined);
  const bad = parseApacheConfig(PREFIXED_APACHE.replace('ProxyPassReverse /app/ balancer://c/', 'ProxyPassReverse /app/ balancer://c/ relative=maybe'), 'site.conf');
  assert.deepEqual(
    bad.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
    ['ProxyPassReverse /app/ balancer://c/ relative=maybe: relative=maybe is not On or Off (expected ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/)'],
  );
});
