// The owner's side of worker processes: forks them (node:cluster, direct children of this
// process), keeps their runtime state equal to its own, adds up what they count, replaces the ones
// that die, reloads them, replaces them all with the installed code (upgrade), reopens their logs
// and stops them. The owner runs everything but the data path: the runtime state, manager,
// health checks, launcher, rolling restarts and persistence (see docs/workers.md).
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import type { App } from '../app.js';
import type { StateChange } from '../balancer/balancer-state.js';
import type { ConfigModel, ListenerModel } from '../config/model.js';
import type { ServerStats } from '../proxy/server.js';
import { version } from '../manager/version.js';
import { METRICS } from '../manager/plugins.js';
import type { LoadFigures } from '../manager/metrics/load-monitor.js';
import { absorbCounts, forgetWorker, restoreBusy, type ServerFigures } from './counts.js';
import { workerEntry, workerExecArgv } from './entry.js';
import { startHandlerSocket, type HandlerSocket } from './handler-socket.js';
import { PROTOCOL_VERSION, unwrap, wrap, type OwnerMessage, type WorkerMessage } from './protocol.js';
import { ErrorRecovery } from './recovery.js';
import { LimitLedger } from './limit-ledger.js';
import { shareTarget } from './limit-share.js';
import { keepGone, sumViews, type EdgeView } from './edge-summary.js';
import { syncState, wireChange, type WireChange } from './state-sync.js';
import { allCertificates, ChallengeWatch, watchCertificates } from './tls-mirror.js';

export type WorkerPhase = 'starting' | 'ready' | 'draining';

/** One worker as the manager, server-status and metrics show it. */
export interface WorkerView {
  /** 1-based slot; a replaced worker keeps its slot. */
  index: number;
  /** Counts up with every upgrade and every reload that changes the listeners. */
  generation: number;
  pid: number;
  phase: WorkerPhase;
  version: string;
  startedAt: number;
  uptimeSeconds: number;
  /** Times the slot's worker died and was replaced. */
  restarts: number;
  requests: number;
  inFlight: number;
  connections: number;
  bytesIn: number;
  bytesOut: number;
  /** Its event-loop delay and GC pauses, once it reported them (while server-status or metrics are served). */
  load?: LoadFigures;
}

export interface WorkersView {
  owner: { pid: number; version: string; startedAt: number };
  generation: number;
  count: number;
  /** An upgrade or a replacement of every worker is under way. */
  replacing: boolean;
  workers: WorkerView[];
}

export interface PoolOptions {
  count: number;
  /** How long in-flight requests may take when workers stop or drain. */
  graceMs: number;
  /** How often workers send their counters (ms). */
  reportMs?: number;
  /** How long a change may wait for a worker's acknowledgement before the worker is replaced. */
  ackTimeoutMs?: number;
  /** How long a new worker may take to listen. */
  startTimeoutMs?: number;
}

interface Slot {
  index: number;
  generation: number;
  worker: ClusterWorker;
  pid: number;
  phase: WorkerPhase;
  /** Got its start message: receives changes and is waited for. */
  started: boolean;
  /** Said hello before the owner was ready: gets its start message once it is. */
  waiting: boolean;
  startedAt: number;
  restarts: number;
  version: string;
  acked: number;
  server: ServerFigures;
  /** In flight per balancer and member id, as this worker reported it. */
  busy: Map<string, Map<string, number>>;
  /** The edge's counters as this worker last reported them. */
  edge?: { counters: Record<string, number>; open: number };
  /** Its rate-limit figures and busiest clients as it last reported them. */
  edgeView?: EdgeView;
  /** Its event-loop delay and GC pauses as it last reported them. */
  load?: LoadFigures;
  addresses: ListenerModel[];
  /** Why it could not start, when it could not. */
  error?: string;
  /** Waiting for its logs to be reopened. */
  reopened?: () => void;
  exited: Promise<void>;
}

interface Waiter {
  seq: number;
  resolve(): void;
}

export class WorkerError extends Error {
  readonly code = 'ERR_WORKERS';
}

const ZERO: ServerFigures = { requests: 0, inFlight: 0, connections: 0, bytesIn: 0, bytesOut: 0 };

function listenersKey(c: ConfigModel): string {
  return JSON.stringify(c.listeners);
}

