// The one failover core of a proxied request, whatever the transport: pick (sticky first), wait
// out the balancer timeout, begin an attempt, take the attempt's failure and decide (pick again,
// retry on a fresh connection, give up), settle the answer (success, failonstatus, the answer's
// tally, the route cookie), and count the member's traffic. Transports (h1/exchange.ts,
// forward.ts, websocket.ts) only move bytes and report to it; it is the only code of the data
// path that changes member state, always through BalancerState's API.
//
// It is synchronous and has no timers: a transport that is told to wait calls pick() again when
// the time is up, so both callback-driven (lean) and async (node:http) transports can drive it.
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { MemberState } from '../../balancer/member-state.js';
import { pickMember, type PickOutcome } from '../../balancer/pick.js';
import { ProxyError } from '../errors.js';
import { failureEffect, nextStep, routeCookie, type AttemptFailure } from './decide.js';
import { issuedIds, type AnswerFields } from './issued-ids.js';
import { isSafeRoute, routeOf } from '../../balancer/sticky/route-id.js';
import type { RequestRecord } from './record.js';

export type MemberPick = PickOutcome & { kind: 'member' };

export type Step =
  /** Try this member; `fresh`: on a new connection, not a pooled one. */
  | { kind: 'attempt'; member: MemberState; pick: MemberPick; fresh: boolean }
  /** No member is usable yet; call pick() again after `ms` (Apache's balancer timeout). */
  | { kind: 'wait'; ms: number }
  /** Give up: answer with this error. */
  | { kind: 'fail'; error: ProxyError };

export interface FailoverRequest {
  /** The request target as received (for the session id in the URL). */
  target: string;
  /** The Cookie header(s), joined. */
  cookie: string | undefined;
}

export class Failover {
  /** The member of the current (or last) attempt. */
  member: MemberState | undefined = undefined;
  /** The pick of the current attempt (sticky outcome, route changed). */
  current: MemberPick | undefined = undefined;
  private repicks = 0;
  private readonly maxRepicks: number;
  private readonly deadline: number;
  private fresh = false;
  private busy = false;

  constructor(
    readonly balancer: BalancerState,
    readonly record: RequestRecord,
    private readonly request: FailoverRequest,
    now?: number,
  ) {
    record.balancer = balancer.name;
    this.maxRepicks = balancer.maxAttempts();
    // The clock is read only by balancers that wait for a member (most never do).
    this.deadline = balancer.timeoutMs > 0 ? (now ?? Date.now()) + balancer.timeoutMs : 0;
  }

  /** Picks a member (sticky first) and begins an attempt on it, or says to wait or to give up. */
  pick(now?: number): Step {
    const t = this.deadline > 0 ? (now ?? Date.now()) : 0;
    const canWait = t < this.deadline;
    const out = pickMember(this.balancer, { target: this.request.target, cookie: this.request.cookie, waiting: canWait });
    this.record.picked(out);
    if (out.kind !== 'member') {
      if (out.kind === 'none' && canWait) return { kind: 'wait', ms: Math.max(1, Math.min(100, this.deadline - t)) };
      const error = new ProxyError(out.kind === 'none' ? 'ERR_NO_MEMBER' : 'ERR_NOFAILOVER', out.sticky.route ? `route ${out.sticky.route}` : undefined);
      this.record.error = error;
      return { kind: 'fail', error };
    }
    this.current = out;
    this.member = out.member;
    this.begin(false);
    return { kind: 'attempt', member: out.member, pick: out, fresh: false };
  }

  /**
   * The attempt ended without an answer head. `replayable`: whatever was sent of the body can be
   * sent again. Marks the member as the failure requires and returns the next step.
   */
  failed(failure: AttemptFailure, replayable: boolean): Step {
    const m = this.member!;
    this.end();
    const effect = failureEffect(failure, m.url, m.model.timeoutMs, this.balancer.model.failontimeout);
    if (effect.markCause !== undefined) {
      this.balancer.markFailure(m, effect.markCause);
      if (failure.kind === 'connect-failed') this.record.failures.push(effect.error.detail!);
    }
    const step = nextStep({ failure, memberUsable: m.isUsable(), attemptsLeft: this.maxRepicks - this.repicks, replayable, fresh: this.fresh });
    if (step === 're-pick') {
      this.repicks++;
      return this.pick();
    }
    if (step === 'retry-fresh') {
      this.begin(true);
      return { kind: 'attempt', member: m, pick: this.current!, fresh: true };
    }
    this.record.error = effect.error;
    return { kind: 'fail', error: effect.error };
  }

  /**
   * The member answered with a final head (or 101 to an upgrade): it is alive (the failure streak
   * and back-off reset), a failonstatus code puts it in error all the same, and the answer is
   * counted. With `fields` (the answer's header fields as the transport keeps them), the session
   * ids it issues are checked against the member's route. Returns the route cookie (Set-Cookie
   * value) to add to the answer, if any.
   */
  answered(status: number, fields?: AnswerFields): string | undefined {
    const m = this.member!;
    const b = this.balancer;
    b.markSuccess(m);
    if (b.model.failonstatus.length !== 0 && b.model.failonstatus.includes(status)) b.markFailure(m, `status ${status}`);
    b.countAnswer(m, status);
    this.record.status = status;
    if (fields !== undefined && b.sticky !== undefined && m.route !== '' && b.model.routeCheck) this.verifyRoutes(fields, m);
    return routeCookie(b.model.routeCookie, this.current!.routeChanged, m.route, this.record.scheme === 'https');
  }

  /**
   * Route verification: each session id the answer issues must carry the member's route. An id
   * that carries the route of the request's own session is the app passing that session on (a
   * shared session store after failover), not a wrong route.
   */
  private verifyRoutes(fields: AnswerFields, m: MemberState): void {
    const b = this.balancer;
    const ids = issuedIds(fields, b.sticky!, b.model.scolonpathdelim);
    if (ids === undefined) return;
    for (const id of ids) {
      const r = routeOf(id.value, b.model.separator);
      const issued = r !== undefined && isSafeRoute(r) ? r : '';
      if (issued === m.route) b.routeVerified(m);
      else if (issued === '' || issued !== this.current!.sticky.route) b.routeMismatch(m, issued, id.where, id.name);
    }
  }

  /**
   * The exchange with the member is over (the answer was relayed, broke off, or the client went
   * away): counts the bytes that went each way and ends the attempt. Safe to call more than once.
   */
  done(bytesTo: number, bytesFrom: number): void {
    if (this.member !== undefined && (bytesTo !== 0 || bytesFrom !== 0)) this.balancer.countTraffic(this.member, bytesTo, bytesFrom);
    this.end();
  }

  /** Traffic of a long-lived exchange (a WebSocket tunnel), counted as it flows. */
  traffic(bytesTo: number, bytesFrom: number): void {
    if (this.member !== undefined) this.balancer.countTraffic(this.member, bytesTo, bytesFrom);
  }

  /** An attempt is in progress (counted in the member's busy). */
  get attempting(): boolean {
    return this.busy;
  }

  private begin(fresh: boolean): void {
    this.fresh = fresh;
    this.busy = true;
    this.balancer.acquire(this.member!);
  }

  private end(): void {
    if (this.busy) {
      this.busy = false;
      this.balancer.release(this.member!);
    }
  }
}
