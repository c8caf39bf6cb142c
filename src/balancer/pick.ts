// Choosing a member for a request: forced recovery, then the sticky route, then the scheduler
// walk over lbsets with spares and standbys. Pure apart from the state's own accounting; the
// nofailover decision is made here and nowhere else.
import type { BalancerState } from './balancer-state.js';
import type { MemberState } from './member-state.js';
import { findRoute, type StickyLookup } from './sticky/route-id.js';
import type { Scheduler } from './schedulers/scheduler.js';

export type PickOutcome =
  | { kind: 'member'; member: MemberState; sticky: StickyLookup; stickyHit: boolean; routeChanged: boolean }
  /** The session's member is known but unusable and nofailover is On: 503. */
  | { kind: 'refused-nofailover'; sticky: StickyLookup }
  /** No usable member at all: 503. */
  | { kind: 'none'; sticky: StickyLookup };

export interface PickRequest {
  /** Request target as received (path and query). */
  target: string;
  cookie?: string;
  /**
   * The caller will wait and ask again when no member is usable (the balancer timeout), so an
   * empty pick is no refusal yet: only the request's last pick counts in `refused`.
   */
  waiting?: boolean;
}

/** Apache's find_route_worker: non-standby members first, then standbys; redirect when unusable. */
export function findRouteMember(state: BalancerState, route: string, now: number, depth = 0): MemberState | undefined {
  for (let standby = 0; standby < 2; standby++) {
    for (const m of state.members) {
      if (!m.route || m.route !== route) continue;
      if (standby ? !m.isStandby() : m.isStandby()) continue;
      if (!m.isUsable()) state.retryCheck(m, now);
      if (m.isUsable()) return m;
      if (m.redirect && depth < state.members.length) {
        const r = findRouteMember(state, m.redirect, now, depth + 1);
        if (r) {
          if (!r.isUsable()) state.retryCheck(r, now);
          if (r.isUsable()) return r;
        }
      }
    }
  }
  return undefined;
}

/** Apache's ap_proxy_balancer_get_best_worker with a scheduler's isBest. */
export function bestMember(state: BalancerState, scheduler: Scheduler<any>, now: number, exclude?: Set<MemberState>): MemberState | undefined {
  const baton = scheduler.begin();
  const ctx = { now };
  let best: MemberState | undefined;
  let maxLbset = 0;
  for (let cur = 0; !best && cur <= maxLbset; cur++) {
    let unusable = 0;
    const spares: MemberState[] = [];
    const standbys: MemberState[] = [];
    for (const m of state.members) {
      if (m.lbset > maxLbset) maxLbset = m.lbset;
      if (m.lbset !== cur) continue;
      if (exclude?.has(m)) {
        unusable++;
        continue;
      }
      if (m.isDraining()) {
        if (!m.isSpare() && !m.isStandby()) unusable++;
        continue;
      }
      if (!m.isUsable()) state.retryCheck(m, now);
      if (m.isSpare()) {
        if (m.isUsable()) spares.push(m);
      } else if (m.isStandby()) {
        if (m.isUsable()) standbys.push(m);
      } else if (m.isUsable()) {
        if (scheduler.isBest(m, best, baton, ctx)) best = m;
      } else {
        unusable++;
      }
    }
    for (let i = 0; i < spares.length && i < unusable; i++) {
      if (scheduler.isBest(spares[i], best, baton, ctx)) best = spares[i];
    }
    if (!best) {
      for (const m of standbys) if (scheduler.isBest(m, best, baton, ctx)) best = m;
    }
  }
  if (best) scheduler.finish(best, baton);
  return best;
}

/** Sticky hits take part in byrequests accounting as Apache does (every usable member). */
function stickyAccounting(state: BalancerState, winner: MemberState, now: number): void {
  let total = 0;
  for (const m of state.members) {
    if (m.isUsable()) {
      const f = m.effectiveFactor(now);
      m.lbstatus += f;
      total += f;
    }
  }
  winner.lbstatus -= total;
}

export function pickMember(state: BalancerState, req: PickRequest, now = state.clock(), exclude?: Set<MemberState>): PickOutcome {
  state.forceRecovery(now);
  const sticky: StickyLookup = state.sticky
    ? findRoute(req.target, req.cookie, state.sticky, state.model.separator, state.model.scolonpathdelim)
    : {};
  if (sticky.route) {
    const m = findRouteMember(state, sticky.route, now);
    if (m && !exclude?.has(m)) {
      stickyAccounting(state, m, now);
      m.lastStickyAt = now;
      state.elect(m);
      return { kind: 'member', member: m, sticky, stickyHit: true, routeChanged: !!m.route && m.route !== sticky.route };
    }
    if (state.nofailover && state.members.some((x) => x.route === sticky.route)) {
      state.countRefused();
      return { kind: 'refused-nofailover', sticky };
    }
  }
  const m = bestMember(state, state.scheduler, now, exclude);
  if (!m) {
    if (!req.waiting) state.countRefused();
    return { kind: 'none', sticky };
  }
  state.elect(m);
  // As Apache's BALANCER_ROUTE_CHANGED: only a balancer with a stickysession has routes to change;
  // without one, a route cookie or Route-Changed header would go out with every answer.
  const routeChanged = !!state.sticky && !!m.route && m.route !== sticky.route;
  return { kind: 'member', member: m, sticky, stickyHit: false, routeChanged };
}
