// Runtime state of one balancer and the one small API that changes it. The manager, health
// checks, the launcher and the proxy all go through these methods; each change is announced on
// `events` so logs, persistence and metrics see it.
import { EventEmitter } from 'node:events';
import type { BalancerModel, Lbmethod, MemberModel, StatusLetter, StickyNames } from '../config/model.js';
import { MemberState, type RouteMismatch } from './member-state.js';
import { foundSettings, isKeptSetting, memberField, modelMemberField, type MemberSettings } from './member-settings.js';
import { getScheduler } from './schedulers/registry.js';

export interface StateChange {
  balancer: string;
  member?: string;
  field: string;
  from: unknown;
  to: unknown;
  /** Who changed it: 'manager', 'health', 'proxy', 'launcher', 'config', 'rolling'. */
  by: string;
  cause?: string;
}

export interface MemberChanges {
  lbfactor?: number;
  lbset?: number;
  route?: string;
  redirect?: string;
  status?: Partial<Record<StatusLetter, boolean>>;
}

export interface BalancerChanges {
  lbmethod?: Lbmethod;
  timeoutMs?: number;
  /** null: back to the default (members - 1). */
  maxattempts?: number | null;
  nofailover?: boolean;
  sticky?: StickyNames | undefined;
}

export type Clock = () => number;

/**
 * Whether a change is a setting, kept across reloads and saved by persistence: made in the
 * manager here, or in another balancer's manager and applied by the fleet.
 */
export function isSetting(by: string): boolean {
  return by === 'manager' || by === 'fleet';
}

export interface AddMemberOptions {
  /**
   * Found by discovery (DNS): takes no growth slot (growth is for members added in the manager)
   * and starts enabled instead of disabled.
   */
  discovered?: boolean;
}

/** One active health check result, as the checker hands it over. */
export interface HealthResult {
  ok: boolean;
  /** What happened, for people: `status 200`, `connection refused`, `timeout after 5000ms`. */
  detail: string;
  status?: number;
  durationMs?: number;
}

/** A member's route mismatches, as reported (at most once per member per ROUTE_MISMATCH_REPORT_MS). */
export interface RouteMismatchReport extends RouteMismatch {
  balancer: string;
  member: string;
  memberUrl: string;
  /** Mismatches since the previous report (this one included). */
  count: number;
  /** All mismatches of the member so far. */
  total: number;
}

/** Route mismatches of a member are reported (logged) at most once in this time. */
export const ROUTE_MISMATCH_REPORT_MS = 300_000;

/** Members found by DNS whose run-time settings a balancer keeps while they are away (the oldest go first). */
export const KEPT_LIMIT = 1024;

/** What restoreKept did: the settings applied, and the ones the config overrules now. */
export interface KeptOutcome {
  applied: string[];
  conflicts: string[];
}

/** Default cap of the retry back-off: 5 x the member's retry, at most 10 minutes. */
export const RETRY_BACKOFF_FACTOR = 5;
export const RETRY_BACKOFF_LIMIT_MS = 600_000;

export class BalancerState {
  readonly name: string;
  readonly model: BalancerModel;
  readonly members: MemberState[];
  readonly events = new EventEmitter();
  lbmethod: Lbmethod;
  timeoutMs: number;
  maxattempts: number | undefined;
  nofailover: boolean;
  sticky: StickyNames | undefined;
  /** Free slots for members added at run time. */
  growthLeft: number;
  /** Members found by discovery: they hold no growth slot. */
  private readonly discovered = new WeakSet<MemberState>();
  /**
   * Settings made at run time (in a manager, or by the fleet) of members found by discovery that
   * are not here now, by identity: they come back with a member of that identity (restoreKept),
   * so a drain follows a pod to its new address.
   */
  private readonly kept = new Map<string, MemberSettings>();
  readonly changedAtRuntime = new Set<string>();
  /**
   * Back-off for repeated failures: the retry interval doubles up to this cap (0: no back-off;
   * undefined: 5 x the member's retry, at most 10 minutes). See backoffCapMs.
   */
  retryBackoffMaxMs: number | undefined;
  /** Requests refused because no member was usable. */
  refused = 0;

