// An HTTP/2 stream on its way in: its request read from the HTTP/2 fields, checked (size,
// malformed fields), routed on its own like any request (site by :authority, then the rules).
// Streams for a ProxyPass rule go to the HTTP/2 transport (stream.ts) with a request record of
// their own; everything else (handlers, static files, redirects, error pages) is served through
// node:http2's compatibility request and response by the server's ordinary request path.
import http2 from 'node:http2';
import type { SiteModel } from '../../config/model.js';
import { tlsInfo } from '../../tls/info.js';
import { RequestRecord, type RecordTls } from '../core/record.js';
import { plainAddress } from '../node-record.js';
import { proxiedAddressOf } from '../proxy-protocol.js';
import { normaliseTarget } from '../path.js';
import { matchRoute } from '../routes.js';
import type { StickyServer } from '../server.js';
import { selectSite } from '../site.js';
import { h2Request, type H2Request } from './fields.js';
import type { H2Connection } from './session.js';
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

/**
 * What every request record of a connection says about the connection: its addresses (the PROXY
 * header's where one came) and TLS parameters. Read once per connection: the socket's getters
 * and TLS calls cost more than copying the answers to each stream's record.
 */
interface ConnectionFacts {
  clientAddress: string | undefined;
  clientPort: number | undefined;
  peerAddress: string | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  encrypted: boolean;
  /** Shared by the connection's records (never changed once made). */
  tls: RecordTls | undefined;
}

function connectionFacts(conn: H2Connection): ConnectionFacts {
  const facts = conn.facts as ConnectionFacts | undefined;
  if (facts !== undefined) return facts;
  const sock = conn.socket;
  const proxied = proxiedAddressOf(sock);
  const t = tlsInfo(sock);
  const made: ConnectionFacts = {
    clientAddress: proxied?.address ?? plainAddress(sock.remoteAddress),
    clientPort: proxied?.port ?? sock.remotePort,
    peerAddress: proxied?.address ?? plainAddress(sock.remoteAddress),
    localAddress: plainAddress(sock.localAddress),
    localPort: sock.localPort,
    encrypted: t !== undefined,
    tls: t === undefined ? undefined : { protocol: t.protocol, cipher: t.cipher, serverName: t.serverName },
  };
  conn.facts = made;
  return made;
}

function fillConnection(r: RequestRecord, conn: H2Connection): void {
  const f = connectionFacts(conn);
  r.clientAddress = f.clientAddress;
  r.peerAddress = f.peerAddress;
  r.clientPort = f.clientPort;
  r.localAddress = f.localAddress;
  r.localPort = f.localPort;
  if (f.tls !== undefined) {
    r.scheme = 'https';
    r.tls = f.tls;
  }
}

/** A record for a stream that ends before any routing (malformed, too large). */
function refusedRecord(server: StickyServer, stream: http2.ServerHttp2Stream, conn: H2Connection, raw: readonly string[], status: number): void {
  const r = new RequestRecord('h2');
  r.kind = 'error';
  r.httpVersion = '2';
  fillConnection(r, conn);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i] === ':method') r.method = raw[i + 1];
    else if (raw[i] === ':path') r.target = raw[i + 1];
  }
  r.status = status;
  server.requestStarted();
  stream.on('close', () => {
    conn.streamClosed(stream);
    server.requestFinished(r);
  });
}

/**
 * Serves one stream. `serveCompat` is the server's ordinary request path, given node:http2's
 * compatibility objects. Every stream gets one 'close' listener, which also tells the connection
 * (its rapid-reset guard).
 */
export function dispatchStream(
  server: StickyServer,
  listener: StreamListener,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  rawHeaders: string[],
  conn: H2Connection,
  serveCompat: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): void {
  // Errors of a stream (a reset) are reported by 'close'; without a listener they would throw.
  stream.on('error', ignore);
  const parsed = h2Request(rawHeaders);
  if ('status' in parsed) {
    server.logger.info({ client: connectionFacts(conn).clientAddress, status: parsed.status }, `refused HTTP/2 request: ${parsed.text}`);
    refusedRecord(server, stream, conn, rawHeaders, parsed.status);
    answer(stream, parsed.status, parsed.status === 405 ? parsed.text : 'The request could not be parsed.');
    return;
  }
  if (parsed.size > listener.maxHeaderListSize) {
    refusedRecord(server, stream, conn, rawHeaders, 431);
    if (parsed.size > listener.maxHeaderListSize * BOMB_FACTOR) {
      server.logger.warn({ client: connectionFacts(conn).clientAddress }, `closed an HTTP/2 connection: a header list of ${parsed.size} bytes (the limit is ${listener.maxHeaderListSize})`);
      // A number as the reason: GOAWAY carries it (node:http2's destroy(code)).
      (conn.session.destroy as unknown as (code: number) => void).call(conn.session, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    answer(stream, 431, 'The request head is too large.');
    return;
  }
  const proxied = proxyTarget(server, listener, parsed, conn);
  if (proxied === undefined) {
    // Not a plain proxied request: node:http2's compatibility objects through the ordinary path.
    stream.on('close', () => conn.streamClosed(stream));
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
  fillConnection(record, conn);
  record.requestPairs = parsed.pairs;
  record.headBytesIn = parsed.size;
  record.site = site;
  server.requestStarted();
  const session = conn.session;
  proxyStream({
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
    // Once the stream closed, after the transport's own work there: the record is published.
    onClosed: () => {
      conn.streamClosed(stream);
      if (record.status === undefined) record.aborted = true;
      record.keepAlive = !record.aborted && !session.closed;
      server.requestFinished(record);
    },
    onBroke: (e: unknown) => {
      server.logger.error({ err: e }, 'internal error while handling a request');
      if (!stream.headersSent) answer(stream, 500, 'The request could not be handled.');
      else cutStream(stream);
    },
  });
}

function ignore(): void {}

/**
 * The site, balancer and upstream target of a request that goes straight to a ProxyPass rule;
 * undefined for anything the ordinary request path must answer (handlers, static files,
 * redirects, challenges, the redirect to HTTPS, bad paths, rules whose balancer is gone).
 */
function proxyTarget(server: StickyServer, listener: StreamListener, parsed: H2Request, conn: H2Connection) {
  if (parsed.target.charCodeAt(0) !== 0x2f) return undefined;
  let path: string;
  let query: string | undefined;
  try {
    ({ path, query } = normaliseTarget(parsed.target));
  } catch {
    return undefined;
  }
  const site = selectSite(listener.sites, parsed.host);
  if (site.redirectToHttps && !connectionFacts(conn).encrypted) return undefined;
  // Sites with access rules, rate limits or trusted proxies take the ordinary path, where the gate is.
  if (site.access !== undefined || site.rateLimits !== undefined || site.remoteIp !== undefined) return undefined;
  const m = matchRoute(site, path, server.challenges);
  if (m.kind !== 'proxy') return undefined;
  const balancer = server.runtime.balancers.get(m.balancer);
  if (!balancer) return undefined;
  return { site, balancer, upstreamTarget: query === undefined ? m.upstreamPath : `${m.upstreamPath}?${query}` };
}
