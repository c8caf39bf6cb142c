// byrequests: Apache's weighted round robin on lbstatus. Factors 1,1,2 give c a b c c a b c.
import type { Scheduler } from './scheduler.js';

export const byRequests: Scheduler<{ total: number }> = {
  name: 'byrequests',
  begin: () => ({ total: 0 }),
  isBest(current, best, baton, ctx) {
    const f = current.effectiveFactor(ctx.now);
    current.lbstatus += f;
    baton.total += f;
    return !best || current.lbstatus > best.lbstatus;
  },
  finish(winner, baton) {
    winner.lbstatus -= baton.total;
  },
};
