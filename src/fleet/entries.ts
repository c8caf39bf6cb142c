// What a fleet shares, as entries: one per setting (a member's drain flag, a balancer's lbmethod,
// a member added in the manager, the slow start after a rolling restart), each with the version
// of its last change and the balancer that made it. Which local changes are shared, how an entry
// wins over another, and how an entry is applied through the runtime-state API. Pure apart from
// those API calls.
import type { BalancerState, StateChange } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import type { RuntimeState } from '../balancer/runtime.js';
import type { ConfigModel, Lbmethod, StatusLetter } from '../config/model.js';
import { newMemberModel } from '../manager/api/add-member.js';
import { balancerField } from '../manager/persist/persist.js';
import { memberField } from '../balancer/member-settings.js';

/** The value of a shared setting, with its version. */
export interface Entry {
  value: unknown;
  /**
   * Version: the time of the change in ms on the balancer that made it, raised above every
   * version that balancer had seen (see VersionClock). The higher version wins.
   */
  v: number;
  /** Id of the balancer that made the change; orders changes of equal version. */
  o: string;
  /** Who made it there: `manager` or `rolling`. */
  by: string;
}

/**
 * A shared setting. `member` is the member's identity (member-identity.ts): its id, or for a
 * member found by DNS under a stable name `dns:NAME:PORT`, so the setting follows the name to
 * another address and applies on every balancer, whatever address each one found it at.
 */
export type SharedKey =
  | { kind: 'balancer'; balancer: string; field: BalancerField }
  | { kind: 'member'; balancer: string; member: string; field: string }
  | { kind: 'added'; balancer: string; member: string }
  | { kind: 'ramp'; balancer: string; member: string };

export const BALANCER_FIELDS = ['lbmethod', 'timeout', 'maxattempts', 'nofailover', 'stickysession'] as const;
export type BalancerField = (typeof BALANCER_FIELDS)[number];
const MEMBER_FIELDS = ['lbfactor', 'lbset', 'route', 'redirect'];
/**
 * Status flags the fleet shares: settings. E (error) and C (health check failed) are what one
 * balancer sees of a member from where it stands, so they stay its own (see fleet.health).
 */
export const SHARED_LETTERS: readonly StatusLetter[] = ['I', 'N', 'D', 'H', 'R', 'S'];

/** The Redis hash field of a key (JSON, so names and URLs need no escaping). */
export function encodeKey(k: SharedKey): string {
  switch (k.kind) {
    case 'balancer':
      return JSON.stringify(['b', k.balancer, k.field]);
    case 'member':
      return JSON.stringify(['m', k.balancer, k.member, k.field]);
    case 'added':
      return JSON.stringify(['a', k.balancer, k.member]);
    case 'ramp':
      return JSON.stringify(['r', k.balancer, k.member]);
  }
}

export function decodeKey(field: string): SharedKey | undefined {
  let a: unknown;
  try {
    a = JSON.parse(field);
  } catch {
    return undefined;
  }
  if (!Array.isArray(a) || !a.every((x) => typeof x === 'string')) return undefined;
  const [kind, balancer, x, y] = a as string[];
  if (kind === 'b' && a.length === 3 && (BALANCER_FIELDS as readonly string[]).includes(x)) return { kind: 'balancer', balancer, field: x as BalancerField };
  if (kind === 'm' && a.length === 4 && isMemberField(y)) return { kind: 'member', balancer, member: x, field: y };
  if (kind === 'a' && a.length === 3) return { kind: 'added', balancer, member: x };
  if (kind === 'r' && a.length === 3) return { kind: 'ramp', balancer, member: x };
  return undefined;
}

function isMemberField(f: string): boolean {
  return MEMBER_FIELDS.includes(f) || (f.startsWith('status.') && SHARED_LETTERS.includes(f.slice(7) as StatusLetter));
}

/** Parses an entry as stored; undefined when it is not one. */
export function parseEntry(text: string): Entry | undefined {
  try {
    const e = JSON.parse(text) as Entry;
    return e && typeof e === 'object' && typeof e.v === 'number' && typeof e.o === 'string' && 'value' in e ? e : undefined;
  } catch {
    return undefined;
  }
}

/** True when `a` is the later change: higher version, or the same version from a balancer id that sorts after. */
export function wins(a: Entry, b: Entry | undefined): boolean {
  if (!b) return true;
  return a.v > b.v || (a.v === b.v && a.o > b.o);
}

export function sameEntry(a: Entry | undefined, b: Entry | undefined): boolean {
  return !!a && !!b && a.v === b.v && a.o === b.o;
}

/**
 * Whether a change made here, `mine`, replacing `previous` (what Redis held, or holds, for the
 * setting) drops a change it was not made from: a conflict, to be logged. `known` is the highest
 * version of the setting that `mine` was made from or was already compared with (undefined: none,
 * e.g. a setting first changed while Redis was away). A previous entry at or below it is not a
 * conflict: `mine` was made after it here, or Redis was re-seeded from an older copy; nor is
 * `mine` itself, stored already by a write that timed out. Pure.
 */
export function dropsUnseen(previous: Entry | undefined, mine: Entry, known: number | undefined): boolean {
  if (!previous || sameEntry(previous, mine)) return false;
  return known === undefined || previous.v > known;
}

/**
 * The shared setting a local change is about, or undefined when the change stays local: changes
 * made in the manager (settings and added members), and the drain and slow start of a rolling
 * restart, which every balancer follows. Health verdicts, errors, changes found by DNS and the
 * fleet's own applications are not shared here.
 */
