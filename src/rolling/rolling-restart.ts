// Rolling restart of stateful nodes, one at a time: drain (no new sessions, its sticky sessions
// go on) → wait until idle → stop → start → wait until healthy → re-enable with slow start.
// Everything goes through the runtime-state API; the launcher starts and stops processes.
import { EventEmitter } from 'node:events';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AppContext } from '../plugin/contract.js';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import { LAUNCHER, type Launcher } from '../launcher/launcher.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { portAccepts } from '../launcher/node-process.js';
import { probe } from '../health/probe.js';
import { compileHealthExpr } from '../health/expr.js';

export type RollingStep =
  | 'check'
  | 'drain'
  | 'wait-idle'
  | 'stop'
  | 'start'
  | 'restart-hook'
  | 'wait-operator'
  | 'wait-healthy'
  | 'enable'
  | 'done'
  | 'aborted'
  | 'failed';

export interface RollingEvent {
  at: number;
  route: string;
  member: string;
  step: RollingStep;
  /** How long the step has been waiting so far, or took (ms). */
  waitedMs?: number;
  message: string;
}

export interface NodeOutcome {
  route: string;
  member: string;
  /** Live sessions the node reported when draining began (undefined: the app does not say). */
  sessionsAtDrain?: number;
  /** Sessions still live when the node was stopped: their state is gone. */
  sessionsLost?: number;
  /** How the wait for idleness ended. */
  idleBy?: 'idle-window' | 'no-sessions' | 'max-wait';
  timeMs: number;
  ok: boolean;
}

export interface RollingSummary {
  ok: boolean;
  aborted: boolean;
  nodes: NodeOutcome[];
  /** Members left not enabled (drained, disabled, or down), with why. */
  notEnabled: { member: string; route: string; why: string }[];
  message: string;
  timeMs: number;
}

export interface RollingOptions {
  balancer?: string;
  /** No sticky request for this long means idle. */
  idleMs: number;
  /** Give up waiting for idleness after this long; remaining sessions are reported lost. */
  maxWaitMs: number;
  /** Start even when a node is unhealthy. */
  force?: boolean;
  /** Shell command that restarts a member the launcher did not start. */
  hook?: string;
  /** Path of the app's live-sessions endpoint on each member. */
  sessionsPath?: string;
  /** How long a restarted node may take to pass its health check. */
  healthyTimeoutMs?: number;
  /** Only these routes (default: every member). */
  routes?: string[];
  pollMs?: number;
  /**
   * A member's activity on the other balancers of a fleet (a rolling restart is one operation of
   * the fleet: "idle" means idle on every balancer): requests in flight there, the least time any
   * of them has seen no request of its sessions, and the balancers that have not drained it yet.
   */
  elsewhere?: (balancer: string, m: MemberState) => { busy: number; quietMs: number; waitingFor: string[] };
}

