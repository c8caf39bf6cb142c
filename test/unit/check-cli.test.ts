// `stickylb check` run as a real process: exit codes, diagnostics, the setup in words, --json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stickylb } from '../helpers/stickylb-cli.js';

const FIX = 'test/fixtures/apache';

test('check: Philippe\'s archived config fails (exit 1) with each missing piece at its line', async () => {
  const r = await stickylb(['check', `${FIX}/philippe-mangled.conf`]);
  assert.equal(r.code, 1);
  const out = r.stdout;
  assert.match(out, /philippe-mangled\.conf:8: error: ProxyPassReverse \/: no URL/);
  assert.match(out, /philippe-mangled\.conf:11: error: BalancerMember: no member URL \(expected BalancerMember \[balancer:\/\/name\] http:\/\/host:port \[key=value …\]\)/);
  assert.match(out, /philippe-mangled\.conf:18: error: Allow from: nothing after "from"/);
  assert.match(out, /philippe-mangled\.conf: not usable \(6 errors, 3 warnings, 1 note\)/);
  // What the rest says is still shown.
  assert.match(out, /What the rest of the file sets up/);
});

test('check: Sven\'s archived config fails with the lost closing tags and the open manager', async () => {
  const r = await stickylb(['check', '-c', `${FIX}/sven-mangled.conf`]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /sven-mangled\.conf:1: error: <VirtualHost \*:80> is not closed: add <\/VirtualHost> after line 34, at the end of the file/);
  assert.match(r.stdout, /sven-mangled\.conf:4: error: <Directory \/home\/sven\/html> is not closed: add <\/Directory> after line 6 \(line 8: ProxyRequests cannot be used inside <Directory>\)/);
  assert.match(r.stdout, /sven-mangled\.conf:22: error: <Location \/balancer-manager> is not closed/);
  assert.match(r.stdout, /sven-mangled\.conf:27: error: <Location \/server-status> is not closed/);
  assert.match(r.stdout, /sven-mangled\.conf:12: error: BalancerMember: no member URL/);
  assert.match(r.stdout, /sven-mangled\.conf:25: warning: security: balancer-manager at \/balancer-manager is open to everyone \(Allow from all\)/);
});

test('check: the repaired Philippe config is usable (exit 0) and described in plain words', async () => {
  const r = await stickylb(['check', `${FIX}/philippe.conf`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = r.stdout;
  assert.match(out, /philippe\.conf: usable \(0 errors, 2 warnings, 2 notes\)/);
  assert.match(out, /Listening on: port 8080 on every address/);
  assert.match(out, /Requests, first match wins:\n {4}\/balancer-manager +balancer-manager \(answered by stickylb; 127\.0\.0\.1, this machine\)\n {4}\/server-status +server-status .*\n {4}\/ +→ balancer mycluster\n/);
  assert.match(out, /Balancer mycluster \(byrequests\), for \//);
  assert.match(out, /Sticky: session id in URL parameter "_s", else in cookie "_s"; the route is what follows the first "\."/);
  assert.match(out, /Failover: on: requests of a session whose member is down go to another member/);
  assert.match(out, /http:\/\/127\.0\.0\.1:8080 +route first +factor 1 +set 0 +ok/);
  assert.match(out, /http:\/\/127\.0\.0\.1:9090 +route second +factor 1 +set 0 +ok/);
  assert.match(out, /Handler: balancer-manager at \/balancer-manager: 127\.0\.0\.1, this machine/);
  assert.match(out, /philippe\.conf:8: info: ProxyPassReverse lines 8, 9 cover every member of mycluster, which is correct/);
});

test('check: Sven\'s repaired config is usable with warnings; --strict makes them fail', async () => {
  const r = await stickylb(['check', `${FIX}/sven.conf`]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Failover: off \(nofailover On\): requests of a session whose member is down get 503/);
  assert.match(r.stdout, /\/files\/RedditFileLibrary +not proxied: files from \/home\/sven\/html/);
  assert.match(r.stdout, /Handler: balancer-manager at \/balancer-manager: everyone/);
  const strict = await stickylb(['check', `${FIX}/sven.conf`, '--strict']);
  assert.equal(strict.code, 1);
  assert.match(strict.stdout, /usable, but --strict fails on warnings \(0 errors, 2 warnings, 2 notes\)/);
});

test('check --json: the same diagnostics and setup as data', async () => {
  const r = await stickylb(['check', `${FIX}/sven.conf`, '--json']);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout);
  assert.equal(j.ok, true);
  assert.equal(j.format, 'apache');
  assert.deepEqual([j.errors, j.warnings], [0, 2]);
  assert.deepEqual(
    j.diagnostics.filter((d: { severity: string }) => d.severity === 'warning').map((d: { line: number; code: string }) => [d.line, d.code]),
    [
      [25, 'handler-open'],
      [30, 'handler-open'],
    ],
  );
  assert.equal(j.setup.balancers[0].name, 'seaside-cluster');
  assert.deepEqual(j.setup.balancers[0].members.map((m: { route: string }) => m.route), ['R1', 'R2']);
  assert.equal(j.model.balancers['seaside-cluster'].nofailover, true);
  assert.equal(j.model.source, undefined);
  const bad = await stickylb(['check', `${FIX}/philippe-mangled.conf`, '--json']);
  assert.equal(bad.code, 1);
  assert.equal(JSON.parse(bad.stdout).ok, false);
});

test('check: YAML configs, --format, a missing file and wrong usage', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-check-'));
  try {
    const yaml = join(dir, 'site.txt');
    writeFileSync(yaml, 'balancers:\n  c:\n    members:\n      - url: http://127.0.0.1:1\n        loadfactor: 500\nproxyPass:\n  - { path: /, to: "balancer://c/" }\n');
    const r = await stickylb(['check', yaml, '--format', 'yaml', '--quiet']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /site\.txt:5: error: balancers\.c\.members\[0\]\.loadfactor: 500 is out of range 1\.\.100/);
    assert.doesNotMatch(r.stdout, /Listening on/);
    const missing = await stickylb(['check', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /nope\.yaml: error: no such file: \/\S+\/nope\.yaml\n/);
    assert.equal((await stickylb(['check'])).code, 2);
    assert.equal((await stickylb(['check', yaml, '--format', 'toml'])).code, 2);
    assert.equal((await stickylb(['check', yaml, '--bogus'])).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
