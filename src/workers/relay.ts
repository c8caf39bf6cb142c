// Manager, server-status and metrics requests that reach a worker are answered by the owner, which
// holds the state they show and change. The worker routes the request as always (site, handler,
// everything the listener checks before a handler) and then, instead of running the handler,
// forwards it over the owner's private socket — one connection per request — with the client's
// connection details in a header that the owner trusts on that socket only (the socket lives in a
// folder only stickylb's user can enter). The answer goes back to the client as it comes, so
// streamed answers (a rolling restart followed live) stream.
import http from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { HandlerContext, HandlerFn } from '../proxy/server.js';
import { ProxyError } from '../proxy/errors.js';
import { sendError } from '../proxy/forward.js';

/** The header with the client's connection and the handler the worker routed to. */
export const RELAY_HEADER = 'x-stickylb-relay';

export interface RelayInfo {
  /** The site's position in the config's site list. */
  site: number;
  /** The handler's path (its location) within the site. */
  handler: string;
  path: string;
  query?: string;
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  /** The client came over TLS. */
  tls: boolean;
}

/** Hop-by-hop fields (RFC 9110 7.6.1) and our own, which are not relayed as they came. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', RELAY_HEADER]);

/** Header fields as pairs, without the hop-by-hop ones and HTTP/2's pseudo-headers (`:path`, …). */
function relayedHeaders(raw: string[], drop: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i][0] !== ':' && !drop.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  return out;
}

/** Pairs as a header object (repeated fields as lists), which an HTTP/2 answer takes. */
function headerObject(pairs: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const k = pairs[i].toLowerCase();
    const prev = out[k];
    out[k] = prev === undefined ? pairs[i + 1] : [...(Array.isArray(prev) ? prev : [prev]), pairs[i + 1]];
  }
  return out;
}

/** A worker's handler for every built-in handler: forwards to the owner at `socketPath`. */
export function relayHandler(socketPath: string): HandlerFn {
  return (req, res, ctx: HandlerContext) =>
    new Promise<void>((resolve) => {
      const sock = req.socket;
      const info: RelayInfo = {
        site: ctx.server.config.sites.indexOf(ctx.site),
        handler: ctx.handler.path,
        path: ctx.path,
        query: ctx.query,
        remoteAddress: sock.remoteAddress,
        remotePort: sock.remotePort,
        localAddress: sock.localAddress,
        localPort: sock.localPort,
        tls: (sock as TLSSocket).encrypted === true,
      };
      const headers = relayedHeaders(req.rawHeaders, HOP);
      // An HTTP/2 request names its host in :authority (its raw fields have no Host).
      const host = req.headers.host ?? req.headers[':authority'];
      if (typeof host === 'string' && !headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host')) headers.push('Host', host);
      // A body is relayed as it comes: with its length when the client gave one, else chunked.
      if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined) headers.push('Transfer-Encoding', 'chunked');
      headers.push('X-Stickylb-Relay', JSON.stringify(info));
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve();
      };
      const out = http.request({ socketPath, method: req.method, path: req.url, headers, agent: false }, (answer) => {
        const fields = relayedHeaders(answer.rawHeaders, HOP);
        // HTTP/2 has no reason phrase, and takes the fields as an object.
        if (req.httpVersionMajor >= 2) res.writeHead(answer.statusCode ?? 502, headerObject(fields));
        else res.writeHead(answer.statusCode ?? 502, answer.statusMessage, fields);
        answer.pipe(res);
        answer.on('end', finish);
        answer.on('error', () => {
          res.destroy();
          finish();
        });
      });
      out.on('error', (e) => {
        if (!res.headersSent) sendError(res, ctx.record, new ProxyError('ERR_INTERNAL', `the owner process did not answer: ${e.message}`));
        else res.destroy();
        finish();
      });
      // The client went away: the owner stops too.
      res.on('close', () => {
        if (!res.writableFinished) out.destroy();
        finish();
      });
      req.pipe(out);
    });
}