export function sharedKeyOf(c: StateChange, identity: (balancer: string, member: string) => string = (_b, id) => id): SharedKey | undefined {
  if (c.by === 'manager') {
    if (!c.member) return (BALANCER_FIELDS as readonly string[]).includes(c.field) ? { kind: 'balancer', balancer: c.balancer, field: c.field as BalancerField } : undefined;
    if (c.field === 'member') return c.to !== undefined ? { kind: 'added', balancer: c.balancer, member: c.member } : undefined;
    return isMemberField(c.field) ? { kind: 'member', balancer: c.balancer, member: identity(c.balancer, c.member), field: c.field } : undefined;
  }
  if (c.by === 'rolling' && c.member) {
    if (c.field === 'status.N') return { kind: 'member', balancer: c.balancer, member: identity(c.balancer, c.member), field: c.field };
    if (c.field === 'slowstart') return { kind: 'ramp', balancer: c.balancer, member: identity(c.balancer, c.member) };
  }
  return undefined;
}

/** The identity of a member of the runtime state, by its id (the id itself when it is not there). */
export function identityIn(runtime: RuntimeState): (balancer: string, member: string) => string {
  return (balancer, id) => runtime.balancers.get(balancer)?.members.find((m) => m.id === id)?.identity ?? id;
}

/** The member a shared key names: the one of that identity. */
function memberOf(b: BalancerState, identity: string): MemberState | undefined {
  return b.members.find((m) => m.identity === identity);
}

/**
 * The value a shared change sets, in the form entries hold (as persistence saves it). Taken from
 * the change itself: it is announced before the runtime state holds it.
 */
export function changeValue(k: SharedKey, c: StateChange, now: number): unknown {
  if (k.kind === 'added') return { url: c.to };
  if (k.kind === 'ramp') return { at: now };
  if (k.kind === 'balancer' && k.field === 'stickysession') {
    const s = c.to as { cookie?: string; url?: string } | undefined;
    return s ? { cookie: s.cookie ?? null, url: s.url ?? null } : null;
  }
  return c.to ?? null;
}

export type ApplyOutcome =
  /** The runtime now has the entry's value (it changed). */
  | 'applied'
  /** The runtime had it already. */
  | 'same'
  /** Its balancer or member is not here (yet): applied when it appears. */
  | 'waiting'
  /** A ramp that is already over. */
  | 'expired'
  | { refused: string };

/**
 * Applies an entry through the runtime-state API, as a change `by: 'fleet'` whose cause says
 * where it came from.
 */
export function applyEntry(runtime: RuntimeState, k: SharedKey, e: Entry, config: ConfigModel, now: number): ApplyOutcome {
  const b = runtime.balancers.get(k.balancer);
  if (!b || b.model.implicit) return 'waiting';
  const cause = `${e.by} on ${e.o}`;
  try {
    if (k.kind === 'balancer') {
      if (same(balancerField(k.field, b), e.value)) return 'same';
      applyBalancerSetting(b, k.field, e.value);
      return 'applied';
    }
    if (k.kind === 'added') {
      if (memberOf(b, k.member)) return 'same';
      const url = (e.value as { url?: unknown } | null)?.url;
      if (typeof url !== 'string') return { refused: 'no URL' };
      if (b.growthLeft <= 0) return { refused: `balancer ${b.name} has no free slot (growth ${b.model.growth})` };
      b.addMember(newMemberModel(url, b, config), 'fleet');
      return 'applied';
    }
    const m = memberOf(b, k.member);
    if (!m) return 'waiting';
    if (k.kind === 'ramp') {
      const at = Number((e.value as { at?: unknown } | null)?.at);
      if (!(at > 0) || now - at >= m.model.slowstartMs || m.rampStart >= at) return 'expired';
      b.startRamp(m, 'fleet', cause, Math.min(at, now));
      return 'applied';
    }
    if (same(memberField(k.field, m), e.value)) return 'same';
    if (k.field.startsWith('status.')) b.setMember(m, { status: { [k.field.slice(7)]: e.value === true } }, 'fleet', cause);
    else b.setMember(m, { [k.field]: e.value }, 'fleet', cause);
    return 'applied';
  } catch (err) {
    return { refused: (err as Error).message };
  }
}

function applyBalancerSetting(b: BalancerState, field: BalancerField, value: unknown): void {
  switch (field) {
    case 'lbmethod':
      return b.setBalancer({ lbmethod: value as Lbmethod }, 'fleet');
    case 'timeout':
      return b.setBalancer({ timeoutMs: value as number }, 'fleet');
    case 'maxattempts':
      return b.setBalancer({ maxattempts: value as number | null }, 'fleet');
    case 'nofailover':
      return b.setBalancer({ nofailover: value as boolean }, 'fleet');
    case 'stickysession': {
      const s = value as { cookie: string | null; url: string | null } | null;
      return b.setBalancer({ sticky: s ? { cookie: s.cookie ?? undefined, url: s.url ?? undefined } : undefined }, 'fleet');
    }
  }
}

const norm = (v: unknown): unknown => (v === undefined ? null : v);

export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** A key and value in words, for logs and the manager: `member http://10.0.0.5:8080 of app: status.N on`. */
export function describeEntry(k: SharedKey, value: unknown): string {
  const show = (v: unknown) => (typeof v === 'boolean' ? (v ? 'on' : 'off') : JSON.stringify(v ?? null));
  switch (k.kind) {
    case 'balancer':
      return `balancer ${k.balancer}: ${k.field} ${show(value)}`;
    case 'member':
      return `balancer ${k.balancer} member ${k.member}: ${k.field} ${show(value)}`;
    case 'added':
      return `balancer ${k.balancer}: member ${k.member} added`;
    case 'ramp':
      return `balancer ${k.balancer} member ${k.member}: slow start`;
  }
}
