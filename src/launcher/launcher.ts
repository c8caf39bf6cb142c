// The launcher: starts the identical app nodes of a `nodes:` section (only PORT and
// STICKYLB_ROUTE differ), keeps them running, and tells the balancer's runtime state when one
// goes down or comes back. A plugin of the App.
import type { AppContext, Plugin } from '../plugin/contract.js';
import { pluginKey } from '../plugin/key.js';
import { LOGS } from '../log/logs-key.js';
import type { NodesModel } from '../config/model.js';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import { NodeProcess, NodeStartError } from './node-process.js';

export interface LauncherOptions {
  /** Where node output goes; default: this process's stdout/stderr. */
  output?: (line: string, stream: 'stdout' | 'stderr') => void;
  readyTimeoutMs?: number;
  backoffStartMs?: number;
  backoffMaxMs?: number;
}

export class NoNodeCanServeError extends Error {
  readonly code = 'ERR_NO_NODE';
}

export class Launcher {
  readonly nodes: NodeProcess[] = [];
  private app?: AppContext;

  constructor(
    readonly model: NodesModel,
    private readonly opts: LauncherOptions = {},
  ) {
    for (const spec of model.nodes) {
      this.nodes.push(
        new NodeProcess({
          spec,
          nodes: model,
          output: opts.output ?? ((line, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`)),
          readyTimeoutMs: opts.readyTimeoutMs,
          backoffStartMs: opts.backoffStartMs,
          backoffMaxMs: opts.backoffMaxMs,
        }),
      );
    }
  }

  node(route: string): NodeProcess | undefined {
    return this.nodes.find((n) => n.spec.route === route);
  }

  private balancer(): BalancerState | undefined {
    return this.app?.runtime.balancer(this.model.balancer);
  }

  /** The member that stands for a node (same port, and same route when the member has one). */
  member(n: NodeProcess): MemberState | undefined {
    return this.balancer()?.members.find((m) => standsFor(m, n));
  }

  /** The node behind a member, when the launcher started it. */
  nodeOf(m: MemberState): NodeProcess | undefined {
    return this.nodes.find((n) => standsFor(m, n));
  }

  attach(app: AppContext): void {
    this.app = app;
    for (const n of this.nodes) {
      n.on('phase', (phase: string, detail?: string) => {
        const log = app.logger.child({ node: n.spec.route, port: n.spec.port });
        if (phase === 'backoff') log.warn(`${n.label} died: ${detail}`);
        else if (phase === 'failed') log.error(detail ?? `${n.label} failed`);
        else if (phase === 'running') log.info(`${n.label} is running (pid ${n.pid})`);
      });
      n.on('exit', (_code: number | null, _signal: string | null, expected: boolean) => {
        const b = this.balancer();
        const m = this.member(n);
        // The node is gone: its sessions are lost, new sessions must not go there.
        if (b && m && !expected) b.markFailure(m, 'node process exited');
      });
      n.on('ready', () => {
        const b = this.balancer();
        const m = this.member(n);
        if (!b || !m) return;
        if (m.flags.E) b.setFlag(m, 'E', false, 'launcher', 'node process is running again');
        if (n.restarts > 0) b.startRamp(m, 'launcher', 'node restarted');
      });
      n.on('restart-failed', (e: Error) => app.logger.error(e.message));
    }
  }

  /** Starts every node; resolves when at least one serves, rejects when none can. */
  async start(): Promise<{ started: NodeProcess[]; failed: { node: NodeProcess; error: Error }[] }> {
    const results = await Promise.allSettled(this.nodes.map((n) => n.start()));
    const failed: { node: NodeProcess; error: Error }[] = [];
    const started: NodeProcess[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') started.push(this.nodes[i]);
      else failed.push({ node: this.nodes[i], error: r.reason as Error });
    });
    const b = this.balancer();
    for (const { node } of failed) {
      const m = this.member(node);
      if (b && m) b.markFailure(m, 'node did not start');
    }
    if (!started.length) {
      throw new NoNodeCanServeError(`no node could start:\n${failed.map((f) => `  ${f.error.message}`).join('\n')}`);
    }
    return { started, failed };
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(this.model.stopTimeoutMs)));
  }

  /** Stops one node gracefully and starts it again (a new build is picked up). */
  async restart(route: string): Promise<void> {
    const n = this.node(route);
    if (!n) throw new Error(`no node with route ${route}`);
    await n.stop(this.model.stopTimeoutMs);
    n.restarts++;
    await n.start();
  }
}

function standsFor(m: MemberState, n: NodeProcess): boolean {
  return m.port === n.spec.port && (m.route === n.spec.route || !m.route);
}

export interface LauncherPlugin extends Plugin {
  /** Set in setup when the config has a `nodes:` section. */
  launcher?: Launcher;
}

/** The launcher of the config's `nodes:` section; undefined without one (or without the plugin). */
export const LAUNCHER = pluginKey('launcher', (p: LauncherPlugin) => p.launcher);

export function launcherPlugin(opts: LauncherOptions = {}): LauncherPlugin {
  const plugin: LauncherPlugin = {
    name: LAUNCHER.name,
    // The logs close after the nodes stopped, so every line of the shutdown is kept.
    after: [LOGS],
    async setup(app) {
      if (!app.config.nodes) return;
      const launcher = new Launcher(app.config.nodes, opts);
      plugin.launcher = launcher;
      launcher.attach(app);
      const { failed } = await launcher.start();
      for (const f of failed) app.logger.error(f.error.message);
    },
    async close() {
      await plugin.launcher?.stop();
    },
  };
  return plugin;
}

export { NodeStartError };
