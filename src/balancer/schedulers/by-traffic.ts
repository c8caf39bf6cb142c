// bytraffic: lowest (bytes to + bytes from) / lbfactor; ties go to the first in config order.
import type { Scheduler } from './scheduler.js';

export const byTraffic: Scheduler<{ min: number }> = {
  name: 'bytraffic',
  begin: () => ({ min: Infinity }),
  isBest(current, best, baton, ctx) {
    const f = current.effectiveFactor(ctx.now);
    const traffic = current.bytesTo / f + current.bytesFrom / f;
    if (!best || traffic < baton.min) {
      baton.min = traffic;
      return true;
    }
    return false;
  },
  finish() {},
};