  constructor(model: BalancerModel, readonly clock: Clock = Date.now) {
    this.name = model.name;
    this.model = model;
    this.members = model.members.map((m) => new MemberState(m));
    this.lbmethod = model.lbmethod;
    this.timeoutMs = model.timeoutMs;
    this.maxattempts = model.maxattempts;
    this.nofailover = model.nofailover;
    this.sticky = model.sticky;
    this.growthLeft = model.growth;
    this.retryBackoffMaxMs = model.retryBackoffMaxMs;
    this.events.setMaxListeners(50);
    for (const m of this.members) m.lbstatus = 0;
  }

  get scheduler() {
    return getScheduler(this.lbmethod);
  }

  /** Extra attempts after the first one (Apache default: members - 1). */
  maxAttempts(): number {
    return this.maxattempts ?? Math.max(0, this.members.length - 1);
  }

  member(idOrRoute: string): MemberState | undefined {
    return this.members.find((m) => m.id === idOrRoute || m.url === idOrRoute) ?? this.members.find((m) => m.route && m.route === idOrRoute);
  }

  private emit(change: Omit<StateChange, 'balancer'>): void {
    this.events.emit('change', { balancer: this.name, ...change } satisfies StateChange);
  }

  // ---- Changes made by people and tools ----

  setMember(m: MemberState, changes: MemberChanges, by: string, cause?: string): void {
    const now = this.clock();
    if (changes.lbfactor !== undefined && changes.lbfactor !== m.lbfactor) {
      if (!(changes.lbfactor >= 1 && changes.lbfactor <= 100)) throw new RangeError('lbfactor must be within 1..100');
      this.emit({ member: m.id, field: 'lbfactor', from: m.lbfactor, to: changes.lbfactor, by });
      m.lbfactor = changes.lbfactor;
      // Apache resets lbstatus when the factor changes.
      m.lbstatus = m.lbfactor;
      if (isSetting(by)) m.changedAtRuntime.add('lbfactor');
    }
    if (changes.lbset !== undefined && changes.lbset !== m.lbset) {
      if (!(Number.isInteger(changes.lbset) && changes.lbset >= 0 && changes.lbset <= 99)) throw new RangeError('lbset must be an integer within 0..99');
      this.emit({ member: m.id, field: 'lbset', from: m.lbset, to: changes.lbset, by });
      m.lbset = changes.lbset;
      if (isSetting(by)) m.changedAtRuntime.add('lbset');
    }
    if (changes.route !== undefined && changes.route !== m.route) {
      if (changes.route.length > 63 || /[\s\x00-\x1f\x7f]/.test(changes.route)) throw new RangeError('route must be under 64 characters without spaces or control characters');
      this.emit({ member: m.id, field: 'route', from: m.route, to: changes.route, by });
      m.route = changes.route;
      if (isSetting(by)) m.changedAtRuntime.add('route');
    }
    if (changes.redirect !== undefined && changes.redirect !== m.redirect) {
      if (changes.redirect.length > 63 || /[\s\x00-\x1f\x7f]/.test(changes.redirect)) throw new RangeError('redirect must be under 64 characters without spaces or control characters');
      this.emit({ member: m.id, field: 'redirect', from: m.redirect, to: changes.redirect, by });
      m.redirect = changes.redirect;
      if (isSetting(by)) m.changedAtRuntime.add('redirect');
    }
    if (changes.status) {
      for (const [letter, on] of Object.entries(changes.status) as [StatusLetter, boolean][]) {
        if (on === undefined || m.flags[letter] === on) continue;
        this.setFlag(m, letter, on, by, cause, now);
        if (isSetting(by)) m.changedAtRuntime.add(`status.${letter}`);
      }
    }
  }

