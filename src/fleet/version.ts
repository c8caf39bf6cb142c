// Versions of shared changes: the time of the change in milliseconds, raised above every version
// this balancer has seen (a hybrid logical clock). So the later change wins ("last writer wins")
// while clocks agree, and a change never loses to one it was made after, even when this
// balancer's clock is behind. Pure.
export class VersionClock {
  private last = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The version of a change made now. */
  next(): number {
    const v = Math.max(Math.floor(this.now()), this.last + 1);
    this.last = v;
    return v;
  }

  /** A version seen in the fleet: later local changes get higher ones. */
  see(v: number): void {
    if (v > this.last) this.last = v;
  }
}
