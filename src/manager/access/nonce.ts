// Per-balancer nonces, as Apache's manager has: random for the life of the process, shown in the
// page's links and forms, and required by every change so another site cannot forge one.
import { randomUUID, timingSafeEqual } from 'node:crypto';

export class Nonces {
  private readonly byBalancer = new Map<string, string>();

  /** The balancer's nonce (made on first use; names are case-insensitive as balancer names). */
  of(balancer: string): string {
    const key = balancer.toLowerCase();
    let n = this.byBalancer.get(key);
    if (!n) {
      n = randomUUID();
      this.byBalancer.set(key, n);
    }
    return n;
  }

  /** Constant-time check of a nonce sent with a change. */
  matches(balancer: string, given: string | undefined): boolean {
    if (!given) return false;
    const want = Buffer.from(this.of(balancer));
    const got = Buffer.from(given);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
