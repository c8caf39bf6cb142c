// The edge checks of the lean engine's routing step (server-conn.ts calls these): Apache's head
// limits, the edge step of a request (the real client behind declared proxies, then the gate:
// rate limits and access sections), and the answer to a refused request. A site without
// declared proxies, access sections or rate limits costs one property check (site.edgeSteps).
import type { SiteModel } from '../../config/model.js';
import { AccessMemo, needsProxyUrl, type GateRequest, type Verdict } from '../../edge/gate.js';
import { proxyUrlOf } from '../../edge/node-gate.js';
import { compileRemoteIp, findProxy, plainIp, walkHeader, type CompiledRemoteIp, type HeaderWalk, type Matcher } from '../../edge/remote-ip.js';
import { plainAddress } from '../node-record.js';
import { RequestRecord } from '../core/record.js';
import { errorPage, reason } from '../errors.js';
import type { StickyServer } from '../server.js';
import { STRIDE, XFF, type HeadFields } from './head-fields.js';
import type { ParseReason } from './parse-error.js';
import type { RequestHead } from './request-head.js';

/** LimitRequestLine, LimitRequestFields, LimitRequestFieldSize; undefined when the head is within them. */
export function headLimitReason(head: RequestHead, server: StickyServer): ParseReason | undefined {
  const e = server.config.edge;
  const f = head.fields;
  // A head no longer than a field may be has no line too long (the usual case: one compare).
  if (f.count <= e.limitRequestFields && head.length <= e.limitRequestFieldSize && head.length <= e.limitRequestLine) return undefined;
  if (head.method.length + head.target.length + 10 > e.limitRequestLine) return 'request-line-too-long';
  if (e.limitRequestFields > 0 && f.count > e.limitRequestFields) return 'too-many-fields';
  const at = f.at;
  for (let i = 0; i < f.count; i++) if (at[i * STRIDE + 4] - at[i * STRIDE] > e.limitRequestFieldSize) return 'field-too-long';
  return undefined;
}

/** True when field `i`'s name is `lower` (a lower-case name), compared in place. */
function nameIs(f: HeadFields, i: number, lower: string): boolean {
  const start = f.at[i * STRIDE];
  if (f.at[i * STRIDE + 1] - start !== lower.length) return false;
  const t = f.text;
  for (let j = 0; j < lower.length; j++) {
    const a = t.charCodeAt(start + j);
    const b = lower.charCodeAt(j);
    if (a !== b && !(b >= 0x61 && b <= 0x7a && a === b - 0x20)) return false;
  }
  return true;
}

/** The values of the header `lower` (a lower-case name), joined with ", "; undefined when absent. */
export function fieldValue(f: HeadFields, lower: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < f.count; i++) {
    if (!nameIs(f, i, lower)) continue;
    const v = f.value(i);
    out = out === undefined ? v : `${out}, ${v}`;
  }
  return out;
}

/** The only field named `lower` (its index), -1 when there is none, -2 when there are several. */
function onlyField(f: HeadFields, lower: string): number {
  let found = -1;
  const xff = lower === 'x-forwarded-for';
  for (let i = 0; i < f.count; i++) {
    if (xff ? f.kinds[i] !== XFF : !nameIs(f, i, lower)) continue;
    if (found >= 0) return -2;
    found = i;
  }
  return found;
}

/** What the edge step keeps of one connection, and what it found for the request now routed. */
export class LeanEdgeState {
  /** The request's real client address (the peer's unless declared proxies say otherwise). */
  client: string;
  /** The peer is a declared proxy. */
  viaProxy = false;
  /** LimitRequestBody for the request (0: none). */
  bodyLimit = 0;
  /** The user the access rules let in. */
  user: string | undefined;
  /** The gate's answer for the request now being routed, awaited before; used once. */
  verdict: Verdict | undefined;
  /** The gate's request, filled in again for each request. */
  readonly gate: GateRequest;
  private localText: string | undefined;
  private localRead = false;
  /** The peer as mod_remoteip names it, and its declared-proxy entry under `hopOf`. */
  private readonly peerPlain: string;
  private hopOf: CompiledRemoteIp | undefined;
  private hop: Matcher | undefined;
  /** The last client-address header under `headerOf`, and the client it gave. */
  private headerOf: CompiledRemoteIp | undefined;
  private headerText: string | undefined;
  private headerClient = '';
  private readonly walk: HeaderWalk = { client: undefined, rest: 0 };

  constructor(
    /** The connection's other end: its PROXY header's address, else the socket's. */
    readonly peer: string,
    /** The connection came with a PROXY header that gave an address. */
    readonly proxied: boolean,
    private readonly socket: { readonly localAddress?: string },
  ) {
    this.client = peer;
    this.peerPlain = plainIp(peer);
    this.gate = { site: undefined!, path: '', proxyUrl: undefined, method: '', authorization: undefined, client: peer, local: undefined, memo: new AccessMemo() };
  }

  /** Our address on the connection (read once). */
  get local(): string | undefined {
    if (!this.localRead) {
      this.localText = plainAddress(this.socket.localAddress);
      this.localRead = true;
    }
    return this.localText;
  }

