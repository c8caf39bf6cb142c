// bybusyness: fewest requests in flight; ties go to the higher lbstatus (Apache's accounting).
import type { Scheduler } from './scheduler.js';

export const byBusyness: Scheduler<{ total: number }> = {
  name: 'bybusyness',
  begin: () => ({ total: 0 }),
  isBest(current, best, baton, ctx) {
    const f = current.effectiveFactor(ctx.now);
    current.lbstatus += f;
    baton.total += f;
    return !best || current.busy < best.busy || (current.busy === best.busy && current.lbstatus > best.lbstatus);
  },
  finish(winner, baton) {
    winner.lbstatus -= baton.total;
  },
};