export class WorkerPool {
  private app!: App;
  count: number;
  generation = 1;
  /** Number of the last runtime change; workers acknowledge up to it. */
  seq = 0;
  private slots: Slot[] = [];
  private pending: WireChange[] = [];
  private flushQueued = false;
  private waiters: Waiter[] = [];
  private stopping = false;
  private replacing = false;
  /** The first workers listen: from now on a worker that dies is replaced. */
  private running = false;
  private socket?: HandlerSocket;
  private recovery?: ErrorRecovery;
  private busyTimer?: NodeJS.Timeout;
  private lastBusy = '';
  /** Figures of workers that are gone, so totals never go backwards. */
  private gone: ServerFigures = { ...ZERO };
  private goneEdge: Record<string, number> = {};
  private readonly goneRates = new Map<string, { allowed: number; limited: number }>();
  private readonly reportMs: number;
  private readonly ackTimeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly startedAt = Date.now();
  private readonly onChange = (c: StateChange) => this.queue(c);
  private unwatchCertificates?: () => void;
  private readonly challenges = new ChallengeWatch(
    (token, keyAuthorization) => this.broadcast({ t: 'challenge', token, keyAuthorization }),
    (name, material) => this.broadcast({ t: 'alpn-challenge', name, material }),
  );
  /** The balancer-wide counts of the edge's per-address and total limits (limit-ledger.ts). */
  private readonly limits = new LimitLedger({
    send: (pid, m) => {
      const s = this.slots.find((x) => x.pid === pid);
      if (s) this.send(s, { t: 'limit', m });
    },
  });

  constructor(private readonly opts: PoolOptions) {
    this.count = opts.count;
    this.reportMs = opts.reportMs ?? 100;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 2_000;
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  }

  /**
   * Forks the workers before the owner's App is ready: they load their code while the owner sets
   * up its plugins, and wait for their start message.
   */
  prefork(nodeArgs: string[]): void {
    for (let i = 1; i <= this.count; i++) this.fork(i, this.generation, 0, nodeArgs);
  }

  /** Starts the workers with the owner's state; resolves with the addresses they listen on once all of them listen. */
  async start(app: App): Promise<ListenerModel[]> {
    this.app = app;
    this.socket = await startHandlerSocket({ app });
    app.runtime.events.on('change', this.onChange);
    this.recovery = new ErrorRecovery(app.runtime);
    this.unwatchCertificates = watchCertificates(app.server.certificates, (names, material) => this.broadcast({ t: 'certificate', names, material }));
    this.challenges.follow(app.server.challenges);
    this.busyTimer = setInterval(() => {
      this.sendBusy();
      this.limits.tick(shareTarget(this.count));
    }, this.reportMs);
    this.busyTimer.unref();
    if (!this.slots.length) this.prefork(app.config.workers?.nodeArgs ?? []);
    const fresh = [...this.slots];
    for (const s of fresh) if (s.waiting) this.sendStart(s);
    try {
      await this.whenReady(fresh);
    } catch (e) {
      await this.stop(0);
      throw e;
    }
    this.running = true;
    return fresh[0].addresses;
  }

  // ---- Processes ----

