// The stickylb command as a process: a reader that closes the pipe early, --help and --version,
// stray arguments, and `run` logging a successful reload at info with the level by name.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stickylb } from '../helpers/stickylb-cli.js';
import { until } from '../helpers/http.js';

const dir = mkdtempSync(join(tmpdir(), 'stickylb-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The command as installed runs it: bin.ts with this process's arguments. */
const BIN = ['--import', 'tsx', 'src/cli/bin.ts'];

function bin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `stickylb <args>` with its standard output closed before it writes anything. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // As `| head -0` does: the reader is gone before the first line.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('a closed pipe is no crash: schema, check, convert and --help end quietly', async () => {
  const conf = join(dir, 'site.conf');
  writeFileSync(conf, '<Proxy balancer://c>\n  BalancerMember http://127.0.0.1:8081 route=a\n</Proxy>\nProxyPass / balancer://c/ stickysession=_s\nProxyPassReverse / balancer://c/\n');
  for (const args of [['schema'], ['check', conf], ['convert', conf], ['--help'], ['check', '--help']]) {
    const r = await withClosedStdout(args);
    assert.equal(r.stderr, '', `${args.join(' ')}: nothing on standard error`);
    assert.equal(r.code, 0, args.join(' '));
  }
});

test('--help lists --version; --version prints the version; help COMMAND is COMMAND --help', async () => {
  const help = await stickylb(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /\n {2}--version, -v {6}print the version of stickylb\n/);
  const version = await stickylb(['--version']);
  assert.equal(version.stdout, `${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
  const helpCheck = await stickylb(['help', 'check']);
  assert.equal(helpCheck.code, 0);
  assert.match(helpCheck.stdout, /^usage: stickylb check /);
});

test('stray arguments are refused with status 2', async () => {
  for (const args of [['schema', 'extra'], ['--version', 'x'], ['help', 'nothing'], ['demo', 'x'], ['check', 'a.yaml', 'b.yaml']]) {
    const r = await bin(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /unexpected argument|give one config file/, args.join(' '));
  }
});

test('run: a successful reload is logged at info, the level by name in JSON lines', async () => {
  const file = join(dir, 'run.yaml');
  const log = join(dir, 'error.log');
  writeFileSync(file, `listen: ["127.0.0.1:0"]\nerrorLog: { path: ${log}, level: info }\nbalancers:\n  c:\n    members: [{ url: "http://127.0.0.1:1" }]\nproxyPass:\n  - { path: /, to: "balancer://c/" }\n`);
  const child = spawn(process.execPath, [...BIN, 'run', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (out += c));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  try {
    await until(() => out.includes('stickylb listening on'), 'the balancer to listen', 30_000);
    child.kill('SIGHUP');
    const reloaded = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []).find((l) => /configuration reloaded/.test(l.msg));
    await until(() => reloaded() !== undefined, 'the reload line', 30_000);
    assert.equal(reloaded().level, 'info');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('run: a config with errors is refused before anything starts, each error with file:line (YAML and Apache syntax)', async () => {
  const yaml = join(dir, 'bad.yaml');
  writeFileSync(yaml, `listen: ["127.0.0.1:0"]\nbalancers:\n  c:\n    lbmethod: fastest\n    members: [{ url: "http://127.0.0.1:1" }]\n`);
  const r = await bin(['run', yaml]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`${yaml.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: error: balancers\\.c\\.lbmethod`));
  assert.match(r.stderr, /not started, the configuration has errors/);
  assert.doesNotMatch(r.stdout, /listening/);

  const conf = join(dir, 'bad.conf');
  writeFileSync(conf, `Listen 127.0.0.1:0\n<Proxy "balancer://c">\n  BalancerMember "http://127.0.0.1:1" route=one\n  ProxySet lbmethod=fastest\n</Proxy>\n`);
  const a = await bin(['run', conf]);
  assert.equal(a.code, 1, a.stdout + a.stderr);
  assert.match(a.stderr, /bad\.conf:4: error: /);
  assert.match(a.stderr, /not started, the configuration has errors/);
});

test('run: SIGHUP and SIGTERM sent the moment the listening line appears are handled (a reload, a graceful stop), not the default action', async () => {
  const file = join(dir, 'signals.yaml');
  const log = join(dir, 'signals.log');
  writeFileSync(file, `listen: ["127.0.0.1:0"]\nerrorLog: { path: ${log}, level: info }\nbalancers:\n  c:\n    members: [{ url: "http://127.0.0.1:1" }]\nproxyPass:\n  - { path: /, to: "balancer://c/" }\n`);
  for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
    rmSync(log, { force: true });
    const child = spawn(process.execPath, [...BIN, 'run', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    // As a supervisor that acts on the line: the signal goes out in the same callback that sees it.
    child.stdout.on('data', (c: Buffer) => {
      out += c;
      if (!sent && out.includes('stickylb listening on')) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stderr.on('data', (c: Buffer) => (out += c));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, sig) => r({ code, signal: sig })));
    try {
      if (signal === 'SIGHUP') {
        await until(() => existsSync(log) && /configuration reloaded/.test(readFileSync(log, 'utf8')), 'the reload', 30_000);
        assert.equal(child.exitCode, null, 'still running after the reload');
      }
    } finally {
      if (signal === 'SIGHUP') child.kill('SIGTERM');
    }
    // A graceful stop ends with status 0; the default action would end it by the signal.
    assert.deepEqual(await exited, { code: 0, signal: null }, out);
  }
});
