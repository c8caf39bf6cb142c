// The request head sent to a member and the balancing outcome recorded for logs: the same
// headers and outcome fields the node engine's forward.ts produces (Host, X-Forwarded-*,
// X-Stickylb-*, framing), as one string written with one socket write.
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { PickOutcome } from '../../balancer/pick.js';
import { NO_BODY_DEFAULT, balancerHeaders } from '../headers.js';
import { upstreamLines } from './lean-headers.js';
import type { RequestHead } from './request-head.js';

export interface UpstreamHeadOptions {
  head: RequestHead;
  balancer: BalancerState;
  out: PickOutcome & { kind: 'member' };
  /** Path and query after the member's base path. */
  upstreamTarget: string;
  clientIp: string;
  /** The other end is a declared proxy: its X-Forwarded-* are kept and extended. */
  viaProxy?: boolean;
  /** Add an RFC 7239 Forwarded header. */
  forwarded?: boolean;
  serverName: string;
  preserveHost: boolean;
  /** Ask the member to keep the connection open. */
  keepAlive: boolean;
}

/** The whole request head for the member, blank line included. */
export function upstreamHead(o: UpstreamHeadOptions): string {
  const { head, out } = o;
  const member = out.member;
  let s = `${head.method} ${member.basePath}${o.upstreamTarget} HTTP/1.1\r\n`;
  s += upstreamLines(head.fields, {
    clientIp: o.clientIp,
    viaProxy: o.viaProxy,
    forwarded: o.forwarded,
    host: head.host,
    upstreamHost: o.preserveHost && head.host ? head.host : member.hostHeader,
    serverName: o.serverName,
    proto: head.secure ? 'https' : 'http',
    extra: balancerHeaders(o.balancer, out),
  });
  if (head.chunked) s += 'Transfer-Encoding: chunked\r\n';
  else if (head.contentLength >= 0) s += `Content-Length: ${head.contentLength}\r\n`;
  else if (!NO_BODY_DEFAULT.has(head.method)) s += 'Content-Length: 0\r\n';
  s += o.keepAlive ? 'Connection: keep-alive\r\n\r\n' : 'Connection: close\r\n\r\n';
  return s;
}
