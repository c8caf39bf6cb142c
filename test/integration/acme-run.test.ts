// `stickylb run -c FILE` with a managed domain and a real ACME CA (pebble): the first certificate
// is served on the TLS listener within a minute of the start, with no SIGHUP (curl verifies it
// against pebble's root), and the store is next to the config.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, until } from '../helpers/http.js';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { freeTcpPort, startPebble, type Pebble } from '../helpers/pebble.js';

let pebble: Pebble;
let dir: string;
let port: number;
let tlsPort: number;
let proc: NodeProcess | undefined;

before(async () => {
  port = await freeTcpPort();
  tlsPort = await freeTcpPort();
  pebble = await startPebble({ httpPort: port });
  dir = mkdtempSync(join(tmpdir(), 'stickylb-acme-run-'));
  copyFileSync(pebble.apiCaFile, join(dir, 'pebble-api.pem'));
});

after(async () => {
  await proc?.stop('SIGKILL');
  await pebble?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('stickylb run: the first certificate is served without a reload [acme-no-reload]', async () => {
  const config = join(dir, 'stickylb.yaml');
  writeFileSync(
    config,
    [
      `listen: ["127.0.0.1:${port}", { host: 127.0.0.1, port: ${tlsPort}, tls: true }]`,
      'serverName: run.test',
      'serverStatus: {}',
      'errorLog: { level: info, format: text }',
      'acme:',
      '  domains: [run.test]',
      `  directory: ${pebble.directory}`,
      '  caCertificates: pebble-api.pem',
      '  contact: ops@run.test',
      '  agreeToTerms: true',
      '',
    ].join('\n'),
  );
  proc = startCli(['run', '-c', config]);
  // Starting from the TypeScript sources takes a while on a busy machine.
  await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:/, 60_000);
  const auto = async () => (await request(`http://127.0.0.1:${port}/server-status?auto`)).body;
  // Within a minute of listening, with no signal sent.
  await until(async () => /^ManagedCertificatesOK: 1$/m.test(await auto()), 'the certificate from pebble in service', 60_000).catch(async (e) => {
    throw new Error(`${e.message}\n${await auto()}\n${proc!.stdout}\n${proc!.stderr}`);
  });
  const status = await auto();
  assert.match(status, /^ManagedCertificate\[0\]Temporary: no$/m);
  // curl verifies the certificate on the TLS listener against the root pebble made at its start.
  const root = join(dir, 'pebble-root.pem');
  writeFileSync(root, await pebble.root());
  const https = execFileSync('curl', ['-sS', '--max-time', '10', '--resolve', `run.test:${tlsPort}:127.0.0.1`, '--cacert', root, `https://run.test:${tlsPort}/server-status?auto`], { encoding: 'utf8' });
  assert.match(https, /^ManagedCertificatesOK: 1$/m);
  // The store is next to the config file (MDStoreDir's default, "md").
  const cert = new X509Certificate(readFileSync(join(dir, 'md', 'domains', 'run.test', 'pubcert.pem')));
  assert.match(cert.issuer, /Pebble Intermediate CA/);
  assert.equal(statSync(join(dir, 'md', 'domains', 'run.test', 'privkey.pem')).mode & 0o777, 0o600);
  // The error log tells the story: temporary certificate, order, issued.
  const log = proc.stdout + proc.stderr;
  assert.match(log, /no certificate for run\.test yet: serving a temporary self-signed one/);
  assert.match(log, /certificate for run\.test issued and in service, valid until/);
  assert.equal(await proc.stop('SIGTERM'), 0);
});
