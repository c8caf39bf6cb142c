// Certificates through the TLS-ALPN-01 challenge (RFC 8737) against a real ACME CA: Debian's
// pebble makes its validation handshakes with acme-tls/1 on stickylb's TLS port (its tlsPort), and
// stickylb has no plain-HTTP listener at all, so HTTP-01 could not have been answered. Once with
// mod_md's directives (`MDCAChallenges tls-alpn-01`, `Protocols … acme-tls/1`) in one process, once
// with YAML's `acme.challenges` and 2 worker processes, which answer the CA in the owner's stead.
// curl verifies the certificate served afterwards against pebble's root.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { freeTcpPort, startPebble, type Pebble } from '../helpers/pebble.js';

let pebble: Pebble;
let dir: string;
let tlsPort: number;
let rootFile: string;
let proc: NodeProcess | undefined;

before(async () => {
  tlsPort = await freeTcpPort();
  // HTTP-01 requests would go to a port where nothing listens.
  pebble = await startPebble({ httpPort: await freeTcpPort(), tlsPort });
  dir = mkdtempSync(join(tmpdir(), 'stickylb-acme-alpn-'));
  copyFileSync(pebble.apiCaFile, join(dir, 'pebble-api.pem'));
  rootFile = join(dir, 'pebble-root.pem');
  writeFileSync(rootFile, await pebble.root());
});

after(async () => {
  await proc?.stop('SIGKILL');
  await pebble?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function curl(name: string, path = '/'): Promise<{ code: number; body: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', '--resolve', `${name}:${tlsPort}:127.0.0.1`, '--cacert', rootFile, `https://${name}:${tlsPort}${path}`], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, body: stdout, stderr }),
    );
  });
}

/** Runs stickylb until `name`'s certificate from pebble is in service; checks it with curl. */
async function issued(args: string[], name: string, env: Record<string, string> = {}): Promise<string> {
  proc = startCli(args, env);
  await proc.waitFor(/stickylb listening on https:\/\/127\.0\.0\.1:/, 60_000);
  await proc.waitFor(new RegExp(`certificate for ${name.replace(/\./g, '\\.')} issued and in service`), 90_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${proc!.stdout}\n${proc!.stderr}\n${pebble.log.slice(-3000)}`);
  });
  const r = await curl(name, '/server-status?auto');
  assert.equal(r.code, 0, `curl https://${name}: ${r.stderr}`);
  assert.match(r.body, /^ManagedCertificatesOK: 1$/m);
  const log = proc.stdout + proc.stderr;
  assert.equal(await proc.stop('SIGTERM', 20_000), 0);
  proc = undefined;
  return log;
}

test('mod_md: MDCAChallenges tls-alpn-01 with Protocols … acme-tls/1; the CA validates on the TLS port, the certificate is served', async () => {
  const conf = join(dir, 'apache.conf');
  writeFileSync(
    conf,
    [
      `Listen 127.0.0.1:${tlsPort} https`,
      `MDCertificateAuthority ${pebble.directory}`,
      'MDCertificateAgreement accepted',
      'MDContactEmail ops@alpn.test',
      `MDStoreDir ${join(dir, 'md-apache')}`,
      'MDCAChallenges tls-alpn-01',
      'MDomain alpn.test',
      'LogLevel info',
      `<VirtualHost 127.0.0.1:${tlsPort}>`,
      '  ServerName alpn.test',
      '  SSLEngine on',
      '  Protocols h2 http/1.1 acme-tls/1',
      '  <Location /server-status>',
      '    SetHandler server-status',
      '  </Location>',
      '</VirtualHost>',
      '',
    ].join('\n'),
  );
  // mod_md has no directive for the CA's own certificate: Node's extra CA file trusts pebble's API.
  const log = await issued(['run', '-c', conf], 'alpn.test', { NODE_EXTRA_CA_CERTS: join(dir, 'pebble-api.pem') });
  assert.match(log, /TLS-ALPN-01: answered the validation of alpn\.test with its challenge certificate/);
  assert.match(new X509Certificate(readFileSync(join(dir, 'md-apache', 'domains', 'alpn.test', 'pubcert.pem'))).issuer, /Pebble Intermediate CA/);
});

test('YAML acme.challenges [tls-alpn-01] with 2 worker processes: a worker answers the CA with the owner\'s challenge certificate', async () => {
  const config = join(dir, 'stickylb.yaml');
  writeFileSync(
    config,
    [
      'workers: 2',
      `listen: [{ host: 127.0.0.1, port: ${tlsPort}, tls: true }]`,
      'serverName: workers.test',
      'serverStatus: {}',
      'errorLog: { level: info, format: text }',
      'acme:',
      '  domains: [workers.test]',
      `  directory: ${pebble.directory}`,
      '  caCertificates: pebble-api.pem',
      '  contact: ops@workers.test',
      '  agreeToTerms: true',
      '  storeDir: md-yaml',
      '  challenges: [tls-alpn-01]',
      '',
    ].join('\n'),
  );
  const log = await issued(['run', '-c', config], 'workers.test');
  // The owner serves no listener when there are workers: a worker answered.
  assert.match(log, /TLS-ALPN-01: answered the validation of workers\.test/);
  assert.match(new X509Certificate(readFileSync(join(dir, 'md-yaml', 'domains', 'workers.test', 'pubcert.pem'))).issuer, /Pebble Intermediate CA/);
});
