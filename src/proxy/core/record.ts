// The one typed record of a request. Every transport (the lean HTTP/1.1 engine, node:http, the
// WebSocket upgrade) fills it as the request goes; the failover core writes the balancing outcome
// into it; observers (access log, error log, metrics, server counters) read it once it is
// published, and nothing else: no request or response objects, no framework internals.
import type { MemberState } from '../../balancer/member-state.js';
import type { PickOutcome } from '../../balancer/pick.js';
import type { SiteModel } from '../../config/model.js';
import type { ProxyError } from '../errors.js';

export type StickyOutcome = 'sticky' | 'new' | 'route-changed' | 'refused-nofailover' | 'no-member';

/** What handled the request. */
export type RecordKind = 'proxy' | 'static' | 'handler' | 'error' | 'websocket';

/** The way the request reached us. */
export type Transport = 'h1-lean' | 'h1-node' | 'ws' | 'h2';

/** What the TLS connection of a request negotiated (Apache's SSL_PROTOCOL, SSL_CIPHER). */
export interface RecordTls {
  /** `TLSv1.3`, `TLSv1.2`. */
  protocol: string;
  /** OpenSSL's name of the cipher. */
  cipher: string;
  /** The server name the client asked for (SNI). */
  serverName?: string;
}

/** Header name/value pairs, flat (`[name, value, name, value, …]`), or something that makes them. */
export type PairSource = readonly string[] | { pairs(): readonly string[] };

export type HeaderObject = Record<string, string | string[]>;

/** Headers Node keeps once (the first value wins), as IncomingMessage does. */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Node's header object (lower-case names, repeated fields joined) from flat name/value pairs. */
export function headerObject(raw: readonly string[]): HeaderObject {
  const out: HeaderObject = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    const v = raw[i + 1];
    const prev = out[k];
    if (prev === undefined) out[k] = k === 'set-cookie' ? [v] : v;
    else if (k === 'set-cookie') (prev as string[]).push(v);
    else if (SINGLE.has(k)) continue;
    else out[k] = `${prev as string}${k === 'cookie' ? '; ' : ', '}${v}`;
  }
  return out;
}

function pairsOf(s: PairSource | undefined): readonly string[] {
  if (s === undefined) return [];
  return Array.isArray(s) ? (s as readonly string[]) : (s as { pairs(): readonly string[] }).pairs();
}

export class RequestRecord {
  /** process.hrtime.bigint() at arrival. */
  readonly start = process.hrtime.bigint();
  /** Wall-clock arrival time (ms since epoch). */
  readonly startMs = Date.now();
  /** Time from arrival until the answer was finished (or the tunnel set up), in µs. */
  durationUs = 0;
  kind: RecordKind = 'proxy';
  transport: Transport;

  // ---- The request ----
  method = '-';
  /** The request target as received (path and query). */
  target = '-';
  /** `1.1`, `1.0`, `2`. */
  httpVersion = '1.1';
  /** `https` when the request came over TLS. */
  scheme: 'http' | 'https' = 'http';
  /** The TLS connection's parameters, for requests that came over TLS. */
  tls: RecordTls | undefined = undefined;
  /**
   * The real client's address (Apache's %a): the connection's, or the one its PROXY header gave,
   * or the one the declared proxies' client-address header gave (RemoteIPHeader).
   */
  clientAddress: string | undefined = undefined;
  clientPort: number | undefined = undefined;
  /** The address of the connection's other end (Apache's %{c}a): the PROXY header's, else the socket's. */
  peerAddress: string | undefined = undefined;
  /** The peer is a declared proxy of the site: its X-Forwarded-* headers are kept and extended. */
  viaProxy = false;
  localAddress: string | undefined = undefined;
  localPort: number | undefined = undefined;
  /** Request header fields as received (flat pairs). */
  requestPairs: PairSource | undefined = undefined;
  /** Framing fields a transport keeps apart from `requestPairs` (the lean engine does). */
  requestContentLength = -1;
  requestChunked = false;
  /** Bytes of the request head as received, blank line included. */
  headBytesIn = 0;
  /** Request body payload bytes received. */
  bodyBytesIn = 0;