  /** Sets or clears one status flag. Leaving an unusable state starts slow start. */
  setFlag(m: MemberState, letter: StatusLetter, on: boolean, by: string, cause?: string, now = this.clock()): void {
    if (m.flags[letter] === on) return;
    const wasUsable = m.isUsable();
    m.flags = { ...m.flags, [letter]: on };
    if (letter === 'E') {
      if (on) {
        m.errorTime = now;
        m.errorCause = cause ?? '';
      }
    }
    if (!wasUsable && m.isUsable() && m.model.slowstartMs > 0) m.rampStart = now;
    if (wasUsable && !m.isUsable()) m.rampStart = 0;
    this.emit({ member: m.id, field: `status.${letter}`, from: !on, to: on, by, cause });
  }

  setBalancer(changes: BalancerChanges, by: string): void {
    if (changes.lbmethod !== undefined && changes.lbmethod !== this.lbmethod) {
      getScheduler(changes.lbmethod);
      this.emit({ field: 'lbmethod', from: this.lbmethod, to: changes.lbmethod, by });
      this.lbmethod = changes.lbmethod;
      if (isSetting(by)) this.changedAtRuntime.add('lbmethod');
    }
    if (changes.timeoutMs !== undefined && changes.timeoutMs !== this.timeoutMs) {
      if (!(changes.timeoutMs >= 0)) throw new RangeError('timeout must be >= 0');
      this.emit({ field: 'timeout', from: this.timeoutMs, to: changes.timeoutMs, by });
      this.timeoutMs = changes.timeoutMs;
      if (isSetting(by)) this.changedAtRuntime.add('timeout');
    }
    if (changes.maxattempts !== undefined && (changes.maxattempts ?? undefined) !== this.maxattempts) {
      const next = changes.maxattempts ?? undefined;
      if (next !== undefined && !(Number.isInteger(next) && next >= 0 && next <= 100)) throw new RangeError('maxattempts must be an integer within 0..100');
      this.emit({ field: 'maxattempts', from: this.maxattempts, to: next, by });
      this.maxattempts = next;
      if (isSetting(by)) this.changedAtRuntime.add('maxattempts');
    }
    if (changes.nofailover !== undefined && changes.nofailover !== this.nofailover) {
      this.emit({ field: 'nofailover', from: this.nofailover, to: changes.nofailover, by });
      this.nofailover = changes.nofailover;
      if (isSetting(by)) this.changedAtRuntime.add('nofailover');
    }
    if ('sticky' in changes && JSON.stringify(changes.sticky) !== JSON.stringify(this.sticky)) {
      this.emit({ field: 'stickysession', from: this.sticky, to: changes.sticky, by });
      this.sticky = changes.sticky;
      if (isSetting(by)) this.changedAtRuntime.add('stickysession');
    }
  }

  /**
   * Adds a member into a free growth slot; it starts disabled, as in Apache. Found members (see
   * AddMemberOptions; a model with a `source` is one) take no slot and start enabled.
   */
  addMember(model: MemberModel, by: string, opts: AddMemberOptions = {}): MemberState {
    const discovered = opts.discovered ?? model.source !== undefined;
    if (!discovered && this.growthLeft <= 0) throw new RangeError(`balancer ${this.name} has no free slot (growth=${this.model.growth})`);
    if (this.members.some((m) => m.id === model.id)) throw new RangeError(`${model.url} is already a member of ${this.name}`);
    const m = new MemberState(discovered ? model : { ...model, status: { ...model.status, D: true } });
    this.members.push(m);
    if (discovered) this.discovered.add(m);
    else this.growthLeft--;
    this.emit({ member: m.id, field: 'member', from: undefined, to: model.url, by });
    return m;
  }

