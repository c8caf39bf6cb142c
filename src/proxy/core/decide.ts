// The failover rules as pure functions: what an attempt's failure means (the error to answer with,
// whether the member is to be marked) and what to do next (pick again, retry on a fresh
// connection, or give up). Apache's proxy_handler loop and Caddy's tryAgain, in one place.
import { ProxyError, isConnectError } from '../errors.js';

/** How one attempt on a member ended, when it ended without an answer head. */
export type AttemptFailure =
  /** No connection to the member (refused, unreachable, connect timeout); nothing was sent. */
  | { kind: 'connect-failed'; code: string }
  /** A pooled connection closed before any byte of an answer: it died while idle. */
  | { kind: 'stale' }
  /** The connection was lost after the request went out, before an answer head. */
  | { kind: 'reset'; detail: string }
  /** The member's answer head was malformed. */
  | { kind: 'bad-answer'; detail: string }
  /** No answer head within the member's timeout. */
  | { kind: 'timed-out' };

export interface FailureEffect {
  error: ProxyError;
  /** Cause to put the member in error with, when the failure counts against it. */
  markCause?: string;
}

/**
 * The error a failure answers with, and whether it puts the member in error: a connect failure
 * always does, a timeout only with failontimeout (Apache).
 */
export function failureEffect(f: AttemptFailure, memberUrl: string, timeoutMs: number, failontimeout: boolean): FailureEffect {
  switch (f.kind) {
    case 'connect-failed': {
      if (f.code === 'ERR_CONNECT_TIMEOUT') return { error: new ProxyError('ERR_CONNECT_TIMEOUT', `${memberUrl}: connect timeout`), markCause: `${memberUrl}: connect timeout` };
      if (isConnectError(f.code)) return { error: new ProxyError('ERR_CONNECT', `${memberUrl}: ${f.code}`), markCause: `${memberUrl}: ${f.code}` };
      // Not a network refusal (a bad address, a TLS setup error): our side, no mark.
      return { error: new ProxyError('ERR_UPSTREAM_BAD_RESPONSE', `${memberUrl}: ${f.code}`) };
    }
    case 'stale':
      return { error: new ProxyError('ERR_UPSTREAM_RESET', `${memberUrl}: pooled connection closed`) };
    case 'reset':
      return { error: new ProxyError('ERR_UPSTREAM_RESET', `${memberUrl}: ${f.detail}`) };
    case 'bad-answer':
      return { error: new ProxyError('ERR_UPSTREAM_BAD_RESPONSE', `${memberUrl}: ${f.detail}`) };
    case 'timed-out':
      return { error: new ProxyError('ERR_UPSTREAM_TIMEOUT', `${memberUrl}: no answer in ${timeoutMs} ms`), markCause: failontimeout ? 'timeout' : undefined };
  }
}

export interface NextStepInput {
  failure: AttemptFailure;
  /** The member is still usable after the failure was marked. */
  memberUsable: boolean;
  /** Attempts left after this one (Apache's maxattempts). */
  attemptsLeft: number;
  /** What was sent of the body can be sent again (all of it is still in the replay buffer). */
  replayable: boolean;
  /** This attempt already was the one retry on a fresh connection. */
  fresh: boolean;
}

export type NextStep = 're-pick' | 'retry-fresh' | 'fail';

/**
 * What to do after a failed attempt. A connect failure runs the whole pick again while the member
 * is now unusable and attempts remain (Apache); a pooled connection found dead is retried once on a
 * fresh connection to the same member. Nothing is retried whose body cannot be sent again.
 */
export function nextStep(i: NextStepInput): NextStep {
  if (!i.replayable) return 'fail';
  if (i.failure.kind === 'connect-failed') return isConnectError(i.failure.code) && !i.memberUsable && i.attemptsLeft > 0 ? 're-pick' : 'fail';
  if (i.failure.kind === 'stale') return i.fresh ? 'fail' : 'retry-fresh';
  return 'fail';
}

/**
 * The route cookie (Set-Cookie value) to add to an answer, when the balancer sets one; `Secure`
 * when the request came over HTTPS, so the browser never sends it over plain HTTP.
 */
export function routeCookie(cookieName: string | undefined, routeChanged: boolean, route: string, secure = false): string | undefined {
  return cookieName && routeChanged && route ? `${cookieName}=.${route}; Path=/; HttpOnly${secure ? '; Secure' : ''}` : undefined;
}
