// heartbeat: Apache weighs members by the readiness they report through mod_heartmonitor. We have
// no heartbeat listener; members weigh by lbfactor at random, which is what heartbeat does when
// every member reports the same readiness.
import type { Scheduler } from './scheduler.js';

export function makeHeartbeat(random: () => number = Math.random): Scheduler<{ total: number; roll: number; acc: number }> {
  return {
    name: 'heartbeat',
    begin: () => ({ total: 0, roll: random(), acc: 0 }),
    // Reservoir-style weighted pick in one pass: keep `current` with probability f / total.
    isBest(current, best, baton, ctx) {
      const f = current.effectiveFactor(ctx.now);
      baton.total += f;
      if (!best) return true;
      return random() < f / baton.total;
    },
    finish() {},
  };
}
