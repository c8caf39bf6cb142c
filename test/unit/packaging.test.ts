// Packaging for operators: the Dockerfile passes a Dockerfile linter (no registry is reachable to
// build it here), and the systemd unit runs the installed command with reload and hardening and
// passes `systemd-analyze verify`. .ci/run also installs the package globally and verifies the
// unit as it is, against the command npm installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { validate } from 'dockerfile-utils';

const DOCKERFILE = readFileSync('Dockerfile', 'utf8');
const UNIT = readFileSync('packaging/stickylb.service', 'utf8');

test('Dockerfile: no problem found by the linter (which does find them in a broken one)', () => {
  const problems = validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  assert.deepEqual(problems, []);
  assert.equal(validate('FROM node:20-slim\nEXPOSE http\nHEALTHCHECK --interval=often CMD true\n').length, 2, 'the linter is not blind');
});

test('Dockerfile: Node 20 slim, the packed package installed globally, a non-root user, a health check, the stickylb command', () => {
  const lines = DOCKERFILE.replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
  const from = lines.filter((l) => l.startsWith('FROM '));
  assert.deepEqual(from.map((l) => l.split(/\s+/)[1]), ['node:20-slim', 'node:20-slim']);
  assert.ok(lines.some((l) => /^RUN npm install -g .*stickylb\.tgz/.test(l)), 'installs the packed package globally');
  const user = lines.filter((l) => l.startsWith('USER ')).at(-1);
  assert.equal(user, 'USER node');
  assert.match(lines.find((l) => l.startsWith('HEALTHCHECK '))!, /CMD \["node", "-e", .*connect/);
  assert.equal(lines.find((l) => l.startsWith('ENTRYPOINT ')), 'ENTRYPOINT ["stickylb"]');
  assert.equal(lines.find((l) => l.startsWith('CMD ')), 'CMD ["run", "-c", "/etc/stickylb/stickylb.yaml"]');
  assert.doesNotMatch(DOCKERFILE, /\bnpx\b/);
});

/** The unit's settings of a section, each key with its values in order. */
function section(name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of UNIT.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) current = s[1];
    else if (current === name) {
      const eq = line.indexOf('=');
      const key = line.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return out;
}

test('systemd unit: runs the installed command (not npx), reloads with SIGHUP, and is hardened', () => {
  const svc = section('Service');
  assert.deepEqual(svc.get('ExecStart'), ['/usr/bin/stickylb run -c /etc/stickylb/stickylb.yaml']);
  assert.deepEqual(svc.get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  assert.doesNotMatch(UNIT, /\bnpx\b|\bnpm\b.*\brun\b/);
  for (const [key, value] of [
    ['DynamicUser', 'yes'],
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['PrivateDevices', 'yes'],
    ['CapabilityBoundingSet', 'CAP_NET_BIND_SERVICE'],
    ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6'],
    ['SystemCallFilter', '@system-service'],
  ]) {
    assert.deepEqual(svc.get(key), [value], key);
  }
  // V8 compiles to memory it then runs: this setting would kill Node at start.
  assert.equal(svc.has('MemoryDenyWriteExecute'), false);
  assert.deepEqual(section('Install').get('WantedBy'), ['multi-user.target']);
});

const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;

test(
  'systemd unit: systemd-analyze verify accepts it (with the repository\'s own command standing in for the installed one)',
  { skip: analyze ? false : 'systemd-analyze is not installed (Debian: apt-get install systemd); .ci/run verifies the unit' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'stickylb-unit-'));
    try {
      // The same unit, its command taken from the repository (bin/stickylb.js is executable).
      const file = join(dir, 'stickylb.service');
      writeFileSync(file, UNIT.replaceAll('/usr/bin/stickylb', resolve('bin/stickylb.js')));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '');
      // And it does check the command: a missing one is refused.
      writeFileSync(file, UNIT.replaceAll('/usr/bin/stickylb', join(dir, 'no-such-command')));
      const missing = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      assert.notEqual(missing.status, 0);
      assert.match(missing.stderr, /no-such-command is not executable/);
      // Where the package is installed (CI installs it), the unit as shipped.
      if (existsSync('/usr/bin/stickylb')) {
        const shipped = spawnSync('systemd-analyze', ['verify', 'packaging/stickylb.service'], { encoding: 'utf8' });
        assert.equal(shipped.status, 0, shipped.stderr);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
