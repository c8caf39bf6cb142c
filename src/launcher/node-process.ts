// One app node started by the launcher: spawn with PORT and STICKYLB_ROUTE, prefix its output
// with its route, restart it with back-off when it dies, stop it gracefully.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { NodeSpec, NodesModel } from '../config/model.js';

export type NodePhase = 'starting' | 'running' | 'stopping' | 'stopped' | 'backoff' | 'failed';

export interface NodeProcessOptions {
  spec: NodeSpec;
  nodes: NodesModel;
  /** Where the node's output lines go (already prefixed). */
  output?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How long a node may take to accept connections after start. */
  readyTimeoutMs?: number;
  /** Back-off after a crash: first delay, doubled each time, capped. */
  backoffStartMs?: number;
  backoffMaxMs?: number;
  /** A node that ran this long is considered stable again (back-off resets). */
  stableAfterMs?: number;
}

export class NodeStartError extends Error {
  readonly code = 'ERR_NODE_START';
}

/** True when something accepts TCP connections on host:port. */
export function portAccepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/**
 * Events: 'phase' (phase, detail), 'ready', 'exit' (code, signal, expected), 'line' (line, stream).
 */
export class NodeProcess extends EventEmitter {
  readonly spec: NodeSpec;
  phase: NodePhase = 'stopped';
  child?: ChildProcess;
  pid?: number;
  restarts = 0;
  startedAt = 0;
  lastExit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  private wanted = false;
  private backoffMs: number;
  private restartTimer?: NodeJS.Timeout;
  private tail: string[] = [];
  private readonly o: Required<Omit<NodeProcessOptions, 'output'>> & { output?: NodeProcessOptions['output'] };

  constructor(opts: NodeProcessOptions) {
    super();
    this.spec = opts.spec;
    this.o = {
      spec: opts.spec,
      nodes: opts.nodes,
      output: opts.output,
      readyTimeoutMs: opts.readyTimeoutMs ?? 15_000,
      backoffStartMs: opts.backoffStartMs ?? 500,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      stableAfterMs: opts.stableAfterMs ?? 10_000,
    };
    this.backoffMs = this.o.backoffStartMs;
  }

  get label(): string {
    return `node ${this.spec.route} (port ${this.spec.port})`;
  }

  private setPhase(p: NodePhase, detail?: string): void {
    this.phase = p;
    this.emit('phase', p, detail);
  }

  /** Starts the node and resolves once it accepts connections; rejects with a clear reason. */
  async start(): Promise<void> {
    this.wanted = true;
    clearTimeout(this.restartTimer);
    const host = this.o.nodes.host;
    if (await portAccepts(host, this.spec.port)) {
      this.setPhase('failed', 'port in use');
      throw new NodeStartError(`${this.label}: port ${this.spec.port} on ${host} is already in use by another program`);
    }
    await this.spawnAndWait();
  }

  private spawnAndWait(): Promise<void> {
    const [cmd, ...args] = this.o.nodes.command;
    this.tail = [];
    this.setPhase('starting');
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        cwd: this.o.nodes.cwd,
        env: { ...process.env, ...this.o.nodes.env, PORT: String(this.spec.port), STICKYLB_ROUTE: this.spec.route, HOST: this.o.nodes.host },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      this.setPhase('failed', (e as Error).message);
      return Promise.reject(new NodeStartError(`${this.label}: cannot start "${cmd}": ${(e as Error).message}`));
    }
    this.child = child;
    this.pid = child.pid;
    this.startedAt = Date.now();
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          this.line(buf.slice(0, nl), name);
          buf = buf.slice(nl + 1);
        }
      });
      stream?.on('end', () => {
        if (buf) this.line(buf, name);
        buf = '';
      });
    }

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (msg: string) => {
        if (settled) return;
        settled = true;
        this.setPhase('failed', msg);
        reject(new NodeStartError(msg));
      };
      child.once('error', (e: NodeJS.ErrnoException) => {
        fail(e.code === 'ENOENT' ? `${this.label}: command not found: ${cmd}` : `${this.label}: cannot start "${cmd}": ${e.message}`);
      });
      child.once('exit', (code, signal) => {
        this.lastExit = { code, signal, at: Date.now() };
        this.child = undefined;
        if (!settled) {
          const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const tail = this.tail.length ? `; last output:\n  ${this.tail.slice(-5).join('\n  ')}` : '';
          fail(`${this.label}: ${why} right after start${tail}`);
          return;
        }
        this.onExit(code, signal);
      });
      const deadline = Date.now() + this.o.readyTimeoutMs;
      const poll = async () => {
        while (!settled && Date.now() < deadline) {
          if (await portAccepts(this.o.nodes.host, this.spec.port, 250)) {
            if (settled) return;
            settled = true;
            this.setPhase('running');
            this.emit('ready');
            resolve();
            return;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        if (!settled) {
          fail(`${this.label}: did not accept connections on port ${this.spec.port} within ${this.o.readyTimeoutMs} ms`);
          child.kill('SIGKILL');
        }
      };
      void poll();
    });
  }

  private line(text: string, stream: 'stdout' | 'stderr'): void {
    this.tail.push(text);
    if (this.tail.length > 20) this.tail.shift();
    this.o.output?.(`[${this.spec.route}] ${text}`, stream);
    this.emit('line', text, stream);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const expected = !this.wanted;
    this.emit('exit', code, signal, expected);
    if (expected) {
      this.setPhase('stopped');
      return;
    }
    // Crashed: restart with back-off; a node that ran long enough starts over at the short delay.
    if (Date.now() - this.startedAt >= this.o.stableAfterMs) this.backoffMs = this.o.backoffStartMs;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.backoffMaxMs);
    this.setPhase('backoff', `${signal ? `killed by ${signal}` : `exited with code ${code}`}; restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      if (!this.wanted) return;
      this.restarts++;
      this.spawnAndWait().catch((e) => {
        this.emit('restart-failed', e);
        if (this.wanted) this.onExit(this.lastExit?.code ?? null, this.lastExit?.signal ?? null);
      });
    }, delay);
  }

  /** Stops the node: SIGTERM, then SIGKILL after `timeoutMs`. Resolves when it is gone. */
  async stop(timeoutMs: number): Promise<void> {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.setPhase('stopped');
      return;
    }
    this.setPhase('stopping');
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await gone;
    clearTimeout(t);
    this.setPhase('stopped');
  }
}