  private fork(index: number, generation: number, restarts: number, nodeArgs = this.app.config.workers?.nodeArgs ?? []): Slot {
    // Every worker accepts from the listening sockets itself (as nginx's workers do): the owner is
    // not on the way of any connection, and a connection no worker has taken yet waits in the
    // kernel's queue for another one when a worker dies. (node:cluster's round robin would hand
    // each connection over from the owner, and one handed to a worker that just died hangs.)
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: workerEntry(), execArgv: workerExecArgv(process.execArgv, nodeArgs), serialization: 'advanced' });
    const worker = cluster.fork({ STICKYLB_WORKER: String(index) });
    let exited!: () => void;
    const slot: Slot = {
      index,
      generation,
      worker,
      pid: worker.process.pid ?? 0,
      phase: 'starting',
      started: false,
      waiting: false,
      startedAt: Date.now(),
      restarts,
      version: '',
      acked: 0,
      server: { ...ZERO },
      busy: new Map(),
      addresses: [],
      exited: new Promise<void>((r) => (exited = r)),
    };
    this.slots.push(slot);
    worker.on('message', (msg: unknown) => {
      const m = unwrap<WorkerMessage>(msg);
      if (m) this.onMessage(slot, m);
    });
    worker.on('exit', (code: number | null, signal: string | null) => {
      this.onExit(slot, code, signal);
      exited();
    });
    // A failed write to a worker that is going away is its exit's business, not an error here.
    worker.on('error', () => undefined);
    return slot;
  }

  private send(slot: Slot, m: OwnerMessage): void {
    if (!slot.worker.isConnected()) return;
    try {
      slot.worker.send(wrap(m));
    } catch {
      // The channel closed under us: the exit handler takes it from here.
    }
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    // A worker forked while the owner sets up says hello before the owner's App exists.
    const log = () => this.app.logger;
    switch (m.t) {
      case 'hello': {
        slot.version = m.version;
        slot.pid = m.pid;
        if (m.protocol !== PROTOCOL_VERSION) {
          slot.error = `the installed stickylb ${m.version} speaks worker protocol ${m.protocol}, this owner (stickylb ${version()}) speaks ${PROTOCOL_VERSION}: restart stickylb to run the new version`;
          slot.worker.kill('SIGKILL');
          return;
        }
        if (this.socket) this.sendStart(slot);
        else slot.waiting = true;
        return;
      }
      case 'ready':
        slot.phase = slot.phase === 'draining' ? 'draining' : 'ready';
        slot.addresses = m.addresses;
        log().info({ worker: slot.index, workerPid: slot.pid, generation: slot.generation }, `worker ${slot.index} (pid ${slot.pid}) is serving`);
        this.checkWaiters();
        return;
      case 'start-failed':
        slot.error = m.error;
        return;
      case 'ack':
        slot.acked = Math.max(slot.acked, m.seq);
        this.checkWaiters();
        return;
      case 'reloaded':
        slot.acked = Math.max(slot.acked, m.seq);
        for (const e of m.errors) log().error({ worker: slot.index, workerPid: slot.pid }, `worker ${slot.index}: reload: ${e}`);
        this.checkWaiters();
        return;
      case 'failure': {
        const b = this.app.runtime.balancers.get(m.balancer);
        const mem = b?.members.find((x) => x.id === m.member);
        if (b && mem) b.markFailure(mem, m.cause);
        return;
      }
      case 'counts':
        absorbCounts(this.app.runtime, m.counts.balancers, slot.busy);
        if (m.counts.metrics) this.app.get(METRICS)?.addTallies(m.counts.metrics);
        if (m.counts.edgeView) slot.edgeView = m.counts.edgeView;
        if (m.counts.edge || m.counts.edgeView) {
          if (m.counts.edge) slot.edge = m.counts.edge;
          this.sumEdge();
        }
        slot.server = m.counts.server;
        if (m.counts.load) slot.load = m.counts.load;
        return;
      case 'limit':
        this.limits.receive(slot.pid, m.m);
        return;
      case 'reopened':
        slot.reopened?.();
        return;
    }
  }

  private sendStart(slot: Slot): void {
    // Changes queued so far are in the state it gets now.
    this.flush();
    slot.waiting = false;
    slot.started = true;
    slot.acked = this.seq;
    this.send(slot, {
      t: 'start',
      index: slot.index,
      generation: slot.generation,
      config: this.app.config,
      state: syncState(this.app.runtime),
      seq: this.seq,
      handlerSocket: this.socket!.path,
      reportMs: this.reportMs,
      certificates: allCertificates(this.app.server.certificates),
      challenges: [...this.challenges.open],
      alpnChallenges: [...this.challenges.alpnOpen],
      limits: this.limits.join(slot.pid, shareTarget(this.count)),
    });
  }

  /** Sends a message to every worker that has its state. */
  private broadcast(m: OwnerMessage): void {
    for (const s of this.slots) if (s.started) this.send(s, m);
  }

  private onExit(slot: Slot, code: number | null, signal: string | null): void {
    this.slots = this.slots.filter((s) => s !== slot);
    if (!this.app) return;
    this.limits.leave(slot.pid, reserveMs(this.app.config));
    forgetWorker(this.app.runtime, slot.busy);
    this.gone = add(this.gone, slot.server);
    if (slot.edgeView) keepGone(this.goneRates, slot.edgeView);
    if (slot.edge || slot.edgeView) {
      for (const [k, v] of Object.entries(slot.edge?.counters ?? {})) this.goneEdge[k] = (this.goneEdge[k] ?? 0) + v;
      this.sumEdge();
    }
    this.checkWaiters();
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const log = this.app.logger.child({ worker: slot.index, workerPid: slot.pid, generation: slot.generation });
    if (slot.phase === 'draining' || this.stopping) {
      log.info(`worker ${slot.index} (pid ${slot.pid}) stopped (${how})`);
      return;
    }
    const ranMs = Date.now() - slot.startedAt;
    // Starting the workers (at start, or new ones replacing the old) reports its own failures.
    const replaced = this.running && slot.generation === this.generation && slot.index <= this.count;
    // A worker that keeps dying right after its start is restarted more and more slowly.
    const delay = ranMs < 5_000 && slot.restarts > 0 ? Math.min(30_000, 500 * 2 ** Math.min(slot.restarts - 1, 6)) : 0;
    const next = replaced ? `; starting a new one${delay ? ` in ${delay} ms` : ''}` : '';
    if (slot.phase === 'starting') log.error(`worker ${slot.index} (pid ${slot.pid}) could not start (${how})${slot.error ? `: ${slot.error}` : ''}${next}`);
    // Only the requests the worker had in flight were lost; the others never noticed.
    else log.error(`worker ${slot.index} (pid ${slot.pid}) died (${how}) after ${(ranMs / 1000).toFixed(1)}s${next}`);
    if (!replaced) return;
    const restart = () => {
      if (this.stopping || slot.index > this.count || this.slots.some((s) => s.index === slot.index && s.generation === this.generation)) return;
      this.fork(slot.index, this.generation, slot.restarts + 1);
    };
    if (delay) setTimeout(restart, delay).unref();
    else restart();
  }

  /** Resolves when every slot listens; rejects with the reason when one cannot start. */
  private whenReady(slots: Slot[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => done(new WorkerError(`workers did not start listening within ${this.startTimeoutMs} ms`)), this.startTimeoutMs);
      const timer = setInterval(() => check(), 20);
      let finished = false;
      const done = (err?: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(deadline);
        clearInterval(timer);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        const failed = slots.find((s) => s.error !== undefined || (!this.slots.includes(s) && s.phase === 'starting'));
        if (failed) return done(new WorkerError(failed.error ?? `worker ${failed.index} exited before it listened`));
        if (slots.every((s) => s.phase === 'ready')) done();
      };
    });
  }

  /**
   * The edge's counters of all workers together, in the owner's own (what <manager>/api/limits and
   * the metrics read).
   */
  private sumEdge(): void {
    const sum: Record<string, number> = { ...this.goneEdge };
    let open = 0;
    for (const s of this.slots) {
      if (!s.edge) continue;
      open += s.edge.open;
      for (const [k, v] of Object.entries(s.edge.counters)) sum[k] = (sum[k] ?? 0) + v;
    }
    const edge = this.app.server.edge;
    Object.assign(edge.counters, sum);
    edge.connections.open = open;
    edge.summary = sumViews(
      this.slots.flatMap((s) => (s.edgeView ? [s.edgeView] : [])),
      this.goneRates,
    );
  }

  // ---- State flowing to the workers ----

  private queue(c: StateChange): void {
    this.seq++;
    this.pending.push(wireChange(this.app.runtime, c, this.app.runtime.clock()));
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (!this.pending.length) return;
    const changes = this.pending;
    this.pending = [];
    this.broadcast({ t: 'changes', seq: this.seq, changes });
  }

  /**
   * Resolves once every worker has applied the changes up to `seq` (now: the last one), with the
   * workers that did. A worker that has not acknowledged within ackTimeoutMs is hung: it is
   * killed and replaced with the current state, so no worker goes on routing with a state the
   * answer says is gone; those are `replaced`.
   */
  settled(seq = this.seq): Promise<{ applied: number[]; replaced: number[] }> {
    this.flush();
    const waitedFor = this.slots.filter((s) => s.started && s.acked < seq);
    const result = () => ({ applied: this.slots.filter((s) => s.started && s.acked >= seq).map((s) => s.pid), replaced: [] as number[] });
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        if (!this.waiters.includes(w)) return;
        this.waiters = this.waiters.filter((x) => x !== w);
        const out = result();
        for (const s of waitedFor) {
          if (!this.slots.includes(s) || s.acked >= seq) continue;
          this.app.logger.error({ worker: s.index, workerPid: s.pid }, `worker ${s.index} (pid ${s.pid}) did not apply a state change within ${this.ackTimeoutMs} ms; replacing it`);
          s.worker.process.kill('SIGKILL');
          out.replaced.push(s.pid);
        }
        resolve(out);
      }, this.ackTimeoutMs);
      t.unref();
      const w: Waiter = {
        seq,
        resolve: () => {
          clearTimeout(t);
          resolve(result());
        },
      };
      this.waiters.push(w);
      this.checkWaiters();
    });
  }

  private checkWaiters(): void {
    if (!this.waiters.length) return;
    const min = Math.min(...this.slots.filter((s) => s.started).map((s) => s.acked), Infinity);
    const due = this.waiters.filter((w) => w.seq <= min);
    if (!due.length) return;
    this.waiters = this.waiters.filter((w) => w.seq > min);
    for (const w of due) w.resolve();
  }

  /** Tells each worker how many requests the other workers have in flight per member (bybusyness). */
  private sendBusy(): void {
    const rt = this.app.runtime;
    if (![...rt.balancers.values()].some((b) => b.lbmethod === 'bybusyness')) return;
    const total = new Map<string, Map<string, number>>();
    for (const s of this.slots) {
      for (const [b, held] of s.busy) {
        let t = total.get(b);
        if (!t) total.set(b, (t = new Map()));
        for (const [id, n] of held) t.set(id, (t.get(id) ?? 0) + n);
      }
    }
    const key = JSON.stringify([...total].map(([b, t]) => [b, [...t]]));
    if (key === this.lastBusy) return;
    this.lastBusy = key;
    for (const s of this.slots) {
      if (!s.started) continue;
      const others: Record<string, Record<string, number>> = {};
      for (const [b, t] of total) {
        const mine = s.busy.get(b);
        const o: Record<string, number> = {};
        for (const [id, n] of t) o[id] = n - (mine?.get(id) ?? 0);
        others[b] = o;
      }
      this.send(s, { t: 'busy', others });
    }
  }

  // ---- Operations ----

  /**
   * Gives every worker the owner's new config (the owner has reloaded already). A change of the
   * listeners replaces the workers instead: new ones listen on the new addresses (those that stay
   * are shared, so no connection is refused), then the old ones drain.
   */
  async reload(previous: ConfigModel, next: ConfigModel, nextCount: number): Promise<string[]> {
    restoreBusy(this.app.runtime, this.slots.map((s) => s.busy));
    this.challenges.follow(this.app.server.challenges);
    const errors: string[] = [];
    if (listenersKey(previous) !== listenersKey(next)) {
      this.count = nextCount;
      const r = await this.replace('the listeners changed');
      return r.ok ? errors : [r.message];
    }
    this.flush();
    const seq = ++this.seq;
    const state = syncState(this.app.runtime);
    const targets = this.slots.filter((s) => s.started && s.phase !== 'draining');
    for (const s of targets) this.send(s, { t: 'reload', seq, config: next, state });
    await this.settled(seq);
    await this.resize(nextCount);
    return errors;
  }

  /** Starts or drains workers until `count` serve. */
  private async resize(count: number): Promise<void> {
    const current = this.slots.filter((s) => s.generation === this.generation && s.phase !== 'draining');
    this.count = count;
    if (current.length < count) {
      const used = new Set(current.map((s) => s.index));
      const fresh: Slot[] = [];
      for (let i = 1; fresh.length + current.length < count; i++) if (!used.has(i)) fresh.push(this.fork(i, this.generation, 0));
      await this.whenReady(fresh).catch((e: Error) => this.app.logger.error(`workers: ${e.message}`));
    } else {
      for (const s of current.filter((x) => x.index > count)) this.drain(s);
    }
  }

  private drain(s: Slot): void {
    s.phase = 'draining';
    this.send(s, { t: 'stop', graceMs: this.opts.graceMs });
  }

  /**
   * Replaces every worker: new ones start (on the code installed now) and listen alongside the
   * old ones, then the old ones stop listening, finish their requests and keep-alive connections
   * and exit. When a new one cannot start, the new ones stop and the old ones go on serving.
   */
  async replace(why: string): Promise<{ ok: boolean; message: string; generation: number; pids: number[] }> {
    if (this.replacing) return { ok: false, message: 'workers are being replaced already', generation: this.generation, pids: [] };
    this.replacing = true;
    try {
      const next = this.generation + 1;
      const old = this.slots.filter((s) => s.generation <= this.generation);
      const fresh = Array.from({ length: this.count }, (_, i) => this.fork(i + 1, next, old.find((s) => s.index === i + 1)?.restarts ?? 0));
      try {
        await this.whenReady(fresh);
      } catch (e) {
        for (const s of fresh) this.drain(s);
        const message = `new workers did not start (${(e as Error).message}); the running ones go on serving`;
        this.app.logger.error(`workers: ${message}`);
        return { ok: false, message, generation: this.generation, pids: [] };
      }
      this.generation = next;
      // Every older worker, also one that replaced a dead one while the new ones started.
      for (const s of this.slots) if (s.generation < next && s.phase !== 'draining') this.drain(s);
      const pids = fresh.map((s) => s.pid);
      this.app.logger.warn(`workers: generation ${next} (pids ${pids.join(', ')}) serves, ${why}; the previous workers finish their requests and exit`);
      return { ok: true, message: `generation ${next} serves; ${old.length} previous worker(s) draining`, generation: next, pids };
    } finally {
      this.replacing = false;
    }
  }

  /** Reopens every worker's log files; resolves when they all have (or after 5 s). */
  async reopenLogs(): Promise<void> {
    const started = this.slots.filter((s) => s.started);
    await Promise.all(
      started.map(
        (s) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 5_000);
            t.unref();
            s.reopened = () => {
              clearTimeout(t);
              s.reopened = undefined;
              resolve();
            };
            this.send(s, { t: 'reopen' });
          }),
      ),
    );
  }

  /** Stops every worker: no new connections, in-flight requests finish within `graceMs`, then exit. */
  async stop(graceMs = this.opts.graceMs): Promise<void> {
    this.stopping = true;
    clearInterval(this.busyTimer);
    for (const s of this.slots) {
      s.phase = 'draining';
      this.send(s, { t: 'stop', graceMs });
    }
    const all = Promise.all(this.slots.map((s) => s.exited));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, graceMs + 5_000)))]);
    clearTimeout(timer);
    for (const s of this.slots) s.worker.process.kill('SIGKILL');
    await all;
    this.app?.runtime.events.off('change', this.onChange);
    this.recovery?.close();
    this.unwatchCertificates?.();
    this.challenges.close();
    await this.socket?.close();
  }

  // ---- What the manager, server-status and metrics show ----

  view(now = Date.now()): WorkersView {
    const order = (s: Slot) => s.generation * 1000 + s.index;
    return {
      owner: { pid: process.pid, version: version(), startedAt: this.startedAt },
      generation: this.generation,
      count: this.count,
      replacing: this.replacing,
      workers: [...this.slots]
        .sort((a, b) => order(a) - order(b))
        .map((s) => ({
          index: s.index,
          generation: s.generation,
          pid: s.pid,
          phase: s.phase,
          version: s.version,
          startedAt: s.startedAt,
          uptimeSeconds: Math.max(0, Math.floor((now - s.startedAt) / 1000)),
          restarts: s.restarts,
          ...s.server,
          load: s.load,
        })),
    };
  }

  /** The listener figures of all workers together (what server-status shows for a single process). */
  stats(): ServerStats {
    let t = { ...this.gone, inFlight: 0, connections: 0 };
    for (const s of this.slots) t = add(t, s.server);
    return { startedAt: this.startedAt, ...t };
  }
}

/**
 * How long a dead worker's share stays given: two of the longest rate window, after which the
 * requests it counted no longer weigh in any estimate. Connections close with their worker.
 */
function reserveMs(config: ConfigModel): number {
  let w = 0;
  for (const site of config.sites) for (const r of site.rateLimits ?? []) w = Math.max(w, r.windowMs);
  return 2 * w;
}

function add(a: ServerFigures, b: ServerFigures): ServerFigures {
  const byVersion = { ...a.byVersion };
  for (const [v, n] of Object.entries(b.byVersion ?? {})) byVersion[v] = (byVersion[v] ?? 0) + n;
  return {
    requests: a.requests + b.requests,
    inFlight: a.inFlight + b.inFlight,
    connections: a.connections + b.connections,
    bytesIn: a.bytesIn + b.bytesIn,
    bytesOut: a.bytesOut + b.bytesOut,
    byVersion,
    tlsRequests: (a.tlsRequests ?? 0) + (b.tlsRequests ?? 0),
  };
}
