// An HTTP/2 stream on its way in: its request read from the HTTP/2 fields, checked (size,
// malformed fields), routed on its own like any request (site by :authority, then the rules).
// Streams for a ProxyPass rule go to the HTTP/2 transport (stream.ts) with a request record of
// their own; everything else (handlers, static files, redirects, error pages) is served through
// node:http2's compatibility request and response by the server's ordinary request path.
import http2 from 'node:http2';
import type { SiteModel } from '../../config/model.js';
import { recordTls } from '../../tls/info.js';
import { RequestRecord } from '../core/record.js';
import type { Socket } from 'node:net';
import { plainAddress } from '../node-record.js';
import { proxiedAddressOf } from '../proxy-protocol.js';
import { normaliseTarget } from '../path.js';
import { matchRoute } from '../routes.js';
import type { StickyServer } from '../server.js';
import { selectSite } from '../site.js';
import { h2Request, type H2Request } from './fields.js';
import { cutStream, proxyStream } from './stream.js';
import { errorPage } from '../errors.js';

/** A header list this many times over the limit is an attack (an HPACK bomb): the connection goes. */
const BOMB_FACTOR = 4;

/** What the dispatcher needs of the listener the stream came on. */
export interface StreamListener {
  sites: SiteModel[];
  /** Largest request header list (RFC 9113 size). */
  maxHeaderListSize: number;
}

function answer(stream: http2.ServerHttp2Stream, status: number, text: string): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  const body = errorPage(status, text);
  stream.respond({ ':status': status, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  stream.end(body);
}

/** A record for a stream that ends before any routing (malformed, too large). */
function refusedRecord(server: StickyServer, stream: http2.ServerHttp2Stream, session: http2.ServerHttp2Session, raw: readonly string[], status: number): void {
  const r = new RequestRecord('h2');
  r.kind = 'error';
  r.httpVersion = '2';
  fillConnection(r, session);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i] === ':method') r.method = raw[i + 1];
    else if (raw[i] === ':path') r.target = raw[i + 1];
  }
  r.status = status;
  server.requestStarted();
  stream.once('close', () => server.requestFinished(r));
}

function fillConnection(r: RequestRecord, session: http2.ServerHttp2Session): void {
  const sock = session.socket;
  const proxied = sock === undefined ? undefined : proxiedAddressOf(sock as unknown as Socket);
  r.clientAddress = r.peerAddress = proxied?.address ?? plainAddress(sock?.remoteAddress);
  r.clientPort = proxied?.port ?? sock?.remotePort;
  r.localAddress = plainAddress(sock?.localAddress);
  r.localPort = sock?.localPort;
  recordTls(r, sock as never);
}

/**
 * Serves one stream. `serveCompat` is the server's ordinary request path, given node:http2's
 * compatibility objects.
 */
export function dispatchStream(
  server: StickyServer,
  listener: StreamListener,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  rawHeaders: string[],
  session: http2.ServerHttp2Session,
  serveCompat: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): void {
  // Errors of a stream (a reset) are reported by 'close'; without a listener they would throw.
  stream.on('error', () => undefined);
  const parsed = h2Request(rawHeaders);
  if ('status' in parsed) {
    server.logger.info({ client: plainAddress(session.socket?.remoteAddress), status: parsed.status }, `refused HTTP/2 request: ${parsed.text}`);
    refusedRecord(server, stream, session, rawHeaders, parsed.status);
    answer(stream, parsed.status, parsed.status === 405 ? parsed.text : 'The request could not be parsed.');
    return;
  }
  if (parsed.size > listener.maxHeaderListSize) {
    refusedRecord(server, stream, session, rawHeaders, 431);
    if (parsed.size > listener.maxHeaderListSize * BOMB_FACTOR) {
      server.logger.warn({ client: plainAddress(session.socket?.remoteAddress) }, `closed an HTTP/2 connection: a header list of ${parsed.size} bytes (the limit is ${listener.maxHeaderListSize})`);
      // A number as the reason: GOAWAY carries it (node:http2's destroy(code)).
      (session.destroy as unknown as (code: number) => void).call(session, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    answer(stream, 431, 'The request head is too large.');
    return;
  }
  const proxied = proxyTarget(server, listener, parsed, session);
  if (proxied === undefined) {
    // Not a plain proxied request: node:http2's compatibility objects through the ordinary path.
    if (headers.host === undefined && parsed.host !== undefined) headers.host = parsed.host;
    const req = new http2.Http2ServerRequest(stream, headers, {}, rawHeaders);
    const res = new http2.Http2ServerResponse(stream);
    serveCompat(req, res);
    return;
  }
  const { site, balancer, upstreamTarget } = proxied;
  const record = new RequestRecord('h2');
  record.httpVersion = '2';
  record.method = parsed.method;
  record.target = parsed.target;
  fillConnection(record, session);
  record.requestPairs = parsed.pairs;
  record.headBytesIn = parsed.size;
  record.site = site;
  server.requestStarted();
  const done = proxyStream({
    stream,
    request: parsed,
    record,
    site,
    balancer,
    upstreamTarget,
    serverName: site.serverName ?? server.defaultServerName,
    replayBuffer: server.config.replayBuffer,
    pools: server.pools,
    leanPools: server.leanPools,
    maxHeaderSize: server.config.maxHeaderSize,
    bodyLimit: site.limitRequestBody,
    onBodyOverLimit: () => server.edge.counters.bodyTooLarge++,
  });
  // Published once the stream is closed: after the transport's own 'close' listener.
  let reported = false;
  stream.once('close', () => {
    if (reported) return;
    reported = true;
    if (record.status === undefined) record.aborted = true;
    record.keepAlive = !record.aborted && !session.closed;
    server.requestFinished(record);
  });
  done.catch((e: unknown) => {
    server.logger.error({ err: e }, 'internal error while handling a request');
    if (!stream.headersSent) answer(stream, 500, 'The request could not be handled.');
    else cutStream(stream);
  });
}

/**
 * The site, balancer and upstream target of a request that goes straight to a ProxyPass rule;
 * undefined for anything the ordinary request path must answer (handlers, static files,
 * redirects, challenges, the redirect to HTTPS, bad paths, rules whose balancer is gone).
 */
function proxyTarget(server: StickyServer, listener: StreamListener, parsed: H2Request, session: http2.ServerHttp2Session) {
  if (parsed.target.charCodeAt(0) !== 0x2f) return undefined;
  let path: string;
  let query: string | undefined;
  try {
    ({ path, query } = normaliseTarget(parsed.target));
  } catch {
    return undefined;
  }
  const site = selectSite(listener.sites, parsed.host);
  if (site.redirectToHttps && !(session.socket as { encrypted?: boolean } | undefined)?.encrypted) return undefined;
  // Sites with access rules, rate limits or trusted proxies take the ordinary path, where the gate is.
  if (site.access !== undefined || site.rateLimits !== undefined || site.remoteIp !== undefined) return undefined;
  const m = matchRoute(site, path, server.challenges);
  if (m.kind !== 'proxy') return undefined;
  const balancer = server.runtime.balancers.get(m.balancer);
  if (!balancer) return undefined;
  return { site, balancer, upstreamTarget: query === undefined ? m.upstreamPath : `${m.upstreamPath}?${query}` };
}
