// Follows one DNS source of one balancer: looks it up again as the records' TTL says, and changes
// the balancer's members through the runtime-state API (`by: 'dns'`): new names join (with slow
// start, after the first lookup), names that left are drained and removed once idle (their
// sessions keep working while the address answers), a failed lookup keeps the last good list.
import type { BalancerState } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import type { RuntimeState } from '../balancer/runtime.js';
import type { DnsSourceModel } from '../config/fleet-model.js';
import type { MemberModel } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import type { ResolverOptions } from './dns-client.js';
import { lookup, type QueryFn } from './lookup.js';
import { drainOver, memberModelOf, nextLookupMs, plan, type Found, type Present } from './targets.js';

export interface WatcherView {
  balancer: string;
  name: string;
  type: string;
  /** The members of the last good lookup. */
  found: Found[];
  lastOkAt?: number;
  /** The last lookup failed: why (the members stay as they were). */
  error?: string;
  errorSince?: number;
  nextAt?: number;
  lookups: number;
  failures: number;
  /** Members drained because their name left DNS, with when. */
  draining: { id: string; since: number }[];
  server?: string;
}

export interface WatcherOptions {
  runtime: RuntimeState;
  balancer: string;
  source: DnsSourceModel;
  resolver: () => ResolverOptions;
  logger: Logger;
  clock?: () => number;
  ask?: QueryFn;
}

const FAILURE_RETRY_MS = 5_000;
const DRAIN_CHECK_MS = 500;

export class DnsWatcher {
  readonly balancer: string;
  readonly source: DnsSourceModel;
  private found: Found[] = [];
  /** Members drained because their name left DNS: when, and their model (to bring them back after a reload). */
  private readonly drained = new Map<string, { since: number; model: MemberModel }>();
  private lastOkAt?: number;
  private error?: string;
  private errorSince?: number;
  private nextAt?: number;
  private server?: string;
  lookups = 0;
  failures = 0;
  private timer?: NodeJS.Timeout;
  private drainTimer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;
  private readonly clock: () => number;

  constructor(private readonly o: WatcherOptions) {
    this.balancer = o.balancer;
    this.source = o.source;
    this.clock = o.clock ?? Date.now;
  }

  private get b(): BalancerState | undefined {
    return this.o.runtime.balancers.get(this.balancer);
  }

  private mine(b: BalancerState): MemberState[] {
    return b.members.filter((m) => m.model.source?.kind === 'dns' && m.model.source.query === this.source.name);
  }

