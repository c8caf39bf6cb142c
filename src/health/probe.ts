// One health probe: a TCP connect, or an HTTP OPTIONS / HEAD / GET judged by an expression. Each
// probe uses its own connection (never the proxy's pool, so a check says something about the
// member and not about a reused socket) and ends on its own timeout or when its signal aborts.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { compileHealthExpr, DEFAULT_HEALTH_EXPR, type HealthExpr } from './expr.js';
import { formatMs } from './format-ms.js';

export type ProbeMethod = 'TCP' | 'OPTIONS' | 'HEAD' | 'GET';

export interface ProbeTarget {
  method: ProbeMethod;
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
  /** Request path (member path + hcuri), ignored for TCP. */
  path: string;
  /** What passes; defaults to 2xx and 3xx. Ignored for TCP. */
  expect?: HealthExpr;
}

export interface ProbeOptions {
  /** Ends the probe with a failure after this many ms (none: only the signal ends it). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Check the member's TLS certificate (off by default, like Apache's SSLProxyVerify none). */
  verifyTls?: boolean;
}

export interface ProbeResult {
  ok: boolean;
  /** HTTP status, when the member answered HTTP. */
  status?: number;
  /** What happened, in words: `status 200`, `connected`, `connection refused`, `timeout after 5s`. */
  detail: string;
  /** The start of the body (only read when the expression looks at it). */
  bodySnippet?: string;
  durationMs: number;
}

export type ProbeFn = (target: ProbeTarget, opts: ProbeOptions) => Promise<ProbeResult>;

/** Bodies are read up to this size; expressions see only this much. */
export const MAX_BODY_BYTES = 64 * 1024;
const SNIPPET_CHARS = 200;

const defaultExpect = compileHealthExpr();

/** Turns a socket error into the words the logs and the manager show. */
export function describeSocketError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EPIPE':
      return 'connection closed while sending';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'connect timed out';
    default:
      if (typeof e?.code === 'string' && e.code.startsWith('HPE_')) return `malformed answer (${e.code})`;
      if (e?.message === 'socket hang up') return 'connection closed without an answer';
      if (typeof e?.code === 'string' && /^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(e.code)) return `TLS error (${e.code})`;
      return e?.message || String(err);
  }
}

/** Runs one probe. Never rejects: every failure is a result with `ok: false`. */
export const probe: ProbeFn = (target, opts = {}) => {
  const started = performance.now();
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    let cleanup: () => void = () => {};
    const finish = (r: Omit<ProbeResult, 'durationMs'>) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      cleanup();
      resolve({ ...r, durationMs: Math.round(performance.now() - started) });
    };
    const onAbort = () => finish({ ok: false, detail: 'cancelled' });
    const timeoutMs = opts.timeoutMs;
    const timer = timeoutMs ? setTimeout(() => finish({ ok: false, detail: `timeout after ${formatMs(timeoutMs)}` }), timeoutMs) : undefined;
    timer?.unref();
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    if (target.method === 'TCP') {
      const socket = net.connect({ host: target.hostname, port: target.port });
      cleanup = () => socket.destroy();
      socket.once('connect', () => finish({ ok: true, detail: 'connected' }));
      socket.once('error', (err) => finish({ ok: false, detail: describeSocketError(err) }));
      return;
    }

    const expect = target.expect ?? defaultExpect;
    const lib = target.protocol === 'https:' ? https : http;
    const host = target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname;
    const req = lib.request({
      method: target.method,
      host: target.hostname,
      port: target.port,
      path: target.path || '/',
      agent: false,
      headers: { host: `${host}:${target.port}`, 'user-agent': 'stickylb-health-check', connection: 'close' },
      rejectUnauthorized: opts.verifyTls ?? false,
    });
    cleanup = () => req.destroy();
    req.once('error', (err) => finish({ ok: false, detail: describeSocketError(err) }));
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      const judge = (body: string) => {
        const ok = expect.test({ status, body });
        // With the default expression the status says it all; a custom one is named.
        const detail = ok || expect.source === DEFAULT_HEALTH_EXPR ? `status ${status}` : `status ${status}, expect not met: ${expect.source}`;
        finish({ ok, status, detail, bodySnippet: body ? body.slice(0, SNIPPET_CHARS) : undefined });
      };
      // The body is read only when the expression looks at it (and never for HEAD).
      if (!expect.usesBody || target.method === 'HEAD') {
        res.resume();
        judge('');
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        chunks.push(c);
        size += c.length;
        if (size >= MAX_BODY_BYTES) judge(Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8'));
      });
      res.once('end', () => judge(Buffer.concat(chunks).toString('utf8')));
      res.once('error', (err) => finish({ ok: false, status, detail: `body cut short: ${describeSocketError(err)}` }));
    });
    req.end();
  });
};
