// The edge checks of the lean engine's routing step (server-conn.ts calls these): Apache's head
// limits, the real client behind declared proxies, the gate (rate limits, access sections) and
// LimitRequestBody against a Content-Length, and the answer to a refused request. A site without
// declared proxies, access sections or rate limits costs two property reads.
import type { SiteModel } from '../../config/model.js';
import type { Verdict } from '../../edge/gate.js';
import { compileRemoteIp, isDeclaredProxy, resolveClient } from '../../edge/remote-ip.js';
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