  /** Looks up once and applies the result; `ramp`: new members start with slow start. */
  lookupNow(ramp: boolean): Promise<void> {
    this.running ??= this.doLookup(ramp).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doLookup(ramp: boolean): Promise<void> {
    const r = await lookup(this.source, this.o.resolver(), this.found, this.o.ask);
    if (this.stopped) return;
    this.lookups++;
    const now = this.clock();
    if (!r.ok) {
      this.failures++;
      if (!this.error) {
        this.errorSince = now;
        this.o.logger.warn(
          { balancer: this.balancer, dns: this.source.name, error: r.error },
          `balancer ${this.balancer}: DNS lookup of ${this.source.name} failed (${r.error}); keeping the last good list (${this.found.length} member(s)) until an answer comes`,
        );
      }
      this.error = r.error;
      this.schedule(Math.min(this.source.maxTtlMs, Math.max(this.source.minTtlMs, FAILURE_RETRY_MS)));
      return;
    }
    if (this.error) {
      this.o.logger.warn({ balancer: this.balancer, dns: this.source.name }, `balancer ${this.balancer}: DNS lookup of ${this.source.name} answers again`);
    }
    this.error = undefined;
    this.errorSince = undefined;
    this.lastOkAt = now;
    this.server = r.server;
    this.found = r.found;
    this.apply(ramp);
    this.schedule(nextLookupMs(r.ttls, this.source));
  }

  /** Brings the balancer's members of this source in line with the last good list. */
  private apply(ramp: boolean): void {
    const b = this.b;
    if (!b) return;
    const now = this.clock();
    const present: Present[] = this.mine(b).map((m) => ({ id: m.id, route: m.route, draining: this.drained.has(m.id) }));
    const steps = plan(this.source, present, this.found);
    const said: string[] = [];
    for (const s of steps) {
      const m = 'id' in s ? b.members.find((x) => x.id === s.id) : undefined;
      try {
        switch (s.kind) {
          case 'add': {
            const added = b.addMember(s.model, 'dns', { discovered: true });
            const kept = this.restoreKept(b, added);
            if (ramp) b.startRamp(added, 'dns', `new in DNS (${this.source.name})`);
            said.push(`${s.model.url} route ${s.found.route} joins${kept}`);
            break;
          }
          case 'drain':
            if (!m) break;
            this.drained.set(m.id, { since: now, model: m.model });
            b.setFlag(m, 'N', true, 'dns', `its name left DNS (${this.source.name}); removed once idle`);
            said.push(`${m.url} route ${m.route} left DNS: draining`);
            break;
          case 'undrain':
            if (!m) break;
            this.drained.delete(m.id);
            // A drain set in a manager (or by the fleet) stays: it is not DNS's to lift.
            if (!m.changedAtRuntime.has('status.N')) b.setFlag(m, 'N', false, 'dns', `back in DNS (${this.source.name})`);
            said.push(`${m.url} route ${m.route} is back`);
            break;
          case 'remove':
            if (!m) break;
            this.drained.delete(m.id);
            b.removeMember(m, 'dns', s.why);
            said.push(`${m.url} removed: ${s.why}`);
            break;
          case 'route':
            if (!m) break;
            b.setMember(m, { route: s.route }, 'dns', `its name in DNS says ${s.route}`);
            said.push(`${m.url} route ${s.route}`);
            break;
        }
      } catch (e) {
        this.o.logger.error({ balancer: this.balancer, dns: this.source.name }, `balancer ${this.balancer}: DNS ${this.source.name}: ${s.kind} failed: ${(e as Error).message}`);
      }
    }
    if (said.length) this.o.logger.warn({ balancer: this.balancer, dns: this.source.name }, `balancer ${this.balancer}: DNS ${this.source.name}: ${said.join('; ')}`);
    this.armDrainCheck();
  }

  /**
   * The settings a manager (or the fleet) had set for this member's identity before it went away
   * or moved, applied again; in words for the log ('' when there were none).
   */
  private restoreKept(b: BalancerState, m: MemberState): string {
    const r = b.restoreKept(m, 'dns', `kept for ${m.identity}: set at run time before it moved or left DNS`);
    for (const c of r.conflicts) this.o.logger.warn({ balancer: this.balancer, dns: this.source.name }, `balancer ${this.balancer}: DNS ${this.source.name}: ${m.identity} at ${m.url}: kept setting ${c}`);
    return r.applied.length ? ` with the settings kept for ${m.identity} (${r.applied.join(', ')})` : '';
  }

  /** Removes drained members once they are idle, no longer answer, or drained long enough. */
  private checkDrains(): void {
    const b = this.b;
    if (!b) return;
    const now = this.clock();
    for (const [id, { since }] of [...this.drained]) {
      const m = b.members.find((x) => x.id === id);
      if (!m) {
        this.drained.delete(id);
        continue;
      }
      const why = drainOver(m, since, now, this.source);
      if (!why) continue;
      this.drained.delete(id);
      b.removeMember(m, 'dns', `left DNS (${this.source.name}) and ${why}`);
    }
  }

  private armDrainCheck(): void {
    if (this.drainTimer || this.stopped || !this.drained.size) return;
    this.drainTimer = setInterval(() => {
      this.checkDrains();
      if (!this.drained.size) {
        clearInterval(this.drainTimer);
        this.drainTimer = undefined;
      }
    }, DRAIN_CHECK_MS).unref();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.nextAt = this.clock() + ms;
    this.timer = setTimeout(() => void this.lookupNow(true), ms).unref();
  }

  /** After a reload rebuilt the balancer from the config: its members of this source come back as they were. */
  restore(): void {
    const b = this.b;
    if (!b) return;
    // The last good list, without slow start (they were serving), and drained ones drained again.
    // Their settings made at run time come back with them.
    for (const f of this.found) {
      const model = memberModelOf(this.source, f);
      if (!b.members.some((m) => m.id === model.id) && !this.drained.has(model.id)) this.restoreKept(b, b.addMember(model, 'dns', { discovered: true }));
    }
    for (const { model } of this.drained.values()) {
      if (b.members.some((m) => m.id === model.id)) continue;
      const m = b.addMember(model, 'dns', { discovered: true });
      this.restoreKept(b, m);
      b.setFlag(m, 'N', true, 'dns', `its name left DNS (${this.source.name}); removed once idle`);
    }
    this.armDrainCheck();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.drainTimer);
  }

  view(): WatcherView {
    return {
      balancer: this.balancer,
      name: this.source.name,
      type: this.source.type,
      found: [...this.found],
      lastOkAt: this.lastOkAt,
      error: this.error,
      errorSince: this.errorSince,
      nextAt: this.nextAt,
      lookups: this.lookups,
      failures: this.failures,
      draining: [...this.drained].map(([id, d]) => ({ id, since: d.since })),
      server: this.server,
    };
  }
}
