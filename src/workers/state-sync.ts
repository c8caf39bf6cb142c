// Keeping a worker's copy of the runtime state equal to the owner's. The owner sends its whole
// state once (at a worker's start and after a reload) and then every change as its runtime
// announces it; a worker applies both through BalancerState's own API (setMember, setFlag,
// setBalancer, addMember, startRamp, resetLoad), so there is no second way to change state.
// Pure apart from those calls.
import type { StateChange } from '../balancer/balancer-state.js';
import type { RuntimeState } from '../balancer/runtime.js';
import { STATUS_LETTERS, type Lbmethod, type MemberModel, type StatusFlags, type StickyNames } from '../config/model.js';

/** A change as it travels: the runtime's event, the owner's time, and a new member's settings. */
export interface WireChange extends StateChange {
  /**
   * The owner's time of the change as the member's state has it (its slow start's begin, its error
   * time), else the owner's clock: a worker applies the change at that time, not at its own.
   */
  at: number;
  /** For `member` (a member added at run time): its settings. */
  model?: MemberModel;
}

export interface MemberSync {
  id: string;
  /** Settings of a member the config does not have (added at run time). */
  model?: MemberModel;
  lbfactor: number;
  lbset: number;
  route: string;
  redirect: string;
  flags: StatusFlags;
  /** Slow start began then (0: at full weight). */
  rampStart: number;
  errorCause: string;
  changedAtRuntime: string[];
}

export interface BalancerSync {
  name: string;
  lbmethod: Lbmethod;
  timeoutMs: number;
  maxattempts: number | undefined;
  nofailover: boolean;
  sticky: StickyNames | undefined;
  members: MemberSync[];
}

export interface SyncState {
  balancers: BalancerSync[];
}

/** Who applied a change taken from the owner's state as a whole. */
export const FROM_OWNER = 'owner';

/** The owner's state as the data path needs it (implicit balancers too: their members go into error). */
export function syncState(runtime: RuntimeState): SyncState {
  const balancers: BalancerSync[] = [];
  for (const b of runtime.balancers.values()) {
    const configured = new Set(b.model.members.map((m) => m.id));
    balancers.push({
      name: b.name,
      lbmethod: b.lbmethod,
      timeoutMs: b.timeoutMs,
      maxattempts: b.maxattempts,
      nofailover: b.nofailover,
      sticky: b.sticky,
      members: b.members.map((m) => ({
        id: m.id,
        model: configured.has(m.id) ? undefined : m.model,
        lbfactor: m.lbfactor,
        lbset: m.lbset,
        route: m.route,
        redirect: m.redirect,
        flags: { ...m.flags },
        rampStart: m.rampStart,
        errorCause: m.errorCause,
        changedAtRuntime: [...m.changedAtRuntime],
      })),
    });
  }
  return { balancers };
}

/**
 * Makes `runtime` say what `state` says, through the BalancerState API. Members and balancers
 * the state does not know are left alone (a worker's config is the owner's, so there are none).
 */
export function applySyncState(runtime: RuntimeState, state: SyncState): void {
  for (const s of state.balancers) {
    const b = runtime.balancers.get(s.name);
    if (!b) continue;
    b.setBalancer({ lbmethod: s.lbmethod, timeoutMs: s.timeoutMs, maxattempts: s.maxattempts ?? null, nofailover: s.nofailover, sticky: s.sticky }, FROM_OWNER);
    // Members added at run time that the owner no longer has.
    for (const m of [...b.members]) {
      if (!s.members.some((x) => x.id === m.id) && !b.model.members.some((x) => x.id === m.id)) b.removeMember(m, FROM_OWNER);
    }
    for (const ms of s.members) {
      let m = b.members.find((x) => x.id === ms.id);
      if (!m && ms.model) m = b.addMember(ms.model, FROM_OWNER);
      if (!m) continue;
      b.setMember(m, { lbfactor: ms.lbfactor, lbset: ms.lbset, route: ms.route, redirect: ms.redirect }, FROM_OWNER);
      // A member that becomes usable here starts its ramp when the owner's did (0: none).
      for (const l of STATUS_LETTERS) if (m.flags[l] !== ms.flags[l]) b.setFlag(m, l, ms.flags[l], FROM_OWNER, l === 'E' ? ms.errorCause : undefined, ms.rampStart);
      if (ms.rampStart > 0 && m.rampStart !== ms.rampStart) b.startRamp(m, FROM_OWNER, undefined, ms.rampStart);
      // What the manager set, so a reload keeps it in the worker as it does in the owner.
      m.changedAtRuntime.clear();
      for (const f of ms.changedAtRuntime) m.changedAtRuntime.add(f);
    }
  }
}

/** The owner's side: a runtime change as it travels to the workers. */
export function wireChange(runtime: RuntimeState, change: StateChange, now: number): WireChange {
  const m = change.member === undefined ? undefined : runtime.balancers.get(change.balancer)?.members.find((x) => x.id === change.member);
  let at = now;
  if (m && change.field === 'status.E' && change.to === true) at = m.errorTime;
  else if (m && (change.field === 'slowstart' || change.field.startsWith('status.')) && m.rampStart > 0) at = m.rampStart;
  const out: WireChange = { ...change, at };
  if (change.field === 'member' && m) out.model = m.model;
  return out;
}

const MEMBER_FIELDS = new Set(['lbfactor', 'lbset', 'route', 'redirect']);

/**
 * A worker's side: applies one change of the owner's through the same API call that made it
 * there. (Which settings the manager set is the owner's to track: a reload brings the whole state,
 * `changedAtRuntime` included.) Changes to members or balancers this runtime does not have are skipped (a reload is
 * under way; the state that comes with it settles them).
 */
export function applyChange(runtime: RuntimeState, c: WireChange): void {
  const b = runtime.balancers.get(c.balancer);
  if (!b) return;
  const m = c.member === undefined ? undefined : b.members.find((x) => x.id === c.member);
  const f = c.field;
  if (f === 'member') {
    // Added (in the manager, found by DNS) or removed again.
    if (c.to === undefined) {
      if (m) b.removeMember(m, c.by, c.cause);
    } else if (!m && c.model) b.addMember(c.model, c.by);
    return;
  }
  if (f === 'lbstatus') return b.resetLoad(c.by);
  if (f === 'lbmethod') return b.setBalancer({ lbmethod: c.to as Lbmethod }, c.by);
  if (f === 'timeout') return b.setBalancer({ timeoutMs: c.to as number }, c.by);
  if (f === 'maxattempts') return b.setBalancer({ maxattempts: (c.to as number | undefined) ?? null }, c.by);
  if (f === 'nofailover') return b.setBalancer({ nofailover: c.to as boolean }, c.by);
  if (f === 'stickysession') return b.setBalancer({ sticky: c.to as StickyNames | undefined }, c.by);
  if (!m) return;
  if (MEMBER_FIELDS.has(f)) return b.setMember(m, { [f]: c.to }, c.by);
  if (f.startsWith('status.')) return b.setFlag(m, f.slice(7) as (typeof STATUS_LETTERS)[number], c.to as boolean, c.by, c.cause, c.at);
  if (f === 'slowstart') return b.startRamp(m, c.by, c.cause, c.at);
}