export class RollingError extends Error {
  readonly code = 'ERR_ROLLING';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks a member's live-sessions endpoint how many sessions it holds (undefined: no answer). */
export function liveSessions(m: MemberState, path: string, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: m.hostname, port: m.port, path: m.basePath + path, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          const n = (JSON.parse(body) as { sessions?: unknown }).sessions;
          resolve(res.statusCode === 200 && typeof n === 'number' && n >= 0 ? n : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * One rollout. Events: 'progress' (RollingEvent), 'done' (RollingSummary). Call `abort()` to stop
 * after the current step; `continue()` answers a wait for the operator.
 */
export class RollingRestart extends EventEmitter {
  readonly startedAt = Date.now();
  readonly events: RollingEvent[] = [];
  summary?: RollingSummary;
  current?: { route: string; member: string; step: RollingStep; since: number };
  private aborted = false;
  private operatorGo?: () => void;
  private readonly b: BalancerState;
  private readonly launcher?: Launcher;

  constructor(
    private readonly app: AppContext,
    private readonly o: RollingOptions,
  ) {
    super();
    const launcher = app.get(LAUNCHER);
    this.launcher = launcher;
    const name = o.balancer ?? launcher?.model.balancer ?? app.runtime.named()[0]?.name;
    const b = name ? app.runtime.balancer(name) : undefined;
    if (!b) throw new RollingError(name ? `no balancer named ${name}` : 'there is no balancer to restart');
    this.b = b;
  }

  /** Name of the balancer whose members are restarted. */
  get balancer(): string {
    return this.b.name;
  }

  get running(): boolean {
    return !this.summary;
  }

  abort(): void {
    this.aborted = true;
    this.operatorGo?.();
  }

  /** The operator restarted the member by hand (or pressed Enter). */
  continue(): boolean {
    if (!this.operatorGo) return false;
    this.operatorGo();
    return true;
  }

  get waitingForOperator(): boolean {
    return !!this.operatorGo;
  }

  private say(m: MemberState, step: RollingStep, message: string, waitedMs?: number): void {
    const e: RollingEvent = { at: Date.now(), route: m.route, member: m.url, step, waitedMs, message };
    if (this.current?.member !== m.url || this.current.step !== step) this.current = { route: m.route, member: m.url, step, since: e.at };
    this.events.push(e);
    if (this.events.length > 1000) this.events.shift();
    this.emit('progress', e);
  }

  private nodeOf(m: MemberState): NodeProcess | undefined {
    return this.launcher?.nodeOf(m);
  }

  private targets(): MemberState[] {
    const all = this.b.members.filter((m) => !m.flags.S);
    return this.o.routes?.length ? all.filter((m) => this.o.routes!.includes(m.route)) : all;
  }

  /** Runs the whole rollout; never throws, the summary says what happened. */
  async run(): Promise<RollingSummary> {
    const outcomes: NodeOutcome[] = [];
    let message = '';
    let ok = true;
    try {
      const targets = this.targets();
      if (!targets.length) throw new RollingError('no member to restart');
      if (!this.o.force) {
        const sick = this.b.members.filter((m) => !m.isUsable() || m.flags.N || (this.nodeOf(m) && this.nodeOf(m)!.phase !== 'running'));
        if (sick.length) {
          throw new RollingError(
            `not starting: ${sick.map((m) => `${m.route || m.url} is ${m.statusWords().join(', ') || this.nodeOf(m)?.phase}`).join('; ')} (use --force to restart anyway)`,
          );
        }
      }
      for (const m of targets) {
        if (this.aborted) break;
        const out = await this.restartOne(m);
        outcomes.push(out);
        if (!out.ok) {
          ok = false;
          message = `stopped: ${m.route || m.url} did not come back; the other members keep serving`;
          break;
        }
      }
    } catch (e) {
      ok = false;
      message = (e as Error).message;
    }
    const notEnabled = this.b.members
      .filter((m) => m.flags.N || m.flags.D || !m.isUsable())
      .map((m) => ({ member: m.url, route: m.route, why: m.statusWords().filter((w) => w !== 'Ok').join(', ') || 'not usable' }));
    if (this.aborted) {
      ok = false;
      message = `aborted after ${outcomes.length} of ${this.targets().length} member(s)${notEnabled.length ? '' : '; every member is enabled'}`;
    } else if (!message) {
      message = `restarted ${outcomes.length} member(s)`;
    }
    this.summary = { ok, aborted: this.aborted, nodes: outcomes, notEnabled, message, timeMs: Date.now() - this.startedAt };
    this.app.logger.warn({ rolling: this.summary }, `rolling restart: ${message}; ${outcomes.map((o) => `${o.route}: ${o.sessionsLost ?? 0} session(s) lost, ${Math.round(o.timeMs / 100) / 10}s`).join('; ')}`);
    this.emit('done', this.summary);
    return this.summary;
  }

  private async restartOne(m: MemberState): Promise<NodeOutcome> {
    const t0 = Date.now();
    const out: NodeOutcome = { route: m.route, member: m.url, timeMs: 0, ok: false };
    const poll = this.o.pollMs ?? 100;
    const sessionsPath = this.o.sessionsPath;

    // 1. Drain: new sessions go elsewhere, this member's sessions keep coming here.
    this.say(m, 'drain', `draining ${m.route || m.url}`);
    this.b.setFlag(m, 'N', true, 'rolling', 'rolling restart');
    if (sessionsPath) out.sessionsAtDrain = await liveSessions(m, sessionsPath);

    // 2. Wait until idle: no sticky request for idleMs and nothing in flight, or no live sessions.
    const waitStart = Date.now();
    let lastReport = 0;
    for (;;) {
      if (this.aborted) return this.undrain(m, out, t0);
      const now = Date.now();
      const other = this.o.elsewhere?.(this.b.name, m);
      const busy = m.busy + (other?.busy ?? 0);
      const quietFor = Math.min(now - Math.max(m.lastStickyAt, waitStart), other?.quietMs ?? Infinity);
      if (busy === 0 && quietFor >= this.o.idleMs && !other?.waitingFor.length) {
        out.idleBy = 'idle-window';
        break;
      }
      if (sessionsPath && busy === 0 && !other?.waitingFor.length) {
        const n = await liveSessions(m, sessionsPath);
        if (n === 0) {
          out.idleBy = 'no-sessions';
          break;
        }
      }
      if (now - waitStart >= this.o.maxWaitMs) {
        out.idleBy = 'max-wait';
        break;
      }
      if (now - lastReport >= 1000) {
        lastReport = now;
        const fleet = other ? `${other.waitingFor.length ? `; not drained yet on ${other.waitingFor.join(', ')}` : ''}, counting every balancer of the fleet` : '';
        this.say(m, 'wait-idle', `waiting for ${m.route || m.url} to go idle (${busy} in flight, last session request ${Math.round(quietFor / 100) / 10}s ago${fleet})`, now - waitStart);
      }
      await sleep(poll);
    }
    if (sessionsPath) out.sessionsLost = (await liveSessions(m, sessionsPath)) ?? (out.idleBy === 'max-wait' ? undefined : 0);
    else out.sessionsLost = out.idleBy === 'max-wait' ? undefined : 0;
    this.say(
      m,
      'wait-idle',
      out.idleBy === 'max-wait'
        ? `gave up waiting after ${Math.round((Date.now() - waitStart) / 1000)}s; ${out.sessionsLost ?? 'unknown number of'} session(s) will be lost`
        : `idle (${out.idleBy === 'no-sessions' ? 'the app reports no live sessions' : `no session request for ${this.o.idleMs} ms`})`,
      Date.now() - waitStart,
    );

    // 3–4. Stop and start (launcher), run the hook, or wait for the operator.
    const node = this.nodeOf(m);
    try {
      if (node && this.launcher) {
        this.say(m, 'stop', `stopping ${node.label}`);
        await node.stop(this.launcher.model.stopTimeoutMs);
        this.say(m, 'start', `starting ${node.label}`);
        node.restarts++;
        await node.start();
      } else if (this.o.hook) {
        this.say(m, 'restart-hook', `running restart hook for ${m.url}`);
        await runHook(this.o.hook, m);
      } else {
        this.say(m, 'wait-operator', `restart ${m.url} now, then continue`);
        await new Promise<void>((r) => (this.operatorGo = r));
        this.operatorGo = undefined;
        if (this.aborted) return this.undrain(m, out, t0);
      }
    } catch (e) {
      this.say(m, 'failed', `${m.route || m.url} failed to restart: ${(e as Error).message}`);
      out.timeMs = Date.now() - t0;
      return out;
    }

    // 5. Wait until healthy.
    const hStart = Date.now();
    const deadline = hStart + (this.o.healthyTimeoutMs ?? 60_000);
    for (;;) {
      const healthy = await this.isHealthy(m);
      if (healthy === true) break;
      if (Date.now() >= deadline) {
        this.say(m, 'failed', `${m.route || m.url} did not pass its health check within ${Math.round((deadline - hStart) / 1000)}s (${healthy}); it stays drained`, Date.now() - hStart);
        out.timeMs = Date.now() - t0;
        return out;
      }
      await sleep(poll);
    }
    this.say(m, 'wait-healthy', `${m.route || m.url} is healthy`, Date.now() - hStart);

    // 6. Re-enable with slow start.
    this.enable(m);
    out.ok = true;
    out.timeMs = Date.now() - t0;
    this.say(m, 'enable', `${m.route || m.url} enabled again${m.model.slowstartMs ? ` (slow start over ${m.model.slowstartMs} ms)` : ''}`, out.timeMs);
    return out;
  }

  /** True when healthy, else the reason in words. */
  private async isHealthy(m: MemberState): Promise<true | string> {
    const h = m.model.health;
    if (h) {
      const r = await probe(
        { method: h.method, protocol: m.protocol, hostname: m.hostname, port: m.port, path: m.basePath + h.uri, expect: compileHealthExpr(h.expect) },
        { timeoutMs: h.timeoutMs },
      );
      if (r.ok) {
        this.b.recordHealth(m, { ok: true, detail: r.detail, status: r.status, durationMs: r.durationMs });
        return true;
      }
      return r.detail;
    }
    if (!(await portAccepts(m.hostname, m.port))) return 'connection refused';
    const r = await probe({ method: 'GET', protocol: m.protocol, hostname: m.hostname, port: m.port, path: m.basePath + '/' }, { timeoutMs: 5000 });
    return r.status !== undefined && r.status < 500 ? true : r.detail;
  }

  private enable(m: MemberState): void {
    if (m.flags.E) this.b.setFlag(m, 'E', false, 'rolling', 'restarted');
    if (m.flags.C) this.b.setFlag(m, 'C', false, 'rolling', 'restarted');
    this.b.setFlag(m, 'N', false, 'rolling', 'rolling restart');
    // While drained, the member's accumulator drifted with every sticky request; start even.
    this.b.resetLoad('rolling');
    this.b.startRamp(m, 'rolling', 'restarted');
  }

  private undrain(m: MemberState, out: NodeOutcome, t0: number): NodeOutcome {
    this.b.setFlag(m, 'N', false, 'rolling', 'rolling restart aborted');
    this.say(m, 'aborted', `aborted; ${m.route || m.url} is enabled again without a restart`);
    out.timeMs = Date.now() - t0;
    out.ok = true;
    return out;
  }
}

function runHook(cmd: string, m: MemberState): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, STICKYLB_MEMBER_URL: m.url, STICKYLB_ROUTE: m.route, STICKYLB_MEMBER_HOST: m.hostname, STICKYLB_MEMBER_PORT: String(m.port) },
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`restart hook ${signal ? `killed by ${signal}` : `exited with code ${code}`}`))));
  });
}