  /**
   * Removes a member added at run time (in the manager, or found by DNS); a manager's growth slot
   * is free again. Requests in flight to it finish on it. Announced as a 'member' change from its
   * URL to undefined. Configured members are removed by editing the config.
   */
  removeMember(m: MemberState, by: string, cause?: string): void {
    const i = this.members.indexOf(m);
    if (i < 0) throw new RangeError(`${m.url} is not a member of ${this.name}`);
    if (this.model.members.some((x) => x.id === m.id)) throw new RangeError(`${m.url} is in the config of ${this.name}: remove it there`);
    this.members.splice(i, 1);
    if (this.discovered.has(m)) this.keepSettings(m.identity, foundSettings(m));
    if (!this.discovered.delete(m)) this.growthLeft++;
    this.emit({ member: m.id, field: 'member', from: m.url, to: undefined, by, cause });
  }

  /** Whether a member was found by discovery (it holds no growth slot). */
  isDiscovered(m: MemberState): boolean {
    return this.discovered.has(m);
  }

  /** Settings kept for found members that are away, by identity (persistence saves them). */
  keptSettings(): ReadonlyMap<string, MemberSettings> {
    return this.kept;
  }

  /**
   * Keeps run-time settings for a found member that is not here now (persistence at start, a
   * reload, a removal): restoreKept applies them to the member of that identity once it is found.
   */
  keepSettings(identity: string, settings: MemberSettings): void {
    const clean = Object.fromEntries(Object.entries(settings).filter(([f]) => isKeptSetting(f)));
    this.kept.delete(identity);
    if (!Object.keys(clean).length) return;
    this.kept.set(identity, clean);
    if (this.kept.size > KEPT_LIMIT) this.kept.delete(this.kept.keys().next().value!);
  }

  /**
   * Gives a found member the settings kept for its identity, as changes `by` (discovery's) that
   * count as set at run time. A field already set at run time on this member is left as it is
   * (the fleet's shared value is newer than what was kept); a value the member's model no longer
   * overrides the same way (the config changed since) is dropped: the config wins.
   */
  restoreKept(m: MemberState, by: string, cause?: string): KeptOutcome {
    const out: KeptOutcome = { applied: [], conflicts: [] };
    const kept = this.kept.get(m.identity);
    if (!kept || !this.members.includes(m)) return out;
    this.kept.delete(m.identity);
    const show = (v: unknown) => (typeof v === 'boolean' ? (v ? 'on' : 'off') : JSON.stringify(v ?? null));
    for (const [field, sv] of Object.entries(kept)) {
      if (m.changedAtRuntime.has(field)) continue;
      const now = modelMemberField(field, m.model);
      if (JSON.stringify(now ?? null) !== JSON.stringify(sv.overrode ?? null)) {
        out.conflicts.push(`${field}: the config now says ${show(now)} (it said ${show(sv.overrode)} when ${show(sv.value)} was set); the config wins`);
        continue;
      }
      try {
        if (field.startsWith('status.')) this.setMember(m, { status: { [field.slice(7)]: sv.value === true } }, by, cause);
        else this.setMember(m, { [field]: sv.value }, by, cause);
        if (memberField(field, m) === sv.value) m.changedAtRuntime.add(field);
        out.applied.push(`${field} ${show(sv.value)}`);
      } catch (e) {
        out.conflicts.push(`${field} ${show(sv.value)} is not valid (${(e as Error).message})`);
      }
    }
    return out;
  }

  /**
   * Starts weighted round robin afresh (lbstatus 0 for every member). Used after a member comes
   * back from a long drain, whose sticky traffic skewed the accumulators.
   */
  resetLoad(by: string): void {
    for (const m of this.members) m.lbstatus = 0;
    this.emit({ field: 'lbstatus', from: undefined, to: 0, by });
  }

  // ---- Changes made by the data path ----

  /** The longest retry interval back-off may reach for this member (its own retry when off). */
  backoffCapMs(m: MemberState): number {
    const base = m.model.retryMs;
    const cap = this.retryBackoffMaxMs ?? Math.min(base * RETRY_BACKOFF_FACTOR, RETRY_BACKOFF_LIMIT_MS);
    return Math.max(base, cap);
  }

