// With workers, the owner decides when a member in error is tried again. A single process clears
// the error flag lazily, when a request looks at the member after its retry interval; workers
// that each did so would each pay a failed connection for a member that is still down, on their
// own clocks. The owner instead clears it (BalancerState.retryCheck, forceRecovery) once the
// interval has passed since the last failure any worker reported, and the change reaches every
// worker like any other.
import type { StateChange } from '../balancer/balancer-state.js';
import type { RuntimeState } from '../balancer/runtime.js';

export class ErrorRecovery {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly onChange = (c: StateChange) => {
    // After the change is complete (the failure that set E may still be settling its counters).
    if (c.field === 'status.E' && c.to === true && c.member !== undefined) queueMicrotask(() => this.watch(c.balancer, c.member!));
  };
  private readonly onReload = () => this.scan();

  constructor(private readonly runtime: RuntimeState) {
    runtime.events.on('change', this.onChange);
    runtime.events.on('reload', this.onReload);
    this.scan();
  }

  /** Watches every member in error now (at start and after a reload). */
  private scan(): void {
    for (const b of this.runtime.balancers.values()) for (const m of b.members) if (m.flags.E) this.watch(b.name, m.id);
  }

  private watch(balancer: string, id: string): void {
    const key = `${balancer}\0${id}`;
    const b = this.runtime.balancers.get(balancer);
    const m = b?.members.find((x) => x.id === id);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    if (!b || !m || !m.flags.E) return;
    const now = this.runtime.clock();
    // Every member in error: forcerecovery tries them all again at once, as the next request would.
    b.forceRecovery(now);
    if (!m.flags.E) return;
    const wait = Math.max(1, m.errorTime + m.retryMs - now + 1);
    const t = setTimeout(() => {
      this.timers.delete(key);
      const bb = this.runtime.balancers.get(balancer);
      const mm = bb?.members.find((x) => x.id === id);
      if (!bb || !mm || !mm.flags.E) return;
      bb.retryCheck(mm, this.runtime.clock());
      // A later failure moved the error time on: wait again.
      if (mm.flags.E) this.watch(balancer, id);
    }, wait);
    t.unref();
    this.timers.set(key, t);
  }

  close(): void {
    this.runtime.events.off('change', this.onChange);
    this.runtime.events.off('reload', this.onReload);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