  /** The peer's declared-proxy entry under `c` (looked up once per connection). */
  hopUnder(c: CompiledRemoteIp): Matcher | undefined {
    if (this.hopOf !== c) {
      this.hop = findProxy(c, this.peerPlain);
      this.hopOf = c;
    }
    return this.hop;
  }

  /**
   * Sets `client` and `viaProxy` for a request on a site with declared proxies: mod_remoteip's
   * walk of the client-address header, done again only when the header differs from the last
   * request's on this connection (the walk's answer depends on the peer and the header alone).
   */
  findClient(c: CompiledRemoteIp, f: HeadFields): void {
    const hop = this.hopUnder(c);
    this.viaProxy = hop !== undefined;
    // On a connection that came with a PROXY header its address stands (mod_remoteip).
    if (this.proxied || c.header === undefined) return;
    if (hop === undefined) {
      this.client = this.peerPlain;
      return;
    }
    const i = onlyField(f, c.header);
    let text: string;
    let from: number;
    let to: number;
    if (i >= 0) {
      text = f.text;
      from = f.at[i * STRIDE + 2];
      to = f.at[i * STRIDE + 3];
      const last = this.headerText;
      if (this.headerOf === c && last !== undefined && last.length === to - from && text.startsWith(last, from)) {
        this.client = this.headerClient;
        return;
      }
    } else if (i === -1) {
      this.client = this.peerPlain;
      return;
    } else {
      text = fieldValue(f, c.header)!;
      from = 0;
      to = text.length;
    }
    walkHeader(c, hop, text, from, to, this.walk);
    this.client = this.walk.client ?? this.peerPlain;
    this.headerOf = c;
    this.headerText = from === 0 && to === text.length ? text : text.slice(from, to);
    this.headerClient = this.client;
  }
}

/** What server-conn.ts needs of the server for the edge step. */
type EdgeServer = Pick<StickyServer, 'edge' | 'runtime'>;

/**
 * The edge step of a request on its way to `balancer` (upstreamPath `upstreamPath`): its real
 * client, then the gate. Undefined when it may go on (client, body limit and user are then in
 * `st`), a refusal to answer, or a promise of the gate's verdict (give it to `st.verdict` and
 * route the request again). A site without declared proxies, access sections or rate limits
 * costs one property check.
 */
export function leanEdge(server: EdgeServer, st: LeanEdgeState, site: SiteModel, head: RequestHead, path: string, balancer: string, upstreamPath: string): (Verdict & { ok: false }) | Promise<Verdict> | undefined {
  st.client = st.peer;
  st.viaProxy = false;
  st.bodyLimit = site.limitRequestBody;
  st.user = undefined;
  if (!site.edgeSteps) return undefined;
  if (site.remoteIp !== undefined) st.findClient(compileRemoteIp(site.remoteIp), head.fields);
  if (site.access !== undefined || site.rateLimits !== undefined) {
    let v = st.verdict;
    st.verdict = undefined;
    if (v === undefined) {
      const g = st.gate;
      g.site = site;
      g.path = path;
      g.proxyUrl = site.access !== undefined && needsProxyUrl(site.access) ? proxyUrlOf(server, balancer, upstreamPath) : undefined;
      g.method = head.method;
      g.authorization = fieldValue(head.fields, 'authorization');
      g.client = st.client;
      g.local = st.local;
      const r = server.edge.check(g);
      if (r instanceof Promise) return r;
      v = r;
    }
    if (!v.ok) return v;
    st.bodyLimit = v.bodyLimit;
    st.user = v.user;
  }
  return undefined;
}

/** A refused request's answer, as one string; `keepAlive` lines from the engine when it stays open. */
export function refusalAnswer(v: Verdict & { ok: false }, keepAliveLines: string | undefined, dateLine: string): { text: string; pairs: string[] } {
  const body = errorPage(v.status, v.text);
  const pairs = ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-store'];
  for (const [k, val] of v.headers ?? []) pairs.push(k, val);
  let h = `HTTP/1.1 ${v.status} ${reason(v.status)}\r\n`;
  for (let i = 0; i < pairs.length; i += 2) h += `${pairs[i]}: ${pairs[i + 1]}\r\n`;
  h += dateLine;
  h += keepAliveLines ?? 'Connection: close\r\n';
  return { text: `${h}\r\n${body}`, pairs };
}

/** The record of a request the lean engine refused at its routing step. */
export function refusalRecord(head: RequestHead, site: SiteModel, client: { clientAddress: string; peerAddress: string; peerPort?: number; localAddress?: string; localPort?: number }, status: number, answer: { text: string; pairs: string[] }): RequestRecord {
  const r = new RequestRecord('h1-lean');
  r.method = head.method;
  r.target = head.target;
  r.httpVersion = head.minor === 1 ? '1.1' : '1.0';
  r.clientAddress = client.clientAddress;
  r.peerAddress = client.peerAddress;
  r.clientPort = client.peerPort;
  r.localAddress = client.localAddress;
  r.localPort = client.localPort;
  r.requestPairs = head.fields;
  r.requestContentLength = head.contentLength;
  r.requestChunked = head.chunked;
  r.headBytesIn = head.length;
  r.site = site;
  r.status = status;
  r.responsePairs = answer.pairs;
  const cut = answer.text.indexOf('\r\n\r\n') + 4;
  r.headBytesOut = cut;
  r.bodyBytesOut = answer.text.length - cut;
  return r;
}
