// The edge checks of the lean engine's routing step (server-conn.ts calls these): Apache's head
// limits, the edge step of a request (the real client behind declared proxies, then the gate:
// rate limits and access sections), and the answer to a refused request. A site without
// declared proxies, access sections or rate limits costs two property reads.
import type { SiteModel } from '../../config/model.js';
import type { Verdict } from '../../edge/gate.js';
import { proxyUrlOf } from '../../edge/node-gate.js';
import { compileRemoteIp, isDeclaredProxy, resolveClient } from '../../edge/remote-ip.js';
import { plainAddress } from '../node-record.js';
import { RequestRecord } from '../core/record.js';
import { errorPage, reason } from '../errors.js';
import type { StickyServer } from '../server.js';
import { STRIDE, type HeadFields } from './head-fields.js';
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

/** The values of the header `lower` (a lower-case name), joined with ", "; undefined when absent. */
export function fieldValue(f: HeadFields, lower: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < f.count; i++) {
    const start = f.at[i * STRIDE];
    if (f.at[i * STRIDE + 1] - start !== lower.length || f.text.slice(start, start + lower.length).toLowerCase() !== lower) continue;
    const v = f.value(i);
    out = out === undefined ? v : `${out}, ${v}`;
  }
  return out;
}

/** The client of a request on a site with declared proxies, and whether the peer is one. */
export function leanClient(site: SiteModel, head: RequestHead, peer: string, proxied: boolean): { client: string; viaProxy: boolean } {
  const c = compileRemoteIp(site.remoteIp!);
  if (proxied || c.header === undefined) return { client: peer, viaProxy: isDeclaredProxy(c, peer) };
  const r = resolveClient(c, peer, fieldValue(head.fields, c.header));
  return { client: r.client, viaProxy: r.viaProxy };
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
  private localText: string | undefined;
  private localRead = false;

  constructor(
    /** The connection's other end: its PROXY header's address, else the socket's. */
    readonly peer: string,
    /** The connection came with a PROXY header that gave an address. */
    readonly proxied: boolean,
    private readonly socket: { readonly localAddress?: string },
  ) {
    this.client = peer;
  }

  /** Our address on the connection (read once). */
  get local(): string | undefined {
    if (!this.localRead) {
      this.localText = plainAddress(this.socket.localAddress);
      this.localRead = true;
    }
    return this.localText;
  }
}

/** What server-conn.ts needs of the server for the edge step. */
type EdgeServer = Pick<StickyServer, 'edge' | 'runtime'>;

/**
 * The edge step of a request on its way to `balancer` (upstreamPath `upstreamPath`): its real
 * client, then the gate. Undefined when it may go on (client, body limit and user are then in
 * `st`), a refusal to answer, or a promise of the gate's verdict (give it to `st.verdict` and
 * route the request again).
 */
export function leanEdge(server: EdgeServer, st: LeanEdgeState, site: SiteModel, head: RequestHead, path: string, balancer: string, upstreamPath: string): (Verdict & { ok: false }) | Promise<Verdict> | undefined {
  st.client = st.peer;
  st.viaProxy = false;
  st.bodyLimit = site.limitRequestBody;
  st.user = undefined;
  if (site.remoteIp !== undefined) {
    const c = leanClient(site, head, st.peer, st.proxied);
    st.client = c.client;
    st.viaProxy = c.viaProxy;
  }
  if (site.access !== undefined || site.rateLimits !== undefined) {
    let v = st.verdict;
    st.verdict = undefined;
    if (v === undefined) {
      const r = server.edge.check({
        site,
        path,
        proxyUrl: proxyUrlOf(server, balancer, upstreamPath),
        method: head.method,
        authorization: fieldValue(head.fields, 'authorization'),
        client: st.client,
        local: st.local,
      });
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
