// Helpers of the edge tests: requests from a chosen local address (127.0.0.2 is loopback but is
// neither 127.0.0.1 nor "localhost"), raw connections that send bytes in steps, and a real
// Apache httpd started on a config of the test's (to compare what it lets in with stickylb).
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './http.js';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function get(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; from?: string; user?: [string, string]; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Connection: 'close', ...(opts.headers ?? {}) };
    if (opts.user) headers.Authorization = `Basic ${Buffer.from(`${opts.user[0]}:${opts.user[1]}`).toString('base64')}`;
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, localAddress: opts.from, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A raw connection: write when told, collect everything, know when the server closed. */
export interface RawConn {
  socket: net.Socket;
  ready: Promise<void>;
  text(): string;
  closed(): boolean;
  write(b: string | Buffer): void;
}

export function rawConn(port: number, from?: string): RawConn {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  let text = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  socket.on('close', () => (closed = true));
  socket.on('error', () => (closed = true));
  return {
    socket,
    ready: new Promise((r) => socket.once('connect', () => r())),
    text: () => text,
    closed: () => closed,
    write: (b) => socket.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b),
  };
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export const APACHE = '/usr/sbin/apache2';
const MODULES = [
  'mpm_event',
  'authz_core',
  'authz_host',
  'authz_user',
  'authz_groupfile',
  'access_compat',
  'authn_core',
  'authn_file',
  'auth_basic',
  'status',
  'proxy',
  'proxy_http',
  'proxy_balancer',
  'slotmem_shm',
  'lbmethod_byrequests',
  'remoteip',
];

export interface RunningApache {
  port: number;
  close(): Promise<void>;
}

/** Starts Apache httpd (in the foreground, one process) on 127.0.0.1 with `body` as its config. */
export async function startApache(body: string): Promise<RunningApache> {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-httpd-'));
  const port = await freePort();
  const conf = [
    `ServerRoot ${dir}`,
    `PidFile ${dir}/httpd.pid`,
    `Mutex file:${dir} default`,
    `ErrorLog ${dir}/error.log`,
    'LogLevel warn',
    `Listen 127.0.0.1:${port}`,
    'User nobody',
    'Group nogroup',
    'ServerName localhost',
    ...MODULES.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`),
    body,
  ].join('\n');
  writeFileSync(join(dir, 'httpd.conf'), conf);
  const child: ChildProcess = spawn(APACHE, ['-X', '-f', join(dir, 'httpd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  await until(
    async () => {
      if (exited) throw new Error(`httpd exited: ${out}`);
      return new Promise<boolean>((r) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
    },
    'httpd to listen',
    10_000,
  );
  return {
    port,
    close: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        await until(() => exited, 'httpd to stop', 10_000).catch(() => child.kill('SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const haveApache = existsSync(APACHE);
