// The failover loop of the transports that await each attempt (node:http, HTTP/2 streams,
// WebSocket upgrades): pick, wait out the balancer timeout, attempt, and ask the core what a
// failed attempt means. The lean engine's exchange (h1/exchange.ts) runs the same steps from
// callbacks. Every decision is the failover core's; this loop only carries them out.
import type { ProxyError } from '../errors.js';
import type { AttemptFailure } from './decide.js';
import type { Failover, Step } from './failover.js';

/** How an attempt ended: relayed (or abandoned by the client), or failed before an answer head. */
export type AttemptResult = { kind: 'done' } | { kind: 'failed'; failure: AttemptFailure };

export const DONE: AttemptResult = { kind: 'done' };

export interface FailoverLoop {
  /** The client went away: nothing more is attempted. */
  gone(): boolean;
  /** Sends the request to the step's member and resolves when that attempt ended. */
  attempt(step: Step & { kind: 'attempt' }): Promise<AttemptResult>;
  /** Answers with the error the core gave up with. */
  fail(error: ProxyError): void;
  /** Whatever was sent of the body can be sent again. */
  replayable(): boolean;
}

/** Resolves when the request was answered, failed, or the client went away. */
export async function runFailover(fo: Failover, loop: FailoverLoop): Promise<void> {
  let step = fo.pick();
  for (;;) {
    if (loop.gone()) {
      fo.record.aborted = true;
      fo.done(0, 0);
      return;
    }
    if (step.kind === 'wait') {
      const ms = step.ms;
      await new Promise((r) => setTimeout(r, ms));
      step = fo.pick();
      continue;
    }
    if (step.kind === 'fail') {
      loop.fail(step.error);
      return;
    }
    const result = await loop.attempt(step);
    if (result.kind === 'done') return;
    step = fo.failed(result.failure, loop.replayable());
  }
}
