// A worker process (forked by the owner, owner.ts): runs the data path — the same StickyServer
// with the same config model, both engines, WebSocket and every listener — and nothing else. Its
// runtime state follows the owner's (state-sync.ts); what its requests count goes to the owner
// (counts.ts); manager, server-status and metrics requests go to the owner (relay.ts).
import { App } from '../app.js';
import { RuntimeState } from '../balancer/runtime.js';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import type { ConfigModel } from '../config/model.js';
import { resolveConfigPath } from '../config/base-dir.js';
import { createLogger, type Logger } from '../log/logger.js';
import { logsPlugin, type LogsPlugin } from '../log/plugin.js';
import { staticPlugin } from '../static/plugin.js';
import type { Plugin } from '../plugin/contract.js';
import { version } from '../manager/version.js';
import { startIdleTrim, type IdleTrim } from '../util/idle-memory.js';
import { Metrics } from '../manager/metrics/metrics.js';
import { useLoadMonitor } from '../manager/metrics/load-monitor.js';
import { CountTally, instrument, setOthersBusy, type ServerFigures } from './counts.js';
import { applyChange, applySyncState } from './state-sync.js';
import { relayHandler } from './relay.js';
import { PROTOCOL_VERSION, unwrap, wrap, type CertificateWire, type OwnerMessage, type WorkerMessage } from './protocol.js';
import { Challenges } from '../acme/challenges.js';
import type { CertificateStore } from '../tls/certificate-store.js';
import { LimitLink } from './limit-link.js';
import { bucketKeyOf } from './limit-share.js';
import { SharedConnections, SharedRates } from './shared-limits.js';
import type { EdgeView } from './edge-summary.js';
import { busiest } from '../edge/conn-limit.js';

function putCertificate(store: CertificateStore, names: string[], material: CertificateWire['material'] | undefined, logger: Logger): void {
  try {
    if (material) store.put(names, material);
    else store.remove(names);
  } catch (e) {
    logger.error(`certificate for ${names.join(', ')} from the owner: ${(e as Error).message}`);
  }
}

const HANDLERS = ['balancer-manager', 'server-status', 'metrics'] as const;

/** How often the event-loop delay and GC figures go to the owner (ms). */
const LOAD_REPORT_MS = 1000;

/** A connection with no request for this long while the worker drains is idle, and closed. */
const DRAIN_IDLE_MS = 250;

function send(m: WorkerMessage, cb?: () => void): void {
  if (!process.connected) return cb?.();
  process.send!(wrap(m), undefined, {}, () => cb?.());
}

/**
 * The edge's connection and rate counts shared with the other workers, put in before the
 * listeners open.
 */
function sharedLimits(m: Extract<OwnerMessage, { t: 'start' }>): { link: LimitLink; plugin: Plugin } {
  let server: App['server'] | undefined;
  const connections = new SharedConnections(
    () => link,
    () => (server ?? { config: m.config }).config.edge,
  );
  const rates = new SharedRates(() => link);
  const link: LimitLink = new LimitLink({
    send: (x) => send({ t: 'limit', m: x }),
    start: m.limits,
    gaugeUsed: (key) => connections.used(key),
    gaugeLimit: (key) => connections.limitOf(key),
    bucket: (key, windowMs, now) => rates.local.bucketByKey(bucketKeyOf(key), windowMs, now),
  });
  const plugin: Plugin = {
    name: 'shared-limits',
    setup(app) {
      server = app.server;
      app.server.edge.connections = connections;
      app.server.edge.rates = rates;
    },
  };
  return { link, plugin };
}

/** The data-path plugins of a worker: logs, static files, and the relay of built-in handlers. */
function workerPlugins(m: Extract<OwnerMessage, { t: 'start' }>, challenges: Challenges | undefined, logger: Logger, limits: Plugin): Plugin[] {
  const handlerSocket = m.handlerSocket;
  const relay: Plugin = {
    name: 'relay',
    setup(app) {
      // What the owner serves on TLS (ACME's certificates), before the listeners open.
      for (const c of m.certificates) putCertificate(app.server.certificates, c.names, c.material, logger);
      if (challenges) app.server.challenges = challenges;
      const fn = relayHandler(handlerSocket);
      for (const h of HANDLERS) app.server.handlers.set(h, fn);
      // A worker that drains while clients keep sending on their keep-alive connections answers
      // their next request (with Connection: close) instead of cutting the connection under it.
      app.server.closeIdleAfterMs = DRAIN_IDLE_MS;
    },
  };
  return [logsPlugin(), staticPlugin(), relay, limits];
}

