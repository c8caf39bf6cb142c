// The request head sent to a member and the balancing outcome recorded for logs: the same
// headers and outcome fields the node engine's forward.ts produces (Host, X-Forwarded-*,
// X-Stickylb-*, framing), as one string written with one socket write.
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { PickOutcome } from '../../balancer/pick.js';
import { memberHostHeader } from '../headers.js';
import { upstreamLines } from './lean-headers.js';
import type { RequestInfo } from '../request-info.js';
import type { RequestHead } from './request-head.js';

/** Methods whose requests carry no body unless they say so (Node's client adds no framing). */
const NO_BODY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

export function balancerHeaders(b: BalancerState, out: PickOutcome & { kind: 'member' }): [string, string][] | undefined {
  if (!b.model.balancerHeaders) return undefined;
  const h: [string, string][] = [
    ['X-Stickylb-Balancer', b.name],
    ['X-Stickylb-Member', out.member.url],
    ['X-Stickylb-Route', out.member.route],
  ];
  if (out.sticky.name) h.push(['X-Stickylb-Session-Sticky', out.sticky.name]);
  if (out.sticky.route) h.push(['X-Stickylb-Session-Route', out.sticky.route]);
  if (out.routeChanged) h.push(['X-Stickylb-Route-Changed', '1']);
  return h;
}

export function recordOutcome(info: RequestInfo, out: PickOutcome): void {
  info.stickyName = out.sticky.name;
  info.sessionRoute = out.sticky.route;
  if (out.kind === 'member') {
    info.member = out.member;
    info.memberRoute = out.member.route;
    info.routeChanged = out.routeChanged;
    info.outcome = out.stickyHit ? 'sticky' : out.sticky.route ? 'route-changed' : 'new';
  } else {
    info.member = undefined;
    info.outcome = out.kind === 'refused-nofailover' ? 'refused-nofailover' : 'no-member';
  }
}

export interface UpstreamHeadOptions {
  head: RequestHead;
  balancer: BalancerState;
  out: PickOutcome & { kind: 'member' };
  /** Path and query after the member's base path. */
  upstreamTarget: string;
  clientIp: string;
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
    host: head.host,
    upstreamHost: o.preserveHost && head.host ? head.host : memberHostHeader(member),
    serverName: o.serverName,
    proto: 'http',
    extra: balancerHeaders(o.balancer, out),
  });
  if (head.chunked) s += 'Transfer-Encoding: chunked\r\n';
  else if (head.contentLength >= 0) s += `Content-Length: ${head.contentLength}\r\n`;
  else if (!NO_BODY_DEFAULT.has(head.method)) s += 'Content-Length: 0\r\n';
  s += o.keepAlive ? 'Connection: keep-alive\r\n\r\n' : 'Connection: close\r\n\r\n';
  return s;
}
