// Clients for HTTPS tests: an https request with a given CA and SNI name, a request on an HTTP/2
// session that collects the answer and its trailers, the certificate a server presents, and curl
// / nghttp / h2load run as real processes (never blocking the test's own event loop).
import https from 'node:https';
import http2 from 'node:http2';
import tls from 'node:tls';
import { execFile } from 'node:child_process';

export interface TlsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  trailers?: Record<string, string | string[] | undefined>;
}

/** One HTTPS/1.1 request to 127.0.0.1:`port`, with `servername` as SNI and Host. */
export function httpsRequest(
  port: number,
  path: string,
  o: { ca: string; servername?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: https.Agent } = { ca: '' },
): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const name = o.servername ?? 'a.test';
    const req = https.request(
      { host: '127.0.0.1', port, path, method: o.method ?? 'GET', servername: name, ca: o.ca, headers: { host: `${name}:${port}`, ...o.headers }, agent: o.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** An HTTP/2 session to 127.0.0.1:`port` over TLS (`ca` given) or h2c. */
export function h2Connect(port: number, o: { ca?: string; servername?: string } = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const name = o.servername ?? 'a.test';
    const s =
      o.ca !== undefined
        ? http2.connect(`https://${name}:${port}`, { ca: o.ca, servername: name, createConnection: () => tls.connect({ host: '127.0.0.1', port, servername: name, ca: o.ca, ALPNProtocols: ['h2'] }) })
        : http2.connect(`http://127.0.0.1:${port}`);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** A request on an HTTP/2 session; resolves with the whole answer (and its trailers). */
export function h2Request(s: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | Buffer): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = s.request(headers, { endStream: body === undefined });
    let status = 0;
    let head: TlsReply['headers'] = {};
    let trailers: TlsReply['trailers'];
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
      head = h as TlsReply['headers'];
    });
    req.on('trailers', (t) => {
      trailers = t as TlsReply['trailers'];
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, headers: head, body: Buffer.concat(chunks).toString(), trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

/** The certificate 127.0.0.1:`port` presents for `servername` (none: no SNI). */
export function presented(port: number, servername: string | undefined): Promise<{ cn: string; san: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: servername as string, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      resolve({ cn: String(c.subject?.CN ?? ''), san: c.subjectaltname ?? '', protocol: s.getProtocol() });
      s.end();
    });
    s.on('error', reject);
  });
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (curl, nghttp, h2load) without blocking the event loop. */
export function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** curl against 127.0.0.1:`port` as `name` (--resolve), trusting the test CA file. */
export function curl(port: number, name: string, caFile: string, args: string[]): Promise<ToolResult> {
  return run('curl', ['-sS', '--cacert', caFile, '--resolve', `${name}:${port}:127.0.0.1`, ...args]);
}
