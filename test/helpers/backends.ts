// Real backends on 127.0.0.1 port 0 that say which member answered, for integration tests.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Backend {
  name: string;
  route: string;
  port: number;
  url: string;
  server: http.Server;
  /** Requests seen, in order. */
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
  /** Stops listening and drops every connection (a dead node). */
  kill(): Promise<void>;
}

export interface BackendOptions {
  name: string;
  /** Route appended to session ids this backend issues. */
  route?: string;
  /** Custom handler; default echoes who answered as JSON and issues an `_s` session. */
  handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, b: Backend) => void;
  port?: number;
  /** Address to listen on (default 127.0.0.1; any 127.x.y.z works on Linux). */
  host?: string;
}

/** A backend that issues Seaside-style `_s=<id>.<route>` session ids and echoes requests. */
export async function startBackend(opts: BackendOptions): Promise<Backend> {
  const route = opts.route ?? opts.name;
  const seen: Backend['seen'] = [];
  const server = http.createServer();
  const backend = { name: opts.name, route, seen, server } as Backend;
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: body.toString() });
      if (opts.handler) return opts.handler(req, res, body, backend);
      const hasSession = /(^|[?&;])_s=/.test(req.url ?? '') || /(^|;\s*)_s=/.test(req.headers.cookie ?? '');
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Member': opts.name };
      let session: string | undefined;
      if (!hasSession) {
        session = `${randomBytes(8).toString('hex')}.${route}`;
        headers['Set-Cookie'] = `_s=${session}; Path=/`;
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify({ member: opts.name, route, method: req.method, url: req.url, session, body: body.toString(), headers: req.headers }));
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((r) => server.listen(opts.port ?? 0, host, () => r()));
  backend.port = (server.address() as AddressInfo).port;
  backend.url = `http://${host}:${backend.port}`;
  backend.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  backend.kill = backend.close;
  return backend;
}

/** A TCP port with nothing listening on it (connections are refused). */
export async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A TCP port that refuses connections for the life of the test process. `deadPort()`'s port was
 * listened on and closed again, so the next listen on port 0 (a backend, the balancer itself) may
 * be given it and answer where a dead member was meant to be. This port is the client end of an
 * open loopback connection instead: nothing listens on it, so connects are refused, and no listen
 * can bind it while that connection is open. Both ends are unref'd, so they do not keep the
 * process alive.
 */
export async function refusedPort(): Promise<number> {
  const s = net.createServer((conn) => conn.unref());
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const holder = net.connect((s.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    holder.once('connect', () => resolve());
    holder.once('error', reject);
  });
  holder.on('error', () => {});
  holder.unref();
  s.close();
  s.unref();
  return holder.localPort!;
}
