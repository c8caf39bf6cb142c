// All balancers' runtime state, keyed by name. Reload builds a new set from the new config and
// carries over the state of members that still exist (counters, flags set at run time).
import { EventEmitter } from 'node:events';
import type { ConfigModel } from '../config/model.js';
import { BalancerState, type Clock, type RouteMismatchReport, type StateChange } from './balancer-state.js';
import { foundSettings } from './member-settings.js';

export class RuntimeState {
  readonly balancers = new Map<string, BalancerState>();
  /** Every state change of every balancer, re-emitted as 'change'. */
  readonly events = new EventEmitter();
  readonly startedAt: number;

  constructor(config: ConfigModel, readonly clock: Clock = Date.now) {
    this.startedAt = clock();
    this.events.setMaxListeners(50);
    this.build(config);
  }

  balancer(name: string): BalancerState | undefined {
    return this.balancers.get(name) ?? [...this.balancers.values()].find((b) => b.name.toLowerCase() === name.toLowerCase());
  }

  /** Balancers a person configured (not the implicit one-member ones of single-URL rules). */
  named(): BalancerState[] {
    return [...this.balancers.values()].filter((b) => !b.model.implicit);
  }

  private forward = (c: StateChange) => this.events.emit('change', c);
  /** Route mismatches of every balancer, re-emitted as 'route-mismatch' (see BalancerState.routeMismatch). */
  private forwardMismatch = (r: RouteMismatchReport) => this.events.emit('route-mismatch', r);

  private build(config: ConfigModel, previous?: Map<string, BalancerState>): void {
    for (const old of this.balancers.values()) {
      old.events.off('change', this.forward);
      old.events.off('route-mismatch', this.forwardMismatch);
    }
    this.balancers.clear();
    for (const [name, model] of Object.entries(config.balancers)) {
      const b = new BalancerState(model, this.clock);
      const prev = previous?.get(name);
      if (prev) carryOver(prev, b);
      b.events.on('change', this.forward);
      b.events.on('route-mismatch', this.forwardMismatch);
      this.balancers.set(name, b);
    }
  }

  /**
   * Swaps in a new config; members that still exist keep their counters and run-time changes.
   * Emits 'reload' afterwards, so health checks and others can follow added and removed members.
   */
  reload(config: ConfigModel): void {
    const previous = new Map(this.balancers);
    this.build(config, previous);
    this.events.emit('reload');
  }
}

function carryOver(prev: BalancerState, next: BalancerState): void {
  for (const field of prev.changedAtRuntime) {
    next.changedAtRuntime.add(field);
    if (field === 'lbmethod') next.lbmethod = prev.lbmethod;
    if (field === 'timeout') next.timeoutMs = prev.timeoutMs;
    if (field === 'maxattempts') next.maxattempts = prev.maxattempts;
    if (field === 'nofailover') next.nofailover = prev.nofailover;
    if (field === 'stickysession') next.sticky = prev.sticky;
  }
  next.refused = prev.refused;
  // Members found by DNS are not in the config: discovery adds them again after the reload, and
  // the settings made at run time come back with them (BalancerState.restoreKept).
  for (const [identity, settings] of prev.keptSettings()) next.keepSettings(identity, settings);
  for (const m of prev.members) if (prev.isDiscovered(m) && !next.members.some((x) => x.id === m.id)) next.keepSettings(m.identity, foundSettings(m));
  for (const m of next.members) {
    const old = prev.members.find((o) => o.id === m.id);
    if (!old) continue;
    m.elected = old.elected;
    // busy is not copied: in-flight requests settle on the member object they started with.
    m.bytesTo = old.bytesTo;
    m.bytesFrom = old.bytesFrom;
    m.errors = old.errors;
    m.responses = old.responses;
    m.lbstatus = old.lbstatus;
    m.health = old.health;
    m.rampStart = old.rampStart;
    m.lastStickyAt = old.lastStickyAt;
    m.errorTime = old.errorTime;
    m.errorCause = old.errorCause;
    m.retries = old.retries;
    m.consecutiveFailures = old.consecutiveFailures;
    m.routeMismatches = old.routeMismatches;
    m.lastRouteMismatch = old.lastRouteMismatch;
    m.routeMismatchActive = old.routeMismatchActive;
    m.routeMismatchReportedAt = old.routeMismatchReportedAt;
    m.routeMismatchesReported = old.routeMismatchesReported;
    // A grown retry interval survives a reload unless the configured retry changed.
    if (old.model.retryMs === m.model.retryMs) m.retryMs = old.retryMs;
    // Error and health states are facts about the member, not settings: keep them.
    m.flags = { ...m.flags, E: old.flags.E, C: old.flags.C };
    for (const field of old.changedAtRuntime) {
      m.changedAtRuntime.add(field);
      if (field === 'lbfactor') m.lbfactor = old.lbfactor;
      else if (field === 'lbset') m.lbset = old.lbset;
      else if (field === 'route') m.route = old.route;
      else if (field === 'redirect') m.redirect = old.redirect;
      else if (field.startsWith('status.')) {
        const l = field.slice(7) as keyof typeof m.flags;
        m.flags = { ...m.flags, [l]: old.flags[l] };
      }
    }
  }
}