class Worker {
  private app?: App;
  private runtime?: RuntimeState;
  private readonly tally = new CountTally();
  private others: Record<string, Record<string, number>> = {};
  private lastFigures = '';
  private lastEdge = '';
  private lastEdgeView = '';
  private edgeViewAt = 0;
  private timer?: NodeJS.Timeout;
  private idleTrim?: IdleTrim;
  private stopping = false;
  private link?: LimitLink;
  private logger?: Logger;
  /** Request counts for the owner's /metrics, kept when some site serves /metrics. */
  private metrics?: Metrics;
  /** Event-loop delay and GC pauses, sampled while the owner shows them (server-status, metrics). */
  private load?: ReturnType<typeof useLoadMonitor>;
  private loadSentAt = 0;
  /** HTTP-01 and TLS-ALPN-01 answers of the owner's ACME orders, when certificates are managed. */
  private challenges?: Challenges;
  index = 0;
  /** How long in-flight requests may take when the worker stops on a signal of its own. */
  graceMs = 10_000;

  async start(m: Extract<OwnerMessage, { t: 'start' }>): Promise<void> {
    this.index = m.index;
    const config = m.config;
    this.graceMs = config.gracefulShutdownTimeoutMs;
    this.logger = createLogger({ path: resolveConfigPath(config, config.errorLog.path), level: config.errorLog.level, format: config.errorLog.format }).child({ worker: m.index });
    const runtime = new RuntimeState(config);
    this.runtime = runtime;
    this.instrumentAll();
    runtime.events.on('reload', () => this.instrumentAll());
    applySyncState(runtime, m.state);
    if (config.acme || m.challenges.length || m.alpnChallenges.length) {
      this.challenges = new Challenges();
      for (const [token, ka] of m.challenges) this.challenges.add(token, ka);
      for (const [name, material] of m.alpnChallenges) this.challenges.addAlpn(name, material);
    }
    const limits = sharedLimits(m);
    this.link = limits.link;
    try {
      this.app = await App.start(config, { runtime, logger: this.logger, plugins: workerPlugins(m, this.challenges, this.logger, limits.plugin) });
    } catch (e) {
      send({ t: 'start-failed', error: (e as Error).message }, () => process.exit(1));
      return;
    }
    this.countMetrics(config);
    this.followLoad(config);
    send({ t: 'ack', seq: m.seq });
    this.timer = setInterval(() => this.report(), m.reportMs);
    this.timer.unref();
    // The memory a burst of requests grew is given back once the worker goes quiet.
    this.idleTrim = process.env.STICKYLB_IDLE_TRIM === '0' ? undefined : startIdleTrim();
    send({ t: 'ready', addresses: this.app.addresses });
  }

  /** Counting costs a little on every request: only when the owner serves /metrics. */
  private countMetrics(config: ConfigModel): void {
    if (this.metrics || !config.sites.some((s) => s.handlers.some((h) => h.handler === 'metrics'))) return;
    const metrics = new Metrics(() => this.runtime!, version());
    this.metrics = metrics;
    this.app!.server.records.subscribe((r) => metrics.record(r));
  }

  /** Samples the event loop and GC only while some site serves server-status or metrics. */
  private followLoad(config: ConfigModel): void {
    const shown = config.sites.some((s) => s.handlers.some((h) => h.handler === 'server-status' || h.handler === 'metrics'));
    if (shown) this.load ??= useLoadMonitor();
    else {
      this.load?.release();
      this.load = undefined;
    }
  }

  private instrumentAll(): void {
    for (const b of this.runtime!.balancers.values()) {
      instrument(b, { tally: this.tally, failed: (bs, m, cause) => this.failed(bs, m, cause) });
    }
    setOthersBusy(this.runtime!, this.others);
  }

  /** A member failed here: the owner hears it at once, after the counts that came before it. */
  private failed(b: BalancerState, m: MemberState, cause: string): void {
    this.report(true);
    send({ t: 'failure', balancer: b.name, member: m.id, cause });
  }

  private figures(): ServerFigures {
    const { startedAt: _startedAt, ...figures } = this.app!.server.stats();
    return figures;
  }

