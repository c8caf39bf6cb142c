// Active health checks (mod_proxy_hcheck): every member with a `health` setting is probed every
// interval, off the request path. At most one probe per member is in flight, each ends on its own
// timeout, stopped members are never probed, and the set of checked members follows reloads and
// members added at run time. Results go to BalancerState.recordHealth, which sets and clears C.
import type { Clock, StateChange } from '../balancer/balancer-state.js';
import type { RuntimeState } from '../balancer/runtime.js';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import type { HealthModel } from '../config/model.js';
import { compileHealthExpr, type HealthExpr } from './expr.js';
import { formatMs } from './format-ms.js';
import { attachStateLogging, type HealthLogger } from './log-lines.js';
import { probe as realProbe, type ProbeFn, type ProbeResult, type ProbeTarget } from './probe.js';

/** Timer functions, injectable so tests drive time without sleeping. */
export interface TimerFns {
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export interface HealthCheckerOptions {
  /** Defaults to the runtime's clock. */
  clock?: Clock;
  /** Defaults to setTimeout / clearTimeout (unref'd: checks never keep the process alive). */
  timers?: TimerFns;
  /** Defaults to the real probe (probe.ts). */
  probe?: ProbeFn;
  /** When given, every member state transition is logged (see log-lines.ts). */
  logger?: HealthLogger;
  /** Check the members' TLS certificates on https probes (default off, as Apache). */
  verifyTls?: boolean;
}

/** What the checker knows about one member's checks, for the manager and metrics. */
export interface CheckInfo {
  balancer: string;
  member: string;
  method: HealthModel['method'];
  intervalMs: number;
  inFlight: boolean;
  /** Ticks skipped because the previous probe was still running. */
  skipped: number;
  /** Probes started since the checker started. */
  started: number;
}

interface Slot {
  key: string;
  balancer: string;
  memberId: string;
  health: HealthModel;
  healthKey: string;
  expect?: HealthExpr;
  exprError?: string;
  timer?: unknown;
  inFlight?: { abort: AbortController; settled: Promise<ProbeResult> };
  skipped: number;
  started: number;
}

const realTimers: TimerFns = {
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimer(h) {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

function slotKey(balancer: string, memberId: string): string {
  return `${balancer}\u0000${memberId}`;
}

export class HealthChecker {
  private readonly clock: Clock;
  private readonly timers: TimerFns;
  private readonly probeFn: ProbeFn;
  private readonly slots = new Map<string, Slot>();
  private running = false;
  private detachLog?: () => void;

  constructor(
    private readonly runtime: RuntimeState,
    private readonly opts: HealthCheckerOptions = {},
  ) {
    this.clock = opts.clock ?? runtime.clock;
    this.timers = opts.timers ?? realTimers;
    this.probeFn = opts.probe ?? realProbe;
  }

  /** Starts checking; the first probe of each member is due at once. */
  start(): this {
    if (this.running) return this;
    this.running = true;
    this.runtime.events.on('reload', this.onReload);
    this.runtime.events.on('change', this.onChange);
    if (this.opts.logger) this.detachLog = attachStateLogging(this.runtime, this.opts.logger);
    this.sync();
    return this;
  }

  /** Stops checking, cancels probes in flight and waits until they have ended. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.runtime.events.off('reload', this.onReload);
    this.runtime.events.off('change', this.onChange);
    this.detachLog?.();
    this.detachLog = undefined;
    const pending: Promise<unknown>[] = [];
    for (const slot of this.slots.values()) {
      const p = this.drop(slot);
      if (p) pending.push(p);
    }
    this.slots.clear();
    await Promise.all(pending);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The members being checked and the state of their checks. */
  checks(): CheckInfo[] {
    return [...this.slots.values()].map((s) => ({
      balancer: s.balancer,
      member: s.memberId,
      method: s.health.method,
      intervalMs: s.health.intervalMs,
      inFlight: !!s.inFlight,
      skipped: s.skipped,
      started: s.started,
    }));
  }

  /** Probes in flight right now. */
  inFlight(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.inFlight) n++;
    return n;
  }

  /**
   * Probes one member now (the manager's "check now"), unless a probe is already running or the
   * member is stopped. Resolves with the result once it has been recorded.
   */
  async checkNow(balancer: string, memberIdOrRoute: string): Promise<ProbeResult | undefined> {
    const b = this.runtime.balancer(balancer);
    const m = b?.member(memberIdOrRoute);
    const slot = b && m ? this.slots.get(slotKey(b.name, m.id)) : undefined;
    if (!slot || !m || slot.inFlight || m.flags.S) return undefined;
    return this.launch(slot);
  }

  /** Brings the set of checked members in line with the runtime state (called on reloads). */
  sync(): void {
    if (!this.running) return;
    const want = new Map<string, { b: BalancerState; m: MemberState }>();
    for (const b of this.runtime.balancers.values()) {
      for (const m of b.members) if (m.model.health) want.set(slotKey(b.name, m.id), { b, m });
    }
    for (const [key, slot] of this.slots) {
      if (want.has(key)) continue;
      void this.drop(slot);
      this.slots.delete(key);
      // A member whose check was removed must not stay out of service on its last result.
      const found = this.find(slot);
      if (found?.m.flags.C) found.b.setFlag(found.m, 'C', false, 'health', 'health check no longer configured');
    }
    for (const [key, { b, m }] of want) {
      const health = m.model.health!;
      const healthKey = JSON.stringify(health);
      const slot = this.slots.get(key);
      if (!slot) {
        const fresh: Slot = { key, balancer: b.name, memberId: m.id, health, healthKey, skipped: 0, started: 0 };
        this.compile(fresh);
        this.slots.set(key, fresh);
        this.arm(fresh, 0);
        continue;
      }
      if (slot.healthKey === healthKey) continue;
      const intervalChanged = slot.health.intervalMs !== health.intervalMs;
      slot.health = health;
      slot.healthKey = healthKey;
      this.compile(slot);
      if (intervalChanged) {
        if (slot.timer !== undefined) this.timers.clearTimer(slot.timer);
        this.arm(slot, health.intervalMs);
      }
    }
  }

  // ---- Internals ----

  private onReload = () => this.sync();

  private onChange = (c: StateChange) => {
    // Members added at run time (manager, growth slots) are checked like configured ones.
    if (c.field === 'member') this.sync();
  };

  private compile(slot: Slot): void {
    try {
      slot.expect = compileHealthExpr(slot.health.expect);
      slot.exprError = undefined;
    } catch (e) {
      // The config gate rejects bad expressions; this only guards models built some other way.
      slot.expect = undefined;
      slot.exprError = `invalid expect: ${(e as Error).message}`;
    }
  }

  private find(slot: Slot): { b: BalancerState; m: MemberState } | undefined {
    const b = this.runtime.balancers.get(slot.balancer);
    const m = b?.members.find((x) => x.id === slot.memberId);
    return b && m ? { b, m } : undefined;
  }

  private arm(slot: Slot, delayMs: number): void {
    slot.timer = this.timers.setTimer(() => this.tick(slot), delayMs);
  }

  /** Cancels a slot's timer and probe; returns the probe's end, if one was running. */
  private drop(slot: Slot): Promise<unknown> | undefined {
    if (slot.timer !== undefined) this.timers.clearTimer(slot.timer);
    slot.timer = undefined;
    const f = slot.inFlight;
    if (!f) return undefined;
    f.abort.abort();
    return f.settled;
  }

  private tick(slot: Slot): void {
    slot.timer = undefined;
    if (!this.running || this.slots.get(slot.key) !== slot) return;
    const found = this.find(slot);
    if (!found) return;
    // Never pile up probes against a member that hangs: skip this round while one is running.
    if (slot.inFlight) slot.skipped++;
    else if (!found.m.flags.S) void this.launch(slot);
    this.arm(slot, slot.health.intervalMs);
  }

  private launch(slot: Slot): Promise<ProbeResult> {
    const found = this.find(slot)!;
    const { m } = found;
    const h = slot.health;
    const abort = new AbortController();
    let timedOut = false;
    const timeout = this.timers.setTimer(() => {
      timedOut = true;
      abort.abort();
    }, h.timeoutMs);
    const target: ProbeTarget = {
      method: h.method,
      protocol: m.protocol,
      hostname: m.hostname,
      port: m.port,
      path: `${m.basePath}${h.uri}`,
      expect: slot.expect,
    };
    slot.started++;
    const started = this.clock();
    const run: Promise<ProbeResult> = slot.exprError
      ? Promise.resolve({ ok: false, detail: slot.exprError, durationMs: 0 })
      : this.probeFn(target, { signal: abort.signal, verifyTls: this.opts.verifyTls }).catch((e: unknown) => ({
          ok: false,
          detail: (e as Error)?.message ?? String(e),
          durationMs: this.clock() - started,
        }));
    const settled = run.then((r) => {
      this.timers.clearTimer(timeout);
      if (slot.inFlight?.settled === settled) slot.inFlight = undefined;
      const result: ProbeResult = timedOut ? { ok: false, detail: `timeout after ${formatMs(h.timeoutMs)}`, durationMs: h.timeoutMs } : r;
      // Results that arrive after stop, removal or a stop (S) of the member are dropped.
      if (!this.running || this.slots.get(slot.key) !== slot) return result;
      const now = this.find(slot);
      if (now && !now.m.flags.S) {
        now.b.recordHealth(now.m, { ok: result.ok, detail: result.detail, status: result.status, durationMs: result.durationMs }, this.clock());
      }
      return result;
    });
    slot.inFlight = { abort, settled };
    return settled;
  }
}