  /**
   * A request failed on the member: it could not connect, timed out (failontimeout), or answered
   * with a failonstatus code. Puts it in error unless it ignores errors. `cause` is said in words
   * (`connection refused`, `timeout after 30s`, `status 503`) and shows in logs and the manager.
   */
  markFailure(m: MemberState, cause: string): void {
    m.errors++;
    m.consecutiveFailures++;
    if (m.flags.I) return;
    const now = this.clock();
    if (!m.flags.E) {
      // Back-off: a member that fails again after recovering, with no success in between, waits
      // twice as long each time, up to the cap.
      if (m.consecutiveFailures > 1) m.retryMs = Math.min(Math.max(m.retryMs, m.model.retryMs) * 2, this.backoffCapMs(m));
      else m.retryMs = m.model.retryMs;
      this.setFlag(m, 'E', true, 'proxy', cause, now);
    } else {
      m.errorTime = now;
    }
  }

  /** The member answered: resets the failure streak and the back-off. */
  markSuccess(m: MemberState): void {
    if (m.consecutiveFailures) {
      m.consecutiveFailures = 0;
      m.retryMs = m.model.retryMs;
    }
  }

  // ---- Counters of the data path (no change events: they move with every request) ----

  /** The member was chosen for a request, by its session or by the scheduler (Apache's Elected). */
  elect(m: MemberState): void {
    m.elected++;
  }

  /** A request was refused: no usable member, or its session's member was unusable with nofailover. */
  countRefused(): void {
    this.refused++;
  }

  /**
   * Counts made by worker processes, added up by the owner (src/workers/counts.ts); `busy` is a
   * change of the requests in flight, so it may be negative.
   */
  addCounts(m: MemberState, c: { elected?: number; busy?: number; bytesTo?: number; bytesFrom?: number; responses?: readonly number[] }): void {
    if (c.elected) m.elected += c.elected;
    if (c.busy) m.busy = Math.max(0, m.busy + c.busy);
    if (c.bytesTo) m.bytesTo += c.bytesTo;
    if (c.bytesFrom) m.bytesFrom += c.bytesFrom;
    if (c.responses) {
      const r = c.responses;
      if (r[0]) m.responses['1xx'] = (m.responses['1xx'] ?? 0) + r[0];
      if (r[1]) m.responses['2xx'] = (m.responses['2xx'] ?? 0) + r[1];
      if (r[2]) m.responses['3xx'] = (m.responses['3xx'] ?? 0) + r[2];
      if (r[3]) m.responses['4xx'] = (m.responses['4xx'] ?? 0) + r[3];
      if (r[4]) m.responses['5xx'] = (m.responses['5xx'] ?? 0) + r[4];
    }
  }

  /** Refusals counted by worker processes (see addCounts). */
  addRefused(n: number): void {
    this.refused += n;
  }

  /** A request to the member began (Apache's busy count, which bybusyness reads). */
  acquire(m: MemberState): void {
    m.busy++;
  }

  /** A request to the member ended, whatever its result. */
  release(m: MemberState): void {
    if (m.busy > 0) m.busy--;
  }

  /** The member answered with `status` (counted per status class). */
  countAnswer(m: MemberState, status: number): void {
    const cls = status < 200 ? '1xx' : status < 300 ? '2xx' : status < 400 ? '3xx' : status < 500 ? '4xx' : '5xx';
    m.responses[cls] = (m.responses[cls] ?? 0) + 1;
  }

