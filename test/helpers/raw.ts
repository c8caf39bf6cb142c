// Raw TCP helpers for HTTP/1.1 framing tests: a client that writes bytes and collects the
// answer, and a member that records every byte it receives.
import net from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

export interface RawReply {
  text: string;
  /** Status of the first answer, 0 when none came. */
  status: number;
  /** The server closed the connection before `waitMs` passed. */
  closed: boolean;
}

/** Writes `data` on a fresh connection and collects what comes back until the server closes or `waitMs` passes. */
export function rawRequest(port: number, data: string | Buffer, waitMs = 3000): Promise<RawReply> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data));
    let text = '';
    s.setEncoding('latin1');
    const done = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      resolve({ text, status: m ? Number(m[1]) : 0, closed });
    };
    const timer = setTimeout(() => done(false), waitMs);
    s.on('data', (d: string) => (text += d));
    s.on('end', () => done(true));
    s.on('error', () => done(true));
  });
}

/** Status codes of the answers in a raw byte stream, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

export interface RecordingMember {
  url: string;
  port: number;
  /** Everything received, per connection, as latin1 text. */
  received: string[];
  connections: number;
  close(): Promise<void>;
}

/**
 * A member that records the bytes it receives and, for each `\r\n\r\n` it sees, calls `answer`
 * (default: a 200 with Content-Length). It does not parse bodies: use it where nothing must arrive.
 */
export async function recordingMember(answer?: (s: net.Socket, head: string) => void): Promise<RecordingMember> {
  const sockets = new Set<net.Socket>();
  const m: RecordingMember = { url: '', port: 0, received: [], connections: 0, close: async () => {} };
  const server = net.createServer((s) => {
    const idx = m.received.push('') - 1;
    m.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let pending = '';
    s.on('data', (d) => {
      const t = d.toString('latin1');
      m.received[idx] += t;
      pending += t;
      for (let i = pending.indexOf('\r\n\r\n'); i >= 0; i = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, i + 4);
        pending = pending.slice(i + 4);
        if (answer) answer(s, head);
        else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  m.port = (server.address() as AddressInfo).port;
  m.url = `http://127.0.0.1:${m.port}`;
  m.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return m;
}

/**
 * A port whose connects hang, as a member behind a firewall that drops packets: only 127.0.0.1 is
 * ours to use, so the hang is made on loopback. Linux completes handshakes into a listener's
 * accept queue without the process, which holds backlog + 1 connections; once it is full, the
 * kernel drops further SYNs (net.ipv4.tcp_abort_on_overflow is 0 by default, and SYN cookies only
 * help when the SYN queue, not the accept queue, overflows), and the client keeps resending its
 * SYN for about two minutes. A Node server cannot be kept from accepting (libuv accepts as soon as
 * it can), so a child process listens with backlog 1 and is stopped (SIGSTOP) before anything
 * connects; two connections then fill its queue. Each step is awaited, nothing is slept on.
 */
export async function hangingPort(): Promise<{ port: number; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', "const s=require('net').createServer().listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))"], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const port = await new Promise<number>((r) => child.stdout!.once('data', (d) => r(Number(String(d)))));
  child.kill('SIGSTOP');
  // The stop is delivered asynchronously: wait until /proc shows the process stopped (state T).
  const deadline = Date.now() + 5000;
  while (!/^\d+ \(.*\) T/.test(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))) {
    if (Date.now() > deadline) throw new Error('the listener process did not stop');
    await new Promise((r) => setImmediate(r));
  }
  const fill: net.Socket[] = [];
  await Promise.all(
    [0, 1].map(
      () =>
        new Promise<void>((resolve, reject) => {
          const f = net.connect(port, '127.0.0.1');
          fill.push(f);
          f.once('connect', () => resolve());
          f.once('error', reject);
        }),
    ),
  );
  for (const f of fill) f.on('error', () => {});
  return {
    port,
    close: async () => {
      for (const f of fill) f.destroy();
      child.kill('SIGKILL');
    },
  };
}
