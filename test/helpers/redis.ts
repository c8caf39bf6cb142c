// A real redis-server (Debian's) for tests: on a free port of 127.0.0.1, in a temp dir, nothing
// saved to disk. It can be killed, paused (SIGSTOP), resumed and started again empty on the same
// port, as a crash, a hung host or a failover would do to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadPort } from './backends.js';

export interface RedisServer {
  port: number;
  url: string;
  /** Sends one command (RESP) on a fresh connection and returns the raw reply text. */
  command(...args: string[]): Promise<string>;
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Starts again on the same port, with nothing in it. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on ${port}`));
        else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** `extra`: more redis-server options; `fixedPort`: a port of the test's choosing. */
export async function startRedis(extra: string[] = [], fixedPort?: number): Promise<RedisServer> {
  const port = fixedPort ?? (await deadPort());
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extra], {
      stdio: 'ignore',
    });
    await waitForPort(port, 10_000);
  };
  const exited = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    command(...args) {
      return new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        let out = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          out += d;
          // One reply is enough for the simple commands tests send.
          if (/\r\n$/.test(out)) {
            s.destroy();
            resolve(out);
          }
        });
        s.on('error', reject);
        s.write(resp(args));
      });
    },
    async kill() {
      child?.kill('SIGKILL');
      await exited();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async restart() {
      child?.kill('SIGKILL');
      await exited();
      await launch();
    },
    async stop() {
      child?.kill('SIGCONT');
      child?.kill('SIGKILL');
      await exited();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Forwarder {
  port: number;
  url: string;
  /** Sends new connections to `port` and drops the open ones (what a failover of a service address does). */
  switchTo(port: number): void;
  close(): Promise<void>;
}

/** One address in front of a Redis (as a Kubernetes Service or a floating IP is): TCP passed through. */
export async function redisAddress(targetPort: number): Promise<Forwarder> {
  let target = targetPort;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    switchTo(p) {
      target = p;
      for (const s of open) s.destroy();
      open.clear();
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
