// One balancer's part of a fleet: keeps the shared settings (entries with versions) in step with
// Redis and with this balancer's runtime state. Local changes made in the manager and by rolling
// restarts become entries stored in Redis and published; entries published by the others are
// applied through the runtime-state API. Redis may go away at any time: the balancer serves on
// with the state it has, keeps its own changes, and on return resynchronises (a Redis that came
// back empty is seeded again); conflicting changes are settled by version and logged. Nothing
// here runs per request.
import { randomUUID } from 'node:crypto';
import type { StateChange } from '../balancer/balancer-state.js';
import type { RuntimeState } from '../balancer/runtime.js';
import type { FleetModel } from '../config/fleet-model.js';
import type { ConfigModel } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import { applyEntry, changeValue, decodeKey, describeEntry, dropsUnseen, encodeKey, identityIn, parseEntry, sameEntry, sharedKeyOf, wins, type Entry, type SharedKey } from './entries.js';
import { FleetStore, type Beat, type ChangeMessage } from './store.js';
import { VersionClock } from './version.js';
import { parseHeartbeat, type Heartbeat, type MemberReport } from './heartbeat.js';

export interface FleetInfo {
  address: string;
  version: string;
  startedAt: number;
  workers: number;
}

/** The fleet's entries as this balancer saved them locally (its cache for Redis outages). */
export interface CachedFleet {
  name: string;
  epoch?: string;
  entries: Record<string, Entry>;
  /** Entries changed here and not stored in Redis yet. */
  unshared: string[];
  /** For those: the highest version of the setting each was made from (see Pending.known). */
  known?: Record<string, number>;
}

/** A setting waiting to be stored in Redis. */
interface Pending {
  /**
   * A copy of a setting the fleet had, stored again into a Redis that lost it (re-seeding): not a
   * change made here, so it conflicts with nothing.
   */
  copy?: boolean;
  /**
   * For a change made here: the highest version of the setting it was made from or has been
   * compared with already. A stored entry above it that this change replaces, or that replaces
   * it, is a conflict (dropsUnseen).
   */
  known?: number;
}

export interface FleetOptions {
  model: FleetModel;
  id: string;
  runtime: RuntimeState;
  config: () => ConfigModel;
  logger: Logger;
  info: () => FleetInfo;
  clock?: () => number;
  /** What the local cache had at start. */
  cached?: CachedFleet;
  /** Called when the entries changed, so the local cache is saved. */
  onCacheChange?: () => void;
  /** Redis access (tests may pass their own). */
  store?: FleetStore;
}

export interface Conflict {
  at: number;
  what: string;
  kept: string;
  dropped: string;
}

export interface PeerState extends Heartbeat {
  /** How long ago it beat, by Redis's clock (ms). */
  ageMs: number;
  live: boolean;
}

export interface SettleResult {
  /** Stored in Redis: the others have it or will get it. */
  stored: boolean;
  /** Why not, when not. */
  reason?: string;
  seq?: number;
  /** Balancers that applied the change, with the time it took until their acknowledgement arrived (ms). */
  applied: { id: string; ms: number }[];
  /** Live balancers that had not said so when the answer went out. */
  pending: string[];
}

type Waiter = { seq: number; resolve: () => void };

const CONFLICT_MEMORY = 50;

export class Fleet {
  readonly id: string;
  readonly model: FleetModel;
  readonly store: FleetStore;
  private readonly runtime: RuntimeState;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly versions: VersionClock;