  /**
   * Route verification: the member answered with a session id whose route is `issued` ('' for
   * none) while its own is `m.route`. Counted every time; announced as 'route-mismatch' on
   * `events` at most once per member per ROUTE_MISMATCH_REPORT_MS, with the count since the last
   * announcement.
   */
  routeMismatch(m: MemberState, issued: string, where: RouteMismatch['where'], name: string, now = this.clock()): void {
    m.routeMismatches++;
    const mismatch: RouteMismatch = { issued, expected: m.route, where, name, at: now };
    m.lastRouteMismatch = mismatch;
    m.routeMismatchActive = true;
    if (m.routeMismatchReportedAt !== 0 && now - m.routeMismatchReportedAt < ROUTE_MISMATCH_REPORT_MS) return;
    const count = m.routeMismatches - m.routeMismatchesReported;
    m.routeMismatchReportedAt = now;
    m.routeMismatchesReported = m.routeMismatches;
    this.events.emit('route-mismatch', { ...mismatch, balancer: this.name, member: m.id, memberUrl: m.url, count, total: m.routeMismatches } satisfies RouteMismatchReport);
  }

  /** Route verification: the member answered with a session id carrying its own route. */
  routeVerified(m: MemberState): void {
    m.routeMismatchActive = false;
  }

  /** Bytes sent to the member (Apache's "To") and read from it ("From"), which bytraffic reads. */
  countTraffic(m: MemberState, to: number, from: number): void {
    m.bytesTo += to;
    m.bytesFrom += from;
  }

  /**
   * Applies one active health check result (mod_proxy_hcheck's hc_check). While the member is
   * healthy, `fails` failed checks in a row set C; while it has C or E, `passes` passed checks in
   * a row clear both. Counters and the last result stay on `m.health` for the manager and metrics.
   */
  recordHealth(m: MemberState, result: HealthResult, now = this.clock()): void {
    const h = m.health;
    const passes = result.ok ? h.consecutivePasses + 1 : 0;
    const fails = result.ok ? 0 : h.consecutiveFails + 1;
    m.health = {
      last: result.ok ? 'pass' : 'fail',
      lastCheckAt: now,
      lastDetail: result.detail,
      lastStatus: result.status,
      lastDurationMs: result.durationMs,
      consecutivePasses: passes,
      consecutiveFails: fails,
      checks: h.checks + 1,
    };
    const need = { passes: m.model.health?.passes ?? 1, fails: m.model.health?.fails ?? 1 };
    if (result.ok) {
      if ((m.flags.C || m.flags.E) && passes >= need.passes) {
        const cause = `${Math.min(passes, need.passes)}/${need.passes}: ${result.detail}`;
        if (m.flags.C) this.setFlag(m, 'C', false, 'health', cause, now);
        if (m.flags.E) this.setFlag(m, 'E', false, 'health', cause, now);
      }
    } else if (!m.flags.C && fails >= need.fails) {
      this.setFlag(m, 'C', true, 'health', `${Math.min(fails, need.fails)}/${need.fails}: ${result.detail}`, now);
    }
  }

  /**
   * Starts slow start for a member that is usable but cold, e.g. after the launcher restarted its
   * process. Does nothing when the member has no slowstart time.
   */
  startRamp(m: MemberState, by: string, cause?: string, now = this.clock()): void {
    const ss = m.model.slowstartMs;
    if (ss <= 0) return;
    const from = m.rampShare(now);
    m.rampStart = now;
    this.emit({ member: m.id, field: 'slowstart', from, to: ss, by, cause });
  }

  /** Apache's ap_proxy_retry_worker: clears E once the retry interval has passed. */
  retryCheck(m: MemberState, now: number): void {
    if (m.flags.E && now > m.errorTime + m.retryMs) {
      m.retries++;
      this.setFlag(m, 'E', false, 'proxy', 'retry interval passed', now);
    }
  }

  /** Apache's forcerecovery: when every member is in error, clear E on all but hot standbys. */
  forceRecovery(now: number): void {
    if (!this.model.forcerecovery || this.members.length === 0) return;
    for (const m of this.members) {
      if (!m.flags.E) return;
      this.retryCheck(m, now);
      if (!m.flags.E) return;
    }
    for (const m of this.members) {
      if (m.flags.H) continue;
      m.retries++;
      this.setFlag(m, 'E', false, 'proxy', 'forced recovery: every member was in error', now);
    }
  }
}
