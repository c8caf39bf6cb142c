// What each balancer of a fleet says about itself every heartbeat, and what the manager makes of
// the heartbeats: the fleet's balancers, and the members they see differently. Pure.

/** How one balancer sees one member (short keys: every member of every balancer, every second). */
export interface MemberReport {
  /** Status flags (`NE`). */
  f: string;
  /** Route. */
  r: string;
  /** Requests in flight to it. */
  b: number;
  /** Last request of one of its sessions (the balancer's clock, ms; 0: none). */
  s: number;
  /** Why it is in error or failing its health check. */
  c?: string;
  /** This balancer's own health check verdict, and its detail. */
  h?: 'pass' | 'fail';
  hd?: string;
}

export interface Heartbeat {
  id: string;
  address: string;
  version: string;
  startedAt: number;
  workers: number;
  /** Every shared change up to this sequence number is applied. */
  seq: number;
  epoch: string;
  /** The balancer's clock when it beat (ms). */
  clock: number;
  /** Balancer name → member id → report. */
  members: Record<string, Record<string, MemberReport>>;
}

export function parseHeartbeat(json: string): Heartbeat | undefined {
  try {
    const h = JSON.parse(json) as Heartbeat;
    if (!h || typeof h !== 'object' || typeof h.id !== 'string' || typeof h.seq !== 'number' || typeof h.members !== 'object' || h.members === null) return undefined;
    return h;
  } catch {
    return undefined;
  }
}

const LETTER_WORDS: Record<string, string> = { I: 'Ignore errors', N: 'Drain', D: 'Disabled', H: 'Standby', R: 'Spare', S: 'Stopped', E: 'Error', C: 'Health check failed' };

/** A member's status in words from its flags: `Ok`, `Drain`, `Error`, … */
export function statusOf(flags: string): string {
  const words = [...flags].map((l) => LETTER_WORDS[l] ?? l);
  const usable = !/[DSEC]/.test(flags);
  if (usable && !flags.includes('N')) words.unshift('Ok');
  return words.join(', ');
}

export interface Disagreement {
  balancer: string;
  member: string;
  route: string;
  /** How each live balancer sees it. */
  views: { id: string; status: string; cause?: string }[];
}

/**
 * Members that the live balancers see differently (status flags), e.g. one cannot reach a member
 * the others can. Members only some balancers have (found by DNS on one of them first) count too.
 */
export function disagreements(beats: readonly Heartbeat[]): Disagreement[] {
  const out: Disagreement[] = [];
  const balancers = new Set(beats.flatMap((h) => Object.keys(h.members)));
  for (const b of [...balancers].sort()) {
    const members = new Set(beats.flatMap((h) => Object.keys(h.members[b] ?? {})));
    for (const id of [...members].sort()) {
      const views = beats.map((h) => {
        const r = h.members[b]?.[id];
        return r ? { id: h.id, status: statusOf(r.f), cause: r.c || undefined, route: r.r } : { id: h.id, status: 'not a member here', route: '' };
      });
      if (new Set(views.map((v) => v.status)).size <= 1) continue;
      out.push({ balancer: b, member: id, route: views.find((v) => v.route)?.route ?? '', views: views.map(({ id: vid, status, cause }) => ({ id: vid, status, ...(cause ? { cause } : {}) })) });
    }
  }
  return out;
}

/**
 * A member's activity on the other balancers, for a rolling restart's idle wait: requests in
 * flight there, how long each has seen no request of the member's sessions (the least of them),
 * and the balancers that have not applied the drain yet or have not reported since `sinceClock`.
 */
export function activityElsewhere(
  beats: readonly Heartbeat[],
  self: string,
  balancer: string,
  member: string,
): { busy: number; quietMs: number; waitingFor: string[] } {
  let busy = 0;
  let quietMs = Infinity;
  const waitingFor: string[] = [];
  for (const h of beats) {
    if (h.id === self) continue;
    const r = h.members[balancer]?.[member];
    if (!r) continue;
    if (!r.f.includes('N')) {
      waitingFor.push(h.id);
      continue;
    }
    busy += r.b;
    quietMs = Math.min(quietMs, r.s ? Math.max(0, h.clock - r.s) : Infinity);
  }
  return { busy, quietMs, waitingFor };
}