  /** The shared settings as this balancer knows them, by Redis field. */
  readonly entries = new Map<string, Entry>();
  /** Fields to store in Redis: changed here and not stored yet, or copies to seed it with. */
  private readonly unshared = new Map<string, Pending>();
  /** Sequence number of the last write of each field this balancer stored. */
  private readonly writeSeq = new Map<string, number>();
  epoch = '';
  appliedSeq = 0;
  /** Redis answers and the state is in step with it. */
  synced = false;
  /** When Redis was last lost (or, before the first contact, when the balancer started). */
  downSince: number;
  lastError = '';
  /** The first successful synchronisation happened. */
  everSynced = false;
  /** Shared settings changed here since the last settle(). */
  private touched = new Set<string>();
  private syncing?: Promise<void>;
  private flushing?: Promise<void>;
  /** The field being written now, and the changes of it received from the others meanwhile. */
  private writing?: { field: string; received: string[] };
  private queue: ChangeMessage[] = [];
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private seenSeqBehind = false;
  private readonly waiters = new Set<Waiter>();
  /** Highest sequence number each balancer said it applied. */
  private readonly acked = new Map<string, { seq: number; at: number }>();
  private readonly storedAt = new Map<number, number>();
  readonly conflicts: Conflict[] = [];
  conflictCount = 0;
  /** The others, from the last heartbeat round. */
  peers = new Map<string, PeerState>();
  redisNow = 0;
  /** Entries that cannot be applied here (reason), by field; logged once. */
  private readonly refused = new Map<string, string>();
  /** Members whose health check failure this balancer took from another balancer's verdict. */
  private readonly borrowedFailures = new Set<string>();

  constructor(private readonly o: FleetOptions) {
    this.id = o.id;
    this.model = o.model;
    this.runtime = o.runtime;
    this.logger = o.logger;
    this.clock = o.clock ?? Date.now;
    this.versions = new VersionClock(this.clock);
    this.downSince = this.clock();
    this.store = o.store ?? new FleetStore(o.model, o.id);
    if (o.cached && o.cached.name === o.model.name) {
      this.epoch = o.cached.epoch ?? '';
      for (const [field, e] of Object.entries(o.cached.entries ?? {})) {
        if (!decodeKey(field) || typeof e?.v !== 'number') continue;
        this.entries.set(field, e);
        this.versions.see(e.v);
      }
      for (const field of o.cached.unshared ?? []) {
        const known = o.cached.known?.[field];
        if (this.entries.has(field)) this.unshared.set(field, { known: typeof known === 'number' ? known : undefined });
      }
    }
  }

  // ---- Life cycle ----

