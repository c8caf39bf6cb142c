// Config validation as the balancer core relies on it: readable messages with the config path,
// suggestions for misspelt settings, file:line from YAML, and the defaults of the model.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/validate.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigError, formatDiagnostic } from '../../src/config/diagnostics.js';

const dir = mkdtempSync(join(tmpdir(), 'stickylb-core-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The messages of the ConfigError that validating `raw` throws. */
function problems(raw: unknown): string[] {
  try {
    validateConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.diagnostics.map((d) => d.message);
  }
  assert.fail('the config was accepted');
}

const members = (...extra: Record<string, unknown>[]) => extra.map((m, i) => ({ url: `http://127.0.0.1:${8081 + i}`, ...m }));

test('config: a loadfactor out of range names the path and the range', () => {
  assert.deepEqual(problems({ balancers: { mycluster: { members: members({}, { loadfactor: 250 }) } } }), [
    'balancers.mycluster.members[1].loadfactor: 250 is out of range 1..100',
  ]);
  assert.deepEqual(problems({ balancers: { c: { members: members({ lbset: 100 }) } } }), ['balancers.c.members[0].lbset: 100 is out of range 0..99']);
});

test('config: unknown keys get a suggestion and the list of accepted settings', () => {
  const [msg] = problems({ balancers: { mycluster: { stickysesion: '_s', members: [] } } });
  assert.match(msg, /^balancers\.mycluster: unknown setting "stickysesion" \(did you mean "stickysession"\?\); accepted: lbmethod, stickysession, /);
  const [m2] = problems({ balancers: { c: { members: members({ timout: 5 }) } } });
  assert.match(m2, /^balancers\.c\.members\[0\]: unknown setting "timout" \(did you mean "timeout"\?\)/);
  // Nothing close: no suggestion, still the accepted list.
  const [m3] = problems({ balancers: { c: { zzzzzzzz: 1, members: [] } } });
  assert.match(m3, /unknown setting "zzzzzzzz"; accepted: /);
});

test('config: enumerations, formats and lengths say what is accepted', () => {
  assert.deepEqual(problems({ balancers: { c: { lbmethod: 'roundrobin', members: [] } } }), [
    'balancers.c.lbmethod: "roundrobin" is not accepted (accepted: byrequests, bytraffic, bybusyness, heartbeat)',
  ]);
  assert.deepEqual(problems({ balancers: { c: { stickysessionsep: '::', members: [] } } }), ['balancers.c.stickysessionsep: "::" must be one character or "Off"']);
  assert.deepEqual(problems({ balancers: { c: { members: members({ route: 'r'.repeat(64) }) } } }), [
    `balancers.c.members[0].route: "${'r'.repeat(64)}" is too long (at most 63 characters)`,
  ]);
  assert.deepEqual(problems({ balancers: { c: { members: [{ url: 'ftp://a:1' }] } } }), [
    'balancers.c.members[0].url: "ftp://a:1" must be an http:// or https:// URL with a host (ws:// and wss:// are read as http:// and https://)',
  ]);
  assert.match(problems({ balancers: { c: { members: members({ status: '+X' }) } } })[0], /^balancers\.c\.members\[0\]\.status: "\+X" is not valid: status flags/);
  assert.match(problems({ balancers: { c: { members: members({ route: 'a b' }) } } })[0], /route: "a b" must not contain spaces or control characters/);
});

test('config: cross-field checks: redirect to an unknown route, duplicate members, unknown balancer', () => {
  assert.deepEqual(problems({ balancers: { c: { members: members({ route: 'a', redirect: 'zz' }) } } }), [
    'balancers.c.members[0].redirect: no member has route "zz" (routes: a)',
  ]);
  assert.deepEqual(problems({ balancers: { c: { members: [{ url: 'http://a:1' }, { url: 'http://A:1/' }] } } }), [
    'balancers.c.members[1].url: http://A:1/ is already member 0 of balancer c',
  ]);
  assert.deepEqual(problems({ balancers: { c: { members: [] } }, proxyPass: [{ path: '/', to: 'balancer://nope/' }] }), [
    'proxyPass[0].to: no balancer named "nope" (defined: c)',
  ]);
});

test('config: YAML errors name file:line via loadConfigFile', () => {
  const file = join(dir, 'stickylb.yaml');
  writeFileSync(
    file,
    [
      'listen: [8080]',
      'balancers:',
      '  mycluster:',
      '    stickysession: "_s|_s"',
      '    nofailover: true',
      '    members:',
      '      - url: http://127.0.0.1:8081',
      '        route: first',
      '      - url: http://127.0.0.1:8082',
      '        route: second',
      '        loadfactor: 250',
      'proxyPass:',
      '  - path: /',
      '    to: balancer://mycluster/',
      '',
    ].join('\n'),
  );
  try {
    loadConfigFile(file);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.diagnostics.length, 1);
    const d = e.diagnostics[0];
    assert.equal(d.line, 11);
    assert.equal(formatDiagnostic(d), `${file}:11: error: balancers.mycluster.members[1].loadfactor: 250 is out of range 1..100`);
  }
  writeFileSync(file, 'balancers:\n  c:\n    members: []\n  c:\n    members: []\n');
  assert.throws(() => loadConfigFile(file), (e: unknown) => e instanceof ConfigError && /:4:3: error: YAML: Map keys must be unique\n {2}2 \| {3}c:\n/.test(e.message));
  assert.throws(
    () => loadConfigFile(join(dir, 'missing.yaml')),
    (e: unknown) => e instanceof ConfigError && e.message.endsWith(`error: no such file: ${join(dir, 'missing.yaml')}`),
  );
});

test('config: the seed configuration resolves to the expected balancer model', () => {
  const model = validateConfig({
    preserveHost: true,
    balancers: {
      mycluster: {
        stickysession: '_s|_s',
        nofailover: true,
        members: [
          { url: 'http://127.0.0.1:8080', route: 'first' },
          { url: 'http://127.0.0.1:9090/', route: 'second', retry: '500ms', status: '+H' },
        ],
      },
    },
    proxyPass: [
      { path: '/balancer-manager', to: '!' },
      { path: '/', to: 'balancer://mycluster/' },
    ],
    proxyPassReverse: [{ path: '/', to: 'balancer://mycluster/' }],
  });
  const b = model.balancers.mycluster;
  assert.deepEqual(b.sticky, { cookie: '_s', url: '_s' });
  assert.equal(b.separator, '.');
  assert.equal(b.nofailover, true);
  assert.equal(b.lbmethod, 'byrequests');
  assert.equal(b.maxattempts, undefined);
  assert.equal(b.forcerecovery, true);
  assert.equal(b.timeoutMs, 0);
  const [first, second] = b.members;
  assert.equal(first.loadfactor, 1);
  assert.equal(first.lbset, 0);
  assert.equal(first.retryMs, 60_000);
  assert.equal(second.retryMs, 500);
  assert.equal(second.basePath, '');
  assert.equal(second.status.H, true);
  assert.equal(model.sites[0].preserveHost, true);
  assert.deepEqual(model.sites[0].rules, [
    { kind: 'exclude', path: '/balancer-manager', match: undefined },
    { kind: 'proxy', path: '/', match: undefined, balancer: 'mycluster', targetPath: '/' },
  ]);
  assert.deepEqual(model.sites[0].reverse, [{ path: '/', prefixes: ['http://127.0.0.1:8080/', 'http://127.0.0.1:9090/'], upstreamPath: '/', relative: true }]);
});

test('config: stickysession forms and stickysessionsep Off', () => {
  const sticky = (v: unknown, sep?: string) => validateConfig({ balancers: { c: { stickysession: v, stickysessionsep: sep, members: [] } } }).balancers.c;
  assert.deepEqual(sticky('JSESSIONID|jsessionid').sticky, { cookie: 'JSESSIONID', url: 'jsessionid' });
  assert.deepEqual(sticky({ cookie: 'ROUTEID' }).sticky, { cookie: 'ROUTEID', url: undefined });
  assert.equal(sticky('ROUTEID', 'Off').separator, null);
  assert.equal(sticky('ROUTEID', 'OFF').separator, null);
  assert.equal(sticky('ROUTEID', '!').separator, '!');
});

test('config: member timeouts fall back to the balancer, then ProxyTimeout, then Timeout', () => {
  const m = (raw: Record<string, unknown>) => validateConfig(raw).balancers.c.members[0];
  assert.equal(m({ balancers: { c: { members: members({ timeout: '250ms' }) } } }).timeoutMs, 250);
  assert.equal(m({ balancers: { c: { timeout: 3, members: members({}) } } }).timeoutMs, 3000);
  assert.equal(m({ proxyTimeout: 7, balancers: { c: { members: members({}) } } }).timeoutMs, 7000);
  assert.equal(m({ timeout: '2m', balancers: { c: { members: members({}) } } }).timeoutMs, 120_000);
  assert.equal(m({ balancers: { c: { members: members({}) } } }).timeoutMs, 60_000);
});

test('config: a single-URL ProxyPass gets an implicit one-member balancer without failover', () => {
  const model = validateConfig({ proxyPass: [{ path: '/api', to: 'http://127.0.0.1:9000/v1' }] });
  const rule = model.sites[0].rules[0];
  assert.equal(rule.kind, 'proxy');
  const name = rule.kind === 'proxy' ? rule.balancer : '';
  const b = model.balancers[name];
  assert.equal(b.implicit, true);
  assert.equal(b.maxattempts, 0);
  assert.equal(b.members[0].url, 'http://127.0.0.1:9000');
  assert.equal(rule.kind === 'proxy' && rule.targetPath, '/v1');
});
