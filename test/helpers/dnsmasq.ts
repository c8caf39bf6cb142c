// A real DNS server for tests: Debian's dnsmasq on 127.0.0.1 and a free high port, answering only
// for names under `test.` from a hosts file (A/AAAA) and srv-host lines (SRV), with a short TTL.
// The hosts file is re-read on SIGHUP; SRV records need a restart (dnsmasq reads them at start).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dgram from 'node:dgram';
import net from 'node:net';
import { query } from '../../src/discovery/dns-client.js';

export interface SrvRecord {
  name: string;
  target: string;
  port: number;
}

export interface Dnsmasq {
  port: number;
  /** "127.0.0.1:PORT", for the resolver setting. */
  server: string;
  /** Replaces the hosts file ("ADDRESS NAME" lines) and makes dnsmasq read it again. */
  setHosts(lines: string[]): Promise<void>;
  /** Starts again with these SRV records (dnsmasq reads them only at start). */
  restart(srv: SrvRecord[]): Promise<void>;
  /** Stops answering (the DNS server is gone). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether `port` on 127.0.0.1 can be bound over TCP now. */
function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = net.createServer();
    t.once('error', () => resolve(false));
    t.listen(port, '127.0.0.1', () => t.close(() => resolve(true)));
  });
}

/** A port free over UDP and over TCP: dnsmasq listens on both, and exits when either is taken. */
async function freeDnsPort(): Promise<number> {
  for (;;) {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    if (await tcpFree(port)) return port;
  }
}

/** Starts dnsmasq; a start lost to a port taken in between (dnsmasq exits) is tried again on another port. */
export async function startDnsmasq(hosts: string[], srv: SrvRecord[], ttlSeconds = 1): Promise<Dnsmasq> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDnsmasqOnce(hosts, srv, ttlSeconds);
    } catch (e) {
      if (attempt === 3 || !(e instanceof PortLost)) throw e;
    }
  }
}

class PortLost extends Error {}

async function startDnsmasqOnce(hosts: string[], srv: SrvRecord[], ttlSeconds: number): Promise<Dnsmasq> {
  const port = await freeDnsPort();
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-dnsmasq-'));
  const hostsFile = join(dir, 'hosts');
  const confFile = join(dir, 'dnsmasq.conf');
  let child: ChildProcess | undefined;
  let srvNow = srv;
  writeFileSync(hostsFile, `${hosts.join('\n')}\n`);
  const server = `127.0.0.1:${port}`;
  const ready = async (test: () => Promise<boolean>) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await test().catch(() => false)) return;
      if (child && (child.exitCode !== null || child.signalCode !== null)) throw new PortLost(`dnsmasq exited (code ${child.exitCode}) before answering on port ${port}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('dnsmasq did not answer');
  };
  const launch = async () => {
    writeFileSync(confFile, srvNow.map((s) => `srv-host=${s.name},${s.target},${s.port}`).join('\n') + '\n');
    child = spawn(
      'dnsmasq',
      [
        '--no-daemon',
        '--keep-in-foreground',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${hostsFile}`,
        `--conf-file=${confFile}`,
        '--local=/test/',
        `--local-ttl=${ttlSeconds}`,
        '--cache-size=0',
        `--pid-file=${join(dir, 'pid')}`,
      ],
      { stdio: 'ignore' },
    );
    // Answers for a name under test. (NXDOMAIN is an answer too) once it listens.
    await ready(async () => (await query('ready.test', 'A', { servers: [server], timeoutMs: 200 })).rcode !== undefined);
  };
  const exited = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });
  try {
    await launch();
  } catch (e) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    server,
    async setHosts(lines) {
      writeFileSync(hostsFile, `${lines.join('\n')}\n`);
      child?.kill('SIGHUP');
      // dnsmasq logs the re-read; the test polls the answers it cares about.
    },
    async restart(next) {
      srvNow = next;
      child?.kill('SIGKILL');
      await exited();
      await launch();
    },
    async kill() {
      child?.kill('SIGKILL');
      await exited();
    },
    async stop() {
      child?.kill('SIGKILL');
      await exited();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