  /** Sends the counts since the last report (nothing when nothing moved, unless `force`). */
  report(force = false, cb?: () => void): void {
    if (!this.app) return cb?.();
    const server = this.figures();
    const edge = this.app.server.edge;
    const counters = edge.counters.snapshot();
    // Refused connections move no other figure: the edge's counters are compared too.
    const edgeKey = `${JSON.stringify(counters)} ${edge.connections.open}`;
    const edgeChanged = edgeKey !== this.lastEdge;
    const key = `${server.requests} ${server.inFlight} ${server.connections}`;
    const now = Date.now();
    const loadDue = this.load !== undefined && now - this.loadSentAt >= LOAD_REPORT_MS;
    let edgeView: EdgeView | undefined;
    if (now - this.edgeViewAt >= LOAD_REPORT_MS || force) {
      this.edgeViewAt = now;
      const v: EdgeView = { rates: edge.rates.snapshot(), clients: busiest(edge.connections.snapshot()) };
      const viewKey = JSON.stringify(v);
      if (viewKey !== this.lastEdgeView) edgeView = v;
      this.lastEdgeView = viewKey;
    }
    if (this.tally.empty && key === this.lastFigures && !edgeChanged && !edgeView && !force && !loadDue) return cb?.();
    this.lastFigures = key;
    this.lastEdge = edgeKey;
    if (loadDue) this.loadSentAt = now;
    const load = loadDue ? this.load?.monitor.figures() : undefined;
    send({ t: 'counts', counts: { balancers: this.tally.take(), server, metrics: this.metrics?.takeTallies(), edge: edgeChanged ? { counters, open: edge.connections.open } : undefined, edgeView, load } }, cb);
  }

  async onMessage(m: OwnerMessage): Promise<void> {
    switch (m.t) {
      case 'start':
        return this.start(m);
      case 'changes':
        if (this.runtime) for (const c of m.changes) applyChange(this.runtime, c);
        return send({ t: 'ack', seq: m.seq });
      case 'limit':
        this.link?.receive(m.m);
        return;
      case 'busy':
        this.others = m.others;
        if (this.runtime) setOthersBusy(this.runtime, m.others);
        return;
      case 'reload':
        return this.reload(m.config, m.seq, m.state);
      case 'certificate':
        if (this.app && this.logger) putCertificate(this.app.server.certificates, m.names, m.material, this.logger);
        return;
      case 'challenge':
        if (!this.challenges && this.app) this.app.server.challenges = this.challenges = new Challenges();
        if (m.keyAuthorization === undefined) this.challenges?.remove(m.token);
        else this.challenges?.add(m.token, m.keyAuthorization);
        return;
      case 'alpn-challenge':
        if (!this.challenges && this.app) this.app.server.challenges = this.challenges = new Challenges();
        if (m.material === undefined) this.challenges?.removeAlpn(m.name);
        else this.challenges?.addAlpn(m.name, m.material);
        return;
      case 'reopen':
        await this.logs()?.reopen();
        return send({ t: 'reopened' });
      case 'stop':
        return this.stop(m.graceMs);
    }
  }

  private logs(): LogsPlugin | undefined {
    return this.app?.plugin<LogsPlugin>('logs');
  }

  private async reload(config: ConfigModel, seq: number, state: Parameters<typeof applySyncState>[1]): Promise<void> {
    const errors: string[] = [];
    if (this.app) {
      try {
        await this.app.reload(config);
        this.countMetrics(config);
        this.followLoad(config);
      } catch (e) {
        errors.push((e as Error).message);
      }
      applySyncState(this.runtime!, state);
    }
    send({ t: 'reloaded', seq, errors, addresses: this.app?.addresses ?? [] });
  }

  /** Stops taking connections, lets in-flight requests finish (up to `graceMs`), reports, exits. */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.timer);
    this.idleTrim?.stop();
    this.load?.release();
    this.load = undefined;
    try {
      await this.app?.close(graceMs);
      this.link?.close();
    } catch (e) {
      this.logger?.error({ err: e }, 'error while stopping');
    }
    this.report(true, () => process.exit(0));
  }
}

const worker = new Worker();
process.on('message', (msg) => {
  const m = unwrap<OwnerMessage>(msg);
  if (m) void worker.onMessage(m);
});
// The owner reloads and stops everybody: a SIGHUP or SIGINT that reaches the whole process group
// (a terminal) is the owner's to handle. SIGTERM from outside (systemd without KillMode=mixed)
// drains this worker as the owner would.
process.on('SIGHUP', () => undefined);
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void worker.stop(worker.graceMs));
process.on('SIGUSR1', () => void worker.onMessage({ t: 'reopen' }));
send({ t: 'hello', protocol: PROTOCOL_VERSION, version: version(), pid: process.pid });
