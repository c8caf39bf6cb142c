// Automatic certificates against a real ACME CA (Debian's pebble), which fetches the HTTP-01
// answers from stickylb's plain-HTTP listener for real: a temporary certificate at first, then
// the CA's, swapped in without a restart; kept on disk (keys 0600, one account key reused);
// renewed in the background; served again after a restart with the CA gone. What the TLS
// listener serves is checked with curl against pebble's root (fetched from its management API).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { ACME } from '../../src/acme/plugin.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { freeTcpPort, startPebble, type Pebble } from '../helpers/pebble.js';

const NAMES = ['site.test', 'www.site.test'];

/** curl over HTTPS to `name` on 127.0.0.1:port, verifying against `caFile`. */
function curl(port: number, name: string, caFile: string, path = '/'): Promise<{ code: number; body: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', '--resolve', `${name}:${port}:127.0.0.1`, '--cacert', caFile, `https://${name}:${port}${path}`], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, body: stdout, stderr }),
    );
  });
}

/** The certificate a TLS handshake with SNI `name` gets (not verified). */
function peer(port: number, name: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: name, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c);
    });
    s.on('error', reject);
  });
}

describe('ACME with pebble', () => {
  let pebble: Pebble;
  let port: number;
  let backend: Backend;
  let storeDir: string;
  /** pebble's API certificate, kept when pebble is gone (a restart still reads the config's file). */
  let apiCa: string;
  /** pebble's root, fetched from its management API (it makes a new one at every start). */
  let rootFile: string;
  const apps: App[] = [];

  before(async () => {
    port = await freeTcpPort();
    pebble = await startPebble({ httpPort: port, validitySeconds: 3600 });
    backend = await startBackend({ name: 'app' });
    storeDir = mkdtempSync(join(tmpdir(), 'stickylb-md-'));
    apiCa = join(storeDir, 'pebble-api.pem');
    copyFileSync(pebble.apiCaFile, apiCa);
    rootFile = join(storeDir, 'pebble-root.pem');
    writeFileSync(rootFile, await pebble.root());
  });

  after(async () => {
    for (const a of apps) await a.close(500);
    await backend?.close();
    await pebble?.stop();
    rmSync(storeDir, { recursive: true, force: true });
  });

  function config(acme: Record<string, unknown> = {}, engine: 'lean' | 'node' = 'lean'): RawConfig {
    const first = ((acme.domains as (string | string[])[] | undefined) ?? [NAMES])[0];
    const names = typeof first === 'string' ? [first] : first;
    return {
      // Plain HTTP (where the CA checks) and TLS, for the site of the managed names.
      listen: [`127.0.0.1:${port}`, { host: '127.0.0.1', port: 0, tls: true }],
      serverName: names[0],
      serverAliases: names.slice(1),
      engine,
      // Every path goes to the app; the CA's requests must still be answered by stickylb.
      proxyPass: [{ path: '/', to: `${backend.url}/` }],
      serverStatus: {},
      manager: {},
      metrics: {},
      acme: {
        domains: [NAMES],
        directory: pebble.directory,
        caCertificates: apiCa,
        contact: 'ops@site.test',
        agreeToTerms: true,
        storeDir,
        renewWindow: '5s',
        ...acme,
      },
    };
  }

  async function start(raw: RawConfig): Promise<App> {
    const app = await App.start(validateConfig(raw), { logger: silentLogger() });
    apps.push(app);
    return app;
  }

  async function stop(app: App): Promise<void> {
    apps.splice(apps.indexOf(app), 1);
    await app.close(500);
  }

  /** The certificate the TLS listeners would serve for `name` now. */
  function served(app: App, name: string): { leaf: X509Certificate; source: string; pem: string } {
    const entry = app.server.certificates.lookup(name);
    assert.ok(entry, `a certificate for ${name}`);
    const c = entry.certificates[0];
    return { leaf: c.leaf, source: c.source, pem: c.certPem };
  }

  let firstSerial = '';

  test('issue: a temporary certificate at once, the CA\'s within the deadline, without a reload [acme-no-reload]', async () => {
    const app = await start(config());
    const renewer = app.get(ACME)!;
    // Before the CA answers: a self-signed stand-in for the domain's names.
    const tmp = served(app, 'www.site.test');
    assert.equal(tmp.leaf.issuer, tmp.leaf.subject);
    assert.match(tmp.leaf.subjectAltName ?? '', /DNS:site\.test, DNS:www\.site\.test/);

    await until(() => renewer.list()[0].state === 'valid' && !renewer.list()[0].temporary, 'the first certificate from pebble', 60_000).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(renewer.list())}\n${pebble.log.slice(-3000)}`);
    });
    const cert = served(app, 'site.test');
    assert.equal(cert.source, 'ACME');
    assert.match(cert.leaf.issuer, /Pebble Intermediate CA/);
    assert.match(cert.leaf.subjectAltName ?? '', /DNS:site\.test/);
    assert.match(cert.leaf.subjectAltName ?? '', /DNS:www\.site\.test/);
    // The chain goes up to the root pebble made at its start.
    const chain = cert.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((p) => new X509Certificate(p));
    const root = new X509Certificate(await pebble.root());
    assert.ok(chain[0].checkIssued(chain[1]) && chain[0].verify(chain[1].publicKey), 'leaf signed by the intermediate');
    assert.ok(chain[chain.length - 1].verify(root.publicKey), 'intermediate signed by pebble\'s root');
    firstSerial = cert.leaf.serialNumber;

    // Served on the TLS listener: curl verifies it against pebble's root, for both names, and the
    // request goes on to the app.
    const tlsPort = app.addresses[1].port;
    for (const name of NAMES) {
      const r = await curl(tlsPort, name, rootFile, '/hello');
      assert.equal(r.code, 0, `curl https://${name}: ${r.stderr}`);
      assert.equal(JSON.parse(r.body).url, '/hello');
      assert.equal((await peer(tlsPort, name)).serialNumber, firstSerial);
    }

    // The state on server-status (mod_md's lines), the manager's API and the metrics.
    const auto = (await request(`http://127.0.0.1:${port}/server-status?auto`)).body;
    assert.match(auto, /^ManagedCertificatesTotal: 1$/m);
    assert.match(auto, /^ManagedCertificatesOK: 1$/m);
    assert.match(auto, /^ManagedCertificate\[0\]Names: site\.test www\.site\.test$/m);
    assert.ok(auto.includes(`\nManagedCertificate[0]ValidUntil: ${new Date(cert.leaf.validTo).toISOString()}\n`), auto);
    const page = (await request(`http://127.0.0.1:${port}/server-status`)).body;
    assert.match(page, /<h2>Managed certificates<\/h2>[\s\S]*<td>site\.test<\/td><td>site\.test www\.site\.test<\/td><td>valid<\/td>/);
    const api = (await request(`http://127.0.0.1:${port}/balancer-manager/api/certificates`)).json();
    assert.equal(api.certificates[0].state, 'valid');
    assert.equal(api.certificates[0].notAfter, new Date(cert.leaf.validTo).toISOString());
    assert.match((await request(`http://127.0.0.1:${port}/balancer-manager`)).body, /<h2>Certificates \(ACME\)<\/h2>/);
    const metrics = (await request(`http://127.0.0.1:${port}/metrics`)).body;
    assert.match(metrics, new RegExp(`^stickylb_certificate_expiry_seconds\\{name="site\\.test",source="acme"\\} ${Date.parse(cert.leaf.validTo) / 1000}$`, 'm'));
    assert.match(metrics, /^stickylb_acme_order_failures\{name="site\.test"\} 0$/m);

    // Every challenge was answered by stickylb, none reached the app behind ProxyPass /.
    assert.deepEqual(backend.seen.filter((r) => r.url.startsWith('/.well-known/acme-challenge/')), []);
    // A token stickylb does not know is routed as any other path.
    const other = await request(`http://127.0.0.1:${port}/.well-known/acme-challenge/not-ours`);
    assert.equal(other.status, 200);
    assert.equal(other.json().member, 'app');

    // On disk: the key 0600, the certificate, the account key 0600.
    const key = join(storeDir, 'domains', 'site.test', 'privkey.pem');
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(new X509Certificate(readFileSync(join(storeDir, 'domains', 'site.test', 'pubcert.pem'))).serialNumber, firstSerial);
    const accounts = join(storeDir, 'accounts');
    const [ca] = readdirSync(accounts);
    assert.equal(statSync(join(accounts, ca, 'account.pem')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(accounts, ca, 'account.json'), 'utf8'), /"url": "https:\/\/127\.0\.0\.1:\d+\/my-account\//);
    await stop(app);
  });

  test('renew: inside the renew window a new certificate is ordered in the background with the same account and swapped in', async () => {
    const app = await start(config());
    const renewer = app.get(ACME)!;
    // A restart serves what is stored: the same certificate, no order.
    assert.equal(served(app, 'site.test').leaf.serialNumber, firstSerial);
    assert.equal(renewer.list()[0].state, 'valid');
    const accounts = join(storeDir, 'accounts');
    const [ca] = readdirSync(accounts);
    const accountKey = readFileSync(join(accounts, ca, 'account.pem'), 'utf8');
    const accountUrl = JSON.parse(readFileSync(join(accounts, ca, 'account.json'), 'utf8')).url;

    // A window longer than pebble's one-hour certificates: due now.
    await app.reload(validateConfig(config({ renewWindow: '2h', retryDelay: 1 })));
    await until(() => served(app, 'site.test').leaf.serialNumber !== firstSerial, 'a renewed certificate in service', 60_000).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(renewer.list())}`);
    });
    const renewed = served(app, 'www.site.test');
    assert.equal(renewed.source, 'ACME');
    assert.match(renewed.leaf.issuer, /Pebble Intermediate CA/);
    // New handshakes get the new certificate, on the listener that was already running.
    const tlsPort = app.addresses[1].port;
    await until(async () => (await peer(tlsPort, 'site.test')).serialNumber !== firstSerial, 'the renewed certificate on the TLS listener');
    assert.equal((await curl(tlsPort, 'www.site.test', rootFile)).code, 0);
    await app.reload(validateConfig(config()));
    await renewer.idle();
    assert.equal(readFileSync(join(accounts, ca, 'account.pem'), 'utf8'), accountKey, 'the account key is kept');
    assert.equal(JSON.parse(readFileSync(join(accounts, ca, 'account.json'), 'utf8')).url, accountUrl, 'the same account at the CA');
    firstSerial = served(app, 'site.test').leaf.serialNumber;
    assert.equal(new X509Certificate(readFileSync(join(storeDir, 'domains', 'site.test', 'pubcert.pem'))).serialNumber, firstSerial);
    await stop(app);
  });

  test('the node:http engine answers the challenge before ProxyPass / too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stickylb-md-'));
    try {
      const app = await start(config({ domains: ['node.test'], storeDir: dir }, 'node'));
      const renewer = app.get(ACME)!;
      await until(() => renewer.list()[0].state === 'valid', 'a certificate for node.test', 60_000).catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(renewer.list())}`);
      });
      assert.match(served(app, 'node.test').leaf.issuer, /Pebble Intermediate CA/);
      assert.deepEqual(backend.seen.filter((r) => r.url.startsWith('/.well-known/acme-challenge/') && !r.url.endsWith('/not-ours')), []);
      await stop(app);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with plain HTTP redirected to HTTPS, the CA\'s requests are still answered over plain HTTP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stickylb-md-'));
    try {
      const app = await start({ ...config({ domains: ['redirect.test'], storeDir: dir }), redirectToHttps: true });
      const renewer = app.get(ACME)!;
      const plain = await request(`http://127.0.0.1:${port}/page`, { headers: { Host: 'redirect.test' } });
      assert.equal(plain.status, 301);
      assert.equal(plain.headers.location, 'https://redirect.test/page');
      // pebble got its answer over plain HTTP: had it been sent to https://redirect.test/, it
      // would have found nothing on port 443.
      await until(() => renewer.list()[0].state === 'valid', 'a certificate for redirect.test', 60_000).catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(renewer.list())}`);
      });
      assert.equal((await curl(app.addresses[1].port, 'redirect.test', rootFile, '/over-tls')).code, 0);
      await stop(app);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a refused order backs off (terms not accepted): the temporary certificate serves, the next try waits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stickylb-md-'));
    try {
      const app = await start(config({ domains: ['terms.test'], storeDir: dir, agreeToTerms: false, retryDelay: '10m' }));
      const renewer = app.get(ACME)!;
      await until(() => renewer.list()[0].state === 'error', 'the refused order', 60_000);
      const c = renewer.list()[0];
      assert.equal(c.failures, 1);
      assert.match(c.lastError!, /terms of service .*MDCertificateAgreement accepted/);
      assert.ok(c.nextAttemptAt! >= Date.now() + 9 * 60_000, `next try about 10 minutes away, not ${c.nextAttemptAt! - Date.now()} ms`);
      assert.equal(c.temporary, true);
      assert.equal(served(app, 'terms.test').source, 'ACME (temporary)');
      // HTTPS answers with the temporary certificate: a certificate error that names the site,
      // not a failed handshake.
      const tlsPort = app.addresses[1].port;
      const presented = await peer(tlsPort, 'terms.test');
      assert.equal(presented.subject.CN, 'stickylb temporary certificate');
      assert.equal(presented.subjectaltname, 'DNS:terms.test');
      const r = await curl(tlsPort, 'terms.test', rootFile);
      assert.equal(r.code, 60, `curl refuses the self-signed certificate: ${r.stderr}`);
      await stop(app);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('restart with the CA gone: the stored certificate serves, nothing is ordered', async () => {
    await pebble.stop();
    const app = await start(config());
    const renewer = app.get(ACME)!;
    assert.equal(served(app, 'site.test').leaf.serialNumber, firstSerial);
    const tlsPort = app.addresses[1].port;
    const r = await curl(tlsPort, 'site.test', rootFile, '/after-restart');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.body).url, '/after-restart');
    assert.equal((await peer(tlsPort, 'www.site.test')).serialNumber, firstSerial);
    const c = renewer.list()[0];
    assert.equal(c.state, 'valid');
    assert.equal(c.temporary, false);
    assert.equal(c.failures, 0);
    // Nothing is due before the renew window: the next look is then.
    assert.ok(c.nextAttemptAt! > Date.now() + 3_000_000);
    await stop(app);
  });
});
