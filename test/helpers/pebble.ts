// A real ACME CA for tests: Debian's pebble, with pebble-challtestsrv as its DNS server (every
// name resolves to 127.0.0.1), on free ports of 127.0.0.1. The CA validates HTTP-01 challenges for
// real, on `httpPort` (the test's plain-HTTP listener), and TLS-ALPN-01 ones on `tlsPort`. Its own HTTPS API uses a certificate made
// here with openssl; tests trust it for the ACME client only (acme.caCertificates).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** PEM file of the certificate of pebble's HTTPS API (trust it for the ACME client). */
  apiCaFile: string;
  /** Folder of pebble's files. */
  dir: string;
  /** The root certificate pebble issues under (it changes with every start of pebble). */
  root(): Promise<string>;
  /** pebble's log so far (for failure messages). */
  readonly log: string;
  /** Stops pebble and its DNS server. */
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Port pebble sends HTTP-01 validation requests to. */
  httpPort: number;
  /** Port pebble makes its TLS-ALPN-01 validation handshakes on (default: a free port nobody listens on). */
  tlsPort?: number;
  /** Lifetime of the certificates it issues, in seconds (pebble's default is about five years). */
  validitySeconds?: number;
  /** More environment (PEBBLE_*). */
  env?: Record<string, string>;
}

/** A TCP port nobody listens on (bound and released). */
export async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A port free for both TCP and UDP (a DNS server takes both). */
async function freeDnsPort(): Promise<number> {
  for (;;) {
    const port = await freeTcpPort();
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => udp.close(() => r()));
    if (ok) return port;
  }
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; out: () => string; wait: (re: RegExp, ms?: number) => Promise<void> } {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const add = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  child.on('exit', () => {
    for (const w of waiters) w();
  });
  return {
    child,
    out: () => out,
    wait: (re, ms = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${cmd} did not print ${re} within ${ms} ms:\n${out}`));
        }, ms);
        const check = () => {
          if (re.test(out)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`${cmd} exited before printing ${re}:\n${out}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-pebble-'));
  const cert = join(dir, 'api.crt');
  const key = join(dir, 'api.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', '/CN=pebble API', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  const dnsPort = await freeDnsPort();
  const dns = run('pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '',
    '-management', `127.0.0.1:${await freeTcpPort()}`, '-defaultIPv6', '',
  ]);
  await dns.wait(/Starting management server/);
  const apiPort = await freeTcpPort();
  const mgmtPort = await freeTcpPort();
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${apiPort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: cert,
      privateKey: key,
      httpPort: opts.httpPort,
      tlsPort: opts.tlsPort ?? (await freeTcpPort()),
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
    },
  };
  const configFile = join(dir, 'pebble.json');
  writeFileSync(configFile, JSON.stringify(config));
  // No random sleeps before validation; always validate afresh (no authorization reuse), so every
  // order makes the CA fetch the challenge from stickylb.
  const pebble = run('pebble', ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_AUTHZREUSE: '0', ...opts.env });
  try {
    await pebble.wait(/ACME directory available at/);
  } catch (e) {
    await stopChild(dns.child);
    throw e;
  }
  return {
    directory: `https://127.0.0.1:${apiPort}/dir`,
    apiCaFile: cert,
    dir,
    get log() {
      return pebble.out();
    },
    root: () =>
      new Promise<string>((resolve, reject) => {
        const req = https.get(`https://127.0.0.1:${mgmtPort}/roots/0`, { ca: readFileSync(cert) }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`pebble roots: ${res.statusCode}`))));
        });
        req.on('error', reject);
      }),
    async stop() {
      await stopChild(pebble.child);
      await stopChild(dns.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