  // ---- Routing and balancing (Apache's BALANCER_* variables) ----
  site: SiteModel | undefined = undefined;
  balancer: string | undefined = undefined;
  member: MemberState | undefined = undefined;
  /** Route of the member chosen (BALANCER_WORKER_ROUTE). */
  memberRoute: string | undefined = undefined;
  /** Route requested by the session id (BALANCER_SESSION_ROUTE). */
  sessionRoute: string | undefined = undefined;
  /** Cookie or URL parameter name used (BALANCER_SESSION_STICKY). */
  stickyName: string | undefined = undefined;
  routeChanged: boolean | undefined = undefined;
  outcome: StickyOutcome | undefined = undefined;
  /** Member failures on the way (`<member url>: <cause>`), for the error log. */
  readonly failures: string[] = [];

  // ---- The answer ----
  status: number | undefined = undefined;
  error: ProxyError | undefined = undefined;
  /** The user stickylb authenticated (Basic auth of a handler), for the access log's %u. */
  user: string | undefined = undefined;
  /** Response header fields as sent (flat pairs), framing fields aside. */
  responsePairs: PairSource | undefined = undefined;
  /** Bytes of the answer's head as sent. */
  headBytesOut = 0;
  /** Answer body payload bytes sent. */
  bodyBytesOut = 0;
  /** The connection stays open after the answer. */
  keepAlive = false;
  /** The answer was not sent completely (the client or the member went away). */
  aborted = false;

  private reqHeaders: HeaderObject | undefined = undefined;
  private resHeaders: HeaderObject | undefined = undefined;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** The request's header fields as an object (lower-case names), made when first asked for. */
  requestHeaders(): HeaderObject {
    if (this.reqHeaders === undefined) {
      let pairs = pairsOf(this.requestPairs);
      if (this.requestChunked || this.requestContentLength >= 0) {
        pairs = pairs.slice();
        if (this.requestChunked) (pairs as string[]).push('Transfer-Encoding', 'chunked');
        else (pairs as string[]).push('Content-Length', String(this.requestContentLength));
      }
      this.reqHeaders = headerObject(pairs);
    }
    return this.reqHeaders;
  }

  /** The answer's header fields as an object (lower-case names), made when first asked for. */
  responseHeaders(): HeaderObject {
    return (this.resHeaders ??= headerObject(pairsOf(this.responsePairs)));
  }

  /** Records the balancing outcome of a pick (Apache's BALANCER_* variables). */
  picked(out: PickOutcome): void {
    this.stickyName = out.sticky.name;
    this.sessionRoute = out.sticky.route;
    if (out.kind === 'member') {
      this.member = out.member;
      this.memberRoute = out.member.route;
      this.routeChanged = out.routeChanged;
      this.outcome = out.stickyHit ? 'sticky' : out.sticky.route ? 'route-changed' : 'new';
    } else {
      this.member = undefined;
      this.outcome = out.kind === 'refused-nofailover' ? 'refused-nofailover' : 'no-member';
    }
  }

  /** Stops the clock (called once, when the record is published). */
  finish(now = process.hrtime.bigint()): void {
    this.durationUs = Number((now - this.start) / 1000n);
  }
}

export type RecordObserver = (record: RequestRecord) => void;

/**
 * The one subscription to finished requests. Observers are called in order, synchronously; one
 * that throws is reported to `onError` and the others still run.
 */
export class RecordStream {
  private observers: RecordObserver[] = [];

  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  get active(): boolean {
    return this.observers.length > 0;
  }

  /** Adds an observer; returns the function that removes it. */
  subscribe(fn: RecordObserver): () => void {
    this.observers = [...this.observers, fn];
    return () => {
      this.observers = this.observers.filter((f) => f !== fn);
    };
  }

  publish(record: RequestRecord): void {
    record.finish();
    const list = this.observers;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i](record);
      } catch (e) {
        this.onError(e);
      }
    }
  }
}
