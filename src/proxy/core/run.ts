// The failover loop of the transports that run whole attempts (node:http, HTTP/2 streams,
// WebSocket upgrades): pick, wait out the balancer timeout, attempt, and ask the core what a
// failed attempt means. The lean engine's exchange (h1/exchange.ts) runs the same steps from its
// own callbacks. Every decision is the failover core's; this loop only carries them out.
// driveFailover is the loop, written with callbacks (HTTP/2 streams use it so, without a promise
// per stream and attempt); runFailover is the same loop for transports that await their attempts.
import type { ProxyError } from '../errors.js';
import type { AttemptFailure } from './decide.js';
import type { Failover, Step } from './failover.js';

/** How an attempt ended: relayed (or abandoned by the client), or failed before an answer head. */
export type AttemptResult = { kind: 'done' } | { kind: 'failed'; failure: AttemptFailure };

export const DONE: AttemptResult = { kind: 'done' };

type AttemptStep = Step & { kind: 'attempt' };

export interface FailoverLoop {
  /** The client went away: nothing more is attempted. */
  gone(): boolean;
  /** Sends the request to the step's member and resolves when that attempt ended. */
  attempt(step: AttemptStep): Promise<AttemptResult>;
  /** Answers with the error the core gave up with. */
  fail(error: ProxyError): void;
  /** Whatever was sent of the body can be sent again. */
  replayable(): boolean;
}

/** The loop's steps as callbacks. */
export interface FailoverSteps {
  gone(): boolean;
  /** Sends the request to the step's member; `ended` is called once, when that attempt ended. */
  attempt(step: AttemptStep, ended: (r: AttemptResult) => void): void;
  fail(error: ProxyError): void;
  replayable(): boolean;
  /** The loop is over: the request was answered, failed, or the client went away. */
  over(): void;
  /** A bug of ours (something threw): the loop is over. */
  broke(e: unknown): void;
}

/** Runs the loop; `loop.over()` (or `loop.broke()`) is called once at its end. */
export function driveFailover(fo: Failover, loop: FailoverSteps): void {
  from(fo, loop, undefined);
}

/** The loop from `step` (undefined: pick one now). */
function from(fo: Failover, loop: FailoverSteps, first: Step | undefined): void {
  try {
    let step = first ?? fo.pick();
    for (;;) {
      if (loop.gone()) {
        fo.record.aborted = true;
        fo.done(0, 0);
        loop.over();
        return;
      }
      if (step.kind === 'wait') {
        setTimeout(from, step.ms, fo, loop, undefined);
        return;
      }
      if (step.kind === 'fail') {
        loop.fail(step.error);
        loop.over();
        return;
      }
      // An attempt that ends at once (before attempt() returns) goes on in this loop, not in a
      // nested one.
      let now: AttemptResult | undefined;
      let inside = true;
      loop.attempt(step, (r) => {
        if (inside) now = r;
        else if (r.kind === 'done') loop.over();
        // The next attempt starts once the failed one's own code has returned (a microtask).
        else queueMicrotask(() => failed(fo, loop, r.failure));
      });
      inside = false;
      if (now === undefined) return;
      if (now.kind === 'done') {
        loop.over();
        return;
      }
      step = fo.failed(now.failure, loop.replayable());
    }
  } catch (e) {
    loop.broke(e);
  }
}

function failed(fo: Failover, loop: FailoverSteps, failure: AttemptFailure): void {
  let next: Step;
  try {
    next = fo.failed(failure, loop.replayable());
  } catch (e) {
    loop.broke(e);
    return;
  }
  from(fo, loop, next);
}

/** Resolves when the request was answered, failed, or the client went away. */
export function runFailover(fo: Failover, loop: FailoverLoop): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    driveFailover(fo, {
      gone: () => loop.gone(),
      attempt: (step, done) => {
        loop.attempt(step).then(done, reject);
      },
      fail: (error) => loop.fail(error),
      replayable: () => loop.replayable(),
      over: resolve,
      broke: reject,
    });
  });
}