  start(): void {
    this.runtime.events.on('change', this.onLocalChange);
    this.store.on('ready', () => void this.sync('connected'));
    this.store.on('down', (reason) => this.lost(reason));
    this.store.on('subscribed', () => {
      // Messages sent while the subscription was away are lost: catch up from the state.
      if (this.everSynced) void this.sync('subscription restarted');
    });
    this.store.on('change', (m) => this.onMessage(m));
    this.store.on('ack', (id, seq) => this.onAck(id, seq));
    this.store.start();
    const tick = () => {
      if (this.stopped) return;
      void this.beat().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.model.heartbeatMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.runtime.events.off('change', this.onLocalChange);
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
    await this.flushing?.catch(() => undefined);
    await this.store.leave();
    await this.store.close();
  }

  /** What the local cache keeps. */
  cache(): CachedFleet {
    const unshared: string[] = [];
    const known: Record<string, number> = {};
    for (const [field, p] of this.unshared) {
      if (p.copy) continue;
      unshared.push(field);
      if (p.known !== undefined) known[field] = p.known;
    }
    return { name: this.model.name, epoch: this.epoch || undefined, entries: Object.fromEntries(this.entries), unshared, known };
  }

  /** Changes made here that are not stored in Redis yet. */
  get pendingChanges(): number {
    let n = 0;
    for (const p of this.unshared.values()) if (!p.copy) n++;
    return n;
  }

  // ---- Redis connection state ----

  private lost(reason: string): void {
    this.lastError = reason;
    if (!this.synced) return;
    this.synced = false;
    this.downSince = this.clock();
    this.logger.error(
      { fleet: this.model.name, reason },
      `fleet ${this.model.name}: lost Redis (${reason}); serving on with the state in force; changes made now apply here and are shared once Redis is back`,
    );
  }

  /** Brings this balancer and Redis in step: seeds an empty Redis, applies what is newer there, stores what is newer here. */
  sync(why: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.syncing ??= this.doSync(why).finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async doSync(why: string): Promise<void> {
    const wasSynced = this.synced;
    this.synced = false;
    // A write under way ends first (flush stops after it): each conflict is then settled by one
    // comparison, the write's or the one below.
    await this.flushing?.catch(() => undefined);
    let snap;
    let seeded = false;
    try {
      const e = await this.store.ensureEpoch(randomUUID());
      seeded = e.created;
      snap = await this.store.snapshot();
    } catch (err) {
      this.lastError = (err as Error).message;
      if (wasSynced) {
        this.synced = true;
        this.lost(this.lastError);
      }
      return;
    }
    const report = { applied: 0, pushed: 0, conflicts: 0 };
    const epochChanged = !!this.epoch && snap.epoch !== this.epoch;
    const remote = new Map<string, Entry>();
    for (const [field, raw] of Object.entries(snap.state)) {
      const e = parseEntry(raw);
      if (e && decodeKey(field)) remote.set(field, e);
    }
    for (const [field, r] of remote) {
      this.versions.see(r.v);
      const local = this.entries.get(field);
      // A write that timed out went through after all.
      if (sameEntry(local, r)) {
        this.unshared.delete(field);
        continue;
      }
      const p = this.unshared.get(field);
      if (p) {
        if (wins(local!, r)) {
          // Ours is later: it stays and is stored below. A change stored there that ours was not
          // made from is overruled: logged here, and the write then compares with what is newer.
          if (!p.copy && dropsUnseen(r, local!, p.known)) this.conflict(field, local!, r);
          if (!p.copy) p.known = Math.max(p.known ?? r.v, r.v);
          continue;
        }
        if (!p.copy) this.conflict(field, r, local!);
        this.unshared.delete(field);
      }
      if (!local || wins(r, local)) {
        this.entries.set(field, r);
        if (this.apply(field, r) === 'applied') report.applied++;
      } else if (local.v > 0) {
        // Redis holds an older value than we know (it was seeded from an older copy): store ours.
        this.unshared.set(field, { copy: true });
      }
    }
    // What Redis does not have is stored: a Redis without this fleet's state (new, or restarted
    // empty) is seeded again, not taken as "no changes". Entries without a version come from a
    // state saved before this balancer was in a fleet: they seed a new fleet only.
    for (const [field, e] of this.entries) {
      if (e.v === 0 && !remote.has(field) && !seeded) {
        this.unshared.delete(field);
        this.entries.delete(field);
      } else if (!remote.has(field) && !this.unshared.has(field)) this.unshared.set(field, { copy: true });
    }
    report.pushed = this.unshared.size;
    report.conflicts = this.conflictCount;
    this.epoch = snap.epoch;
    this.appliedSeq = snap.seq;
    this.seenSeqBehind = false;
    this.synced = true;
    const first = !this.everSynced;
    this.everSynced = true;
    this.lastError = '';
    if (seeded) {
      this.logger.warn(
        { fleet: this.model.name, settings: report.pushed },
        `fleet ${this.model.name}: Redis had no state for this fleet (new, or restarted empty): seeding it with ${report.pushed} setting(s) from this balancer`,
      );
    } else if (epochChanged) {
      this.logger.warn({ fleet: this.model.name }, `fleet ${this.model.name}: Redis's state was replaced (another copy, e.g. after a failover): resynchronised`);
    }
    if (first) {
      this.logger.warn({ fleet: this.model.name, id: this.id }, `fleet ${this.model.name}: joined as ${this.id} (${report.applied} shared setting(s) applied, ${report.pushed} to share)`);
    } else if (!wasSynced) {
      this.logger.warn(
        { fleet: this.model.name, why, applied: report.applied, pushed: report.pushed },
        `fleet ${this.model.name}: Redis is back (${why}) after ${Math.round((this.clock() - this.downSince) / 100) / 10}s: resynchronised, ${report.applied} shared setting(s) applied, ${report.pushed} stored`,
      );
    }
    this.o.onCacheChange?.();
    await this.store.ack(this.appliedSeq).catch(() => undefined);
    // Messages that arrived meanwhile are checked against what we have now.
    const queued = this.queue;
    this.queue = [];
    for (const m of queued) this.onMessage(m);
    this.scheduleFlush();
  }

  // ---- Local changes ----

  private onLocalChange = (c: StateChange) => {
    // A member that appears (added in the manager, found by DNS, back after a reload) gets the
    // shared settings waiting for it.
    // After what adds it has done (discovery gives a member found again the settings it kept for
    // it): the fleet's shared values are the newest.
    if (c.field === 'member' && c.member && c.to !== undefined) {
      const { balancer, member } = c;
      queueMicrotask(() => this.applyWaiting(balancer, member));
    }
    if (c.by === 'health' && c.field === 'status.C' && c.to === false && this.model.health === 'shared' && c.member) this.keepBorrowedFailure(c.balancer, c.member);
    const k = sharedKeyOf(c, identityIn(this.runtime));
    if (!k) return;
    const field = encodeKey(k);
    const value = changeValue(k, c, this.clock());
    const e: Entry = { value, v: this.versions.next(), o: this.id, by: c.by };
    // Made from the value in force here: a change stored elsewhere meanwhile is a conflict.
    const p = this.unshared.get(field);
    if (!p || p.copy) this.unshared.set(field, { known: this.entries.get(field)?.v });
    this.entries.set(field, e);
    this.touched.add(field);
    this.o.onCacheChange?.();
    this.scheduleFlush();
  };

  private scheduleFlush(): void {
    if (!this.synced || this.flushing || !this.unshared.size) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.synced && this.unshared.size) this.scheduleFlush();
    });
  }

  private async flush(): Promise<void> {
    // Oldest first, so the order of changes is kept.
    const fields = [...this.unshared.keys()].sort((a, b) => this.entries.get(a)!.v - this.entries.get(b)!.v);
    for (const field of fields) {
      if (!this.synced) return;
      const e = this.entries.get(field);
      const p = this.unshared.get(field);
      if (!e || !p) continue;
      // Changes of this field received meanwhile wait for the write's answer: the order in which
      // Redis took them decides who settles a conflict (once: this write or theirs).
      const writing = { field, received: [] as string[] };
      this.writing = writing;
      let r;
      try {
        r = await this.store.write(field, JSON.stringify(e), e.v, e.o);
      } catch (err) {
        this.writing = undefined;
        this.takeReceived(writing);
        this.lost((err as Error).message);
        return;
      }
      this.writing = undefined;
      // Changed here again while it was being written: the next round stores the new value.
      const again = this.entries.get(field) !== e;
      if (r.stored) {
        this.writeSeq.set(field, r.seq!);
        this.storedAt.set(r.seq!, this.clock());
        if (this.storedAt.size > 1000) this.storedAt.delete(this.storedAt.keys().next().value!);
        // Compared in the same step as the write: a change stored there that ours was not made
        // from is overruled now (this balancer's change won).
        const prev = r.previous ? parseEntry(r.previous) : undefined;
        if (prev && !p.copy && dropsUnseen(prev, e, p.known)) this.conflict(field, e, prev);
        const q = this.unshared.get(field);
        if (!again) this.unshared.delete(field);
        else if (q && !q.copy) q.known = Math.max(q.known ?? e.v, e.v);
      } else {
        // Changed here again meanwhile: that change is stored next, and compared then.
        const cur = r.current ? parseEntry(r.current) : undefined;
        if (!again) this.unshared.delete(field);
        // The same entry: an earlier write that timed out went through after all. Otherwise a
        // later change was stored first: ours lost (a copy stored again while re-seeding lost nothing).
        if (cur && !again && !sameEntry(cur, e)) {
          if (!p.copy) this.conflict(field, cur, e);
          this.entries.set(field, cur);
          this.versions.see(cur.v);
          this.apply(field, cur);
        }
      }
      this.takeReceived(writing);
    }
    this.o.onCacheChange?.();
  }

  /** The changes of a field received while it was being written, taken now that the write's answer is in. */
  private takeReceived(w: { field: string; received: string[] }): void {
    if (!w.received.length) return;
    for (const raw of w.received) this.take(w.field, raw);
    this.store.ack(this.appliedSeq).catch(() => undefined);
  }

  /**
   * Waits until the changes made so far are stored in Redis, then (at most ackWait) until every
   * live balancer has applied them. Says so when Redis is away: the change then applies here only.
   */
  async settle(fields?: string[]): Promise<SettleResult | undefined> {
    const mine = fields ?? [...this.touched];
    if (!fields) this.touched = new Set();
    if (!mine.length) return undefined;
    if (!this.synced) {
      const since = new Date(this.downSince).toISOString();
      const reason = this.everSynced
        ? `Redis is unreachable (since ${since}: ${this.lastError || 'no answer'}): the change applies to this balancer only until Redis is back, then it is shared`
        : `this balancer has not reached Redis yet (${this.lastError || 'connecting'}): the change applies to this balancer only until Redis is reachable, then it is shared`;
      return { stored: false, reason, applied: [], pending: [] };
    }
    while (mine.some((f) => this.unshared.has(f))) {
      if (!this.synced) return this.settle(mine);
      this.scheduleFlush();
      await (this.flushing ?? new Promise((r) => setTimeout(r, 10)));
    }
    const seq = Math.max(0, ...mine.map((f) => this.writeSeq.get(f) ?? 0));
    if (!seq) return { stored: true, applied: [], pending: [] };
    return { stored: true, seq, ...(await this.waitForAcks(seq, this.model.ackWaitMs)) };
  }

  /** Live balancers (others) that applied everything up to `seq`, waiting at most `ms` for the rest. */
  async waitForAcks(seq: number, ms: number): Promise<{ applied: { id: string; ms: number }[]; pending: string[] }> {
    const others = () => [...this.peers.values()].filter((p) => p.live && p.id !== this.id).map((p) => p.id);
    const done = () => others().every((id) => (this.acked.get(id)?.seq ?? 0) >= seq);
    if (!done() && ms > 0) {
      await new Promise<void>((resolve) => {
        const w: Waiter = { seq, resolve };
        const t = setTimeout(() => {
          this.waiters.delete(w);
          resolve();
        }, ms);
        t.unref();
        w.resolve = () => {
          clearTimeout(t);
          this.waiters.delete(w);
          resolve();
        };
        this.waiters.add(w);
        // Acks may already be in.
        if (done()) w.resolve();
      });
    }
    const t0 = this.storedAt.get(seq) ?? this.clock();
    const applied = [{ id: this.id, ms: 0 }];
    const pending: string[] = [];
    for (const id of others()) {
      const a = this.acked.get(id);
      if (a && a.seq >= seq) applied.push({ id, ms: Math.max(0, a.at - t0) });
      else pending.push(id);
    }
    return { applied, pending };
  }

  private onAck(id: string, seq: number): void {
    const prev = this.acked.get(id);
    if (!prev || seq > prev.seq) this.acked.set(id, { seq, at: this.clock() });
    if (id === this.id) return;
    for (const w of [...this.waiters]) {
      const others = [...this.peers.values()].filter((p) => p.live && p.id !== this.id);
      if (others.every((p) => (this.acked.get(p.id)?.seq ?? 0) >= w.seq)) w.resolve();
    }
  }

  // ---- Changes from the others ----

  private onMessage(m: ChangeMessage): void {
    if (!this.synced || this.syncing) {
      if (this.queue.length < 10_000) this.queue.push(m);
      return;
    }
    if (m.epoch !== this.epoch) {
      void this.sync('Redis state replaced');
      return;
    }
    const deferred = this.take(m.field, m.raw) === 'deferred';
    if (m.seq > this.appliedSeq + 1) {
      // A message went missing: catch up from the whole state.
      void this.sync('missed a change');
      return;
    }
    if (m.seq > this.appliedSeq) {
      this.appliedSeq = m.seq;
      // A deferred change is acknowledged once taken.
      if (!deferred) this.store.ack(m.seq).catch(() => undefined);
    }
  }

  /** One entry from Redis: applied when it is later than ours; deferred while that field is being written. */
  private take(field: string, raw: string): 'deferred' | undefined {
    if (this.writing?.field === field) {
      this.writing.received.push(raw);
      return 'deferred';
    }
    const e = parseEntry(raw);
    if (!e || !decodeKey(field)) return;
    this.versions.see(e.v);
    const local = this.entries.get(field);
    if (sameEntry(local, e)) return;
    if (!wins(e, local)) return;
    const p = this.unshared.get(field);
    if (p) {
      // Ours, not stored yet, lost to a later change stored first.
      if (!p.copy) this.conflict(field, e, local!);
      this.unshared.delete(field);
    }
    this.entries.set(field, e);
    this.apply(field, e);
    this.o.onCacheChange?.();
  }

  private apply(field: string, e: Entry): string {
    const k = decodeKey(field)!;
    const out = applyEntry(this.runtime, k, e, this.o.config(), this.clock());
    if (typeof out === 'object') {
      if (this.refused.get(field) !== out.refused) {
        this.refused.set(field, out.refused);
        this.logger.warn({ fleet: this.model.name }, `fleet ${this.model.name}: ${describeEntry(k, e.value)} (from ${e.by} on ${e.o}) cannot be applied here: ${out.refused}`);
      }
      return 'refused';
    }
    this.refused.delete(field);
    return out;
  }

  /** The shared settings of a member that was just added (by its identity). */
  private applyWaiting(balancer: string, id: string): void {
    if (this.stopped) return;
    const m = this.runtime.balancers.get(balancer)?.members.find((x) => x.id === id);
    if (!m) return;
    for (const [field, e] of this.entries) {
      const k = decodeKey(field);
      if (!k || k.kind === 'balancer' || k.kind === 'added' || k.balancer !== balancer || k.member !== m.identity) continue;
      this.apply(field, e);
    }
  }

  /**
   * Applies every shared setting again (after a reload, whose config may have changed values the
   * fleet shares: the shared value stays). Returns the settings that were changed back.
   */
  reapply(): string[] {
    const out: string[] = [];
    for (const [field, e] of this.entries) {
      const k = decodeKey(field);
      if (!k || k.kind === 'ramp') continue;
      if (this.apply(field, e) === 'applied') out.push(describeEntry(k, e.value));
    }
    return out;
  }

  private conflict(field: string, kept: Entry, dropped: Entry): void {
    const k = decodeKey(field)!;
    const who = (e: Entry) => `${describeEntry(k, e.value)} (${e.by} on ${e.o} at ${new Date(e.v).toISOString()})`;
    const c: Conflict = { at: this.clock(), what: field, kept: who(kept), dropped: who(dropped) };
    this.conflicts.push(c);
    if (this.conflicts.length > CONFLICT_MEMORY) this.conflicts.shift();
    this.conflictCount++;
    this.logger.warn(
      { fleet: this.model.name, kept: c.kept, dropped: c.dropped },
      `fleet ${this.model.name}: conflicting changes made while Redis was away or at the same time, settled by version (the later one wins): kept ${c.kept}; dropped ${c.dropped}`,
    );
  }

  // ---- Heartbeats and the others ----

  /** This balancer's heartbeat: who it is, what it applied, how it sees each member. */
  heartbeat(): Heartbeat {
    const info = this.o.info();
    const members: Record<string, Record<string, MemberReport>> = {};
    for (const b of this.runtime.named()) {
      const out: Record<string, MemberReport> = {};
      for (const m of b.members) {
        const h = m.model.health;
        const verdict = h && m.health.checks > 0 ? (m.health.last === 'fail' && m.health.consecutiveFails >= h.fails ? 'fail' : 'pass') : undefined;
        out[m.id] = { f: m.flagString(), r: m.route, b: m.busy, s: m.lastStickyAt, ...(m.flags.E || m.flags.C ? { c: m.flags.E ? m.errorCause : (m.health.lastDetail ?? '') } : {}), ...(verdict ? { h: verdict, hd: m.health.lastDetail ?? '' } : {}) };
      }
      members[b.name] = out;
    }
    return { id: this.id, address: info.address, version: info.version, startedAt: info.startedAt, workers: info.workers, seq: this.appliedSeq, epoch: this.epoch, clock: this.clock(), members };
  }

  private async beat(): Promise<void> {
    if (!this.store.connected) {
      if (this.synced) this.lost(this.lastError || 'not connected');
      return;
    }
    let beat: Beat;
    try {
      beat = await this.store.heartbeat(JSON.stringify(this.heartbeat()), Math.max(3_600_000, this.model.peerTimeoutMs * 10));
    } catch (err) {
      this.lost((err as Error).message);
      return;
    }
    this.redisNow = beat.now;
    const peers = new Map<string, PeerState>();
    for (const [id, { at, json }] of beat.balancers) {
      const hb = parseHeartbeat(json);
      if (!hb) continue;
      const ageMs = Math.max(0, beat.now - at);
      peers.set(id, { ...hb, id, ageMs, live: ageMs <= this.model.peerTimeoutMs });
      const a = this.acked.get(id);
      if (!a || hb.seq > a.seq) this.acked.set(id, { seq: hb.seq, at: this.clock() });
    }
    this.peers = peers;
    for (const w of [...this.waiters]) if ([...peers.values()].filter((p) => p.live && p.id !== this.id).every((p) => (this.acked.get(p.id)?.seq ?? 0) >= w.seq)) w.resolve();
    if (!this.synced) {
      await this.sync('Redis answers again');
      return;
    }
    if (beat.epoch !== this.epoch) {
      await this.sync(beat.epoch ? 'Redis state replaced' : 'Redis lost its state');
      return;
    }
    // A change stored but never received (seen on two heartbeats in a row): catch up.
    if (beat.seq > this.appliedSeq) {
      if (this.seenSeqBehind) await this.sync('missed a change');
      this.seenSeqBehind = true;
    } else this.seenSeqBehind = false;
    if (this.model.health === 'shared') this.shareHealth();
  }

  /** Live balancers, this one included, as of the last heartbeat round. */
  livePeers(): PeerState[] {
    return [...this.peers.values()].filter((p) => p.live);
  }

  // ---- Shared health verdicts ----

  /** Failed health check verdicts of the other live balancers for a member, in words. */
  private failuresElsewhere(balancer: string, member: string): string[] {
    const out: string[] = [];
    for (const p of this.livePeers()) {
      if (p.id === this.id) continue;
      const r = p.members[balancer]?.[member];
      if (r?.h === 'fail') out.push(`${p.id}: ${r.hd ?? 'failed'}`);
    }
    return out;
  }

  /** With shared verdicts, a member fails its health check everywhere while one balancer's check fails. */
  private shareHealth(): void {
    for (const b of this.runtime.named()) {
      for (const m of b.members) {
        const key = `${b.name}\u0000${m.id}`;
        const elsewhere = this.failuresElsewhere(b.name, m.id);
        if (elsewhere.length && !m.flags.C) {
          this.borrowedFailures.add(key);
          b.setFlag(m, 'C', true, 'fleet', `health check failed on ${elsewhere.join('; ')}`);
        } else if (!elsewhere.length && this.borrowedFailures.has(key)) {
          this.borrowedFailures.delete(key);
          const own = m.model.health && m.health.last === 'fail' && m.health.consecutiveFails >= m.model.health.fails;
          if (m.flags.C && !own) b.setFlag(m, 'C', false, 'fleet', 'health checks pass on every balancer');
        }
      }
    }
  }

  /** Our own check passed while another balancer's fails: the member stays out. */
  private keepBorrowedFailure(balancer: string, member: string): void {
    const elsewhere = this.failuresElsewhere(balancer, member);
    if (!elsewhere.length) return;
    const b = this.runtime.balancer(balancer);
    const m = b?.members.find((x) => x.id === member);
    if (!b || !m) return;
    this.borrowedFailures.add(`${b.name}\u0000${m.id}`);
    b.setFlag(m, 'C', true, 'fleet', `health check failed on ${elsewhere.join('; ')}`);
  }
}

export type { SharedKey };
