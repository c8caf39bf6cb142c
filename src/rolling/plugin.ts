// Rolling restarts through the manager's JSON API (`<manager path>/api/rolling`), so the CLI,
// the manager page and scripts all start, follow and abort the same rollout:
//   GET  /api/rolling             state: running or not, the current step, recent events, summary
//   GET  /api/rolling?follow=1    the events as JSON lines until the rollout ends (then the summary)
//   POST /api/rolling             {nonce, balancer?, force?, routes?, idle?, maxWait?, hook?}: start
//   POST /api/rolling/abort       {nonce}: stop after the current step
//   POST /api/rolling/continue    {nonce}: the operator restarted the member by hand
// The manager's access rules apply (the server checks them before any handler runs); changes need
// the balancer's nonce and a same-origin Origin, as every manager change does.
import type { AppContext, Plugin } from '../plugin/contract.js';
import { pluginKey } from '../plugin/key.js';
import { missingDependency } from '../plugin/order.js';
import { MANAGER, type ManagerApi } from '../manager/plugins.js';
import { html, type Html } from '../util/html.js';
import { LAUNCHER } from '../launcher/launcher.js';
import type { RollingEvent, RollingOptions, RollingRestart } from './rolling-restart.js';

/** The lock a fleet gives one rollout at a time (see RolloutCoordinator). */
export interface RolloutLease {
  /** The rollout's progress, for the other balancers. */
  progress(e: RollingEvent): void;
  /** Resolves with the reason when the lock is lost (its lease ran out): the rollout stops. */
  readonly lost: Promise<string>;
  end(): Promise<void>;
}

/**
 * How a fleet of balancers makes a rolling restart one operation (the fleet plugin provides it):
 * one rollout at a time across the fleet, and idle means idle on every balancer.
 */
export interface RolloutCoordinator {
  /** Takes the fleet's rollout lock before a rollout starts; a refusal says why. */
  begin(balancer: string): Promise<{ ok: true; lease: RolloutLease } | { ok: false; reason: string }>;
  elsewhere: NonNullable<RollingOptions['elsewhere']>;
  /** The rollout of the fleet, wherever it runs (undefined: none), for GET /api/rolling. */
  current(): Promise<unknown>;
}

export interface RollingPlugin extends Plugin {
  current?: RollingRestart;
  /** Set by a fleet: rollouts then take its lock and wait for idleness on every balancer. */
  coordinator?: RolloutCoordinator;
}

/** The rolling-restart plugin (`current`: the rollout running or the last one). */
export const ROLLING = pluginKey<RollingPlugin>('rolling');

export function stateOf(app: AppContext, r: RollingRestart | undefined) {
  const launcher = app.get(LAUNCHER);
  return {
    /** The balancer of the current rollout, or the one a new rollout restarts by default. */
    balancer: r?.balancer ?? defaultBalancer(app),
    running: !!r && r.running,
    waitingForOperator: r?.waitingForOperator ?? false,
    current: r?.current,
    events: r?.events.slice(-50) ?? [],
    summary: r?.summary,
    nodes: launcher?.nodes.map((n) => ({ route: n.spec.route, port: n.spec.port, phase: n.phase, pid: n.pid, restarts: n.restarts })) ?? [],
  };
}

export function rollingPlugin(): RollingPlugin {
  const plugin: RollingPlugin = {
    name: ROLLING.name,
    // Rollouts are started, followed and aborted through the manager's API and page.
    dependencies: [MANAGER],
    setup(app) {
      const manager = app.get(MANAGER);
      if (!manager) throw missingDependency(plugin.name, MANAGER.name);
      // The API (and zod, for its bodies) is loaded with its first request.
      const api = () => import('./api.js');
      manager.addApiRoute('/rolling', async (req, res, ctx, rest) => (await api()).handle(app, plugin, manager, req, res, ctx, rest), api);
      manager.addSection((path) => rollingSection(app, plugin.current, manager, path));
    },
    close() {
      plugin.current?.abort();
    },
  };
  return plugin;
}

/** The manager page's card: node phases, the rollout in progress or the last one, and the buttons. */
function rollingSection(app: AppContext, r: RollingRestart | undefined, manager: ManagerApi, path: string): Html {
  const base = path.replace(/\/+$/, '');
  const state = stateOf(app, r);
  const balancer = state.balancer;
  if (!balancer) return html``;
  const nonce = manager.nonces.of(balancer);
  const nodes = state.nodes.length
    ? html`<table><thead><tr><th>Node</th><th>Port</th><th>Process</th><th>Phase</th><th>Restarts</th></tr></thead><tbody>${state.nodes.map(
        (n) => html`<tr><td>${n.route}</td><td>${n.port}</td><td>${n.pid ?? '-'}</td><td>${n.phase}</td><td>${n.restarts}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="meta">The members of ${balancer} were not started by stickylb: a rolling restart drains each one and waits for a restart hook or for you.</p>`;
  const progress = state.running
    ? html`<p><strong>Rolling restart in progress</strong>: ${state.current?.route ?? ''} — ${state.current?.step ?? ''}.</p>
<ol class="meta">${state.events.slice(-8).map((e) => html`<li>${new Date(e.at).toISOString().slice(11, 19)} ${e.route}: ${e.message}</li>`)}</ol>
<form method="post" action="${base}/api/rolling/abort"><input type="hidden" name="nonce" value="${nonce}"><input type="hidden" name="balancer" value="${balancer}">
<button type="submit">Abort after the current step</button></form>
${state.waitingForOperator ? html`<form method="post" action="${base}/api/rolling/continue"><input type="hidden" name="nonce" value="${nonce}"><input type="hidden" name="balancer" value="${balancer}"><button type="submit">The member runs again: continue</button></form>` : ''}`
    : html`${state.summary ? html`<p>Last rolling restart: ${state.summary.ok ? 'done' : 'not done'} — ${state.summary.message}.</p>` : ''}
<form method="post" action="${base}/api/rolling"><input type="hidden" name="nonce" value="${nonce}"><input type="hidden" name="balancer" value="${balancer}">
<label>Idle window <input name="idle" size="6" placeholder="${Math.round(app.config.rolling.idleMs / 1000)}s"></label>
<label><input type="checkbox" name="force" value="1"> even if a member is unhealthy</label>
<button type="submit">Rolling restart of ${balancer}</button></form>`;
  return html`<section class="card" id="rolling"><h2>Nodes and rolling restart</h2>${nodes}${progress}</section>`;
}

export function defaultBalancer(app: AppContext): string | undefined {
  const launcher = app.get(LAUNCHER);
  return launcher?.model.balancer ?? app.runtime.named()[0]?.name;
}
