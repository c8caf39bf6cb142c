// What happened to one request, for access logs, metrics and status pages (Apache's
// BALANCER_* environment variables live here).
import type { MemberState } from '../balancer/member-state.js';
import type { SiteModel } from '../config/model.js';
import type { ProxyError } from './errors.js';
import type { PickOutcome } from '../balancer/pick.js';

export type StickyOutcome = 'sticky' | 'new' | 'route-changed' | 'refused-nofailover' | 'no-member';

export interface RequestInfo {
  /** process.hrtime.bigint() at arrival. */
  start: bigint;
  /** Wall-clock arrival time (ms since epoch). */
  startMs: number;
  site?: SiteModel;
  kind: 'proxy' | 'static' | 'handler' | 'error' | 'websocket';
  balancer?: string;
  member?: MemberState;
  /** Route of the member chosen (BALANCER_WORKER_ROUTE). */
  memberRoute?: string;
  /** Route requested by the session id (BALANCER_SESSION_ROUTE). */
  sessionRoute?: string;
  /** Cookie or URL parameter name used (BALANCER_SESSION_STICKY). */
  stickyName?: string;
  routeChanged?: boolean;
  outcome?: StickyOutcome;
  status?: number;
  error?: ProxyError;
  /** The user stickylb authenticated (Basic auth of a handler), for the access log's %u. */
  user?: string;
  /** Connect failures on the way (member: cause), for the error log. */
  failures: string[];
}

export function newRequestInfo(): RequestInfo {
  return { start: process.hrtime.bigint(), startMs: Date.now(), kind: 'proxy', failures: [] };
}

/** Records the balancing outcome of a pick (Apache's BALANCER_* variables). */
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
