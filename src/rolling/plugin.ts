// Rolling restarts through the manager's JSON API (`<manager path>/api/rolling`), so the CLI,
// the manager page and scripts all start, follow and abort the same rollout:
//   GET  /api/rolling             state: running or not, the current step, recent events, summary
//   GET  /api/rolling?follow=1    the events as JSON lines until the rollout ends (then the summary)
//   POST /api/rolling             {nonce, balancer?, force?, routes?, idle?, maxWait?, hook?}: start
//   POST /api/rolling/abort       {nonce}: stop after the current step
//   POST /api/rolling/continue    {nonce}: the operator restarted the member by hand
// The manager's access rules apply (the server checks them before any handler runs); changes need
// the balancer's nonce and a same-origin Origin, as every manager change does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AppContext, Plugin } from '../plugin/contract.js';
import { pluginKey } from '../plugin/key.js';
import { missingDependency } from '../plugin/order.js';
import type { HandlerContext } from '../proxy/server.js';
import { MANAGER, type ManagerApi } from '../manager/plugins.js';
import { BodyError, readBody } from '../manager/body.js';
import { checkSameOrigin, schemeOf } from '../manager/access/origin.js';
import { sendJson } from '../manager/respond.js';
import { durationMs } from '../config/diagnostics.js';
import { html, type Html } from '../util/html.js';
import { LAUNCHER } from '../launcher/launcher.js';
import { RollingRestart, RollingError, type RollingEvent, type RollingOptions, type RollingSummary } from './rolling-restart.js';

const startSchema = z
  .object({
    nonce: z.string().optional(),
    balancer: z.string().optional(),
    force: z.boolean().optional(),
    routes: z.array(z.string()).optional(),
    idle: z.union([z.number().nonnegative(), z.string()]).optional(),
    maxWait: z.union([z.number().nonnegative(), z.string()]).optional(),
    hook: z.string().optional(),
  })
  .strict();

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

function stateOf(app: AppContext, r: RollingRestart | undefined) {
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
      manager.addApiRoute('/rolling', (req, res, ctx, rest) => handle(app, plugin, manager, req, res, ctx, rest));
      manager.addSection((path) => rollingSection(app, plugin.current, manager, path));
    },
    close() {
      plugin.current?.abort();
    },
  };
  return plugin;
}

async function handle(
  app: AppContext,
  plugin: RollingPlugin,
  manager: ManagerApi,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: HandlerContext,
  sub: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  const query = new URLSearchParams(ctx.query ?? '');
  if (method === 'GET' || method === 'HEAD') {
    if (sub !== '' && sub !== '/') return sendJson(res, 404, { error: `not found: ${ctx.path}` });
    if (query.get('follow') === '1') return follow(plugin.current, res);
    const fleet = await plugin.coordinator?.current().catch((e: Error) => ({ error: e.message }));
    return sendJson(res, 200, { ...stateOf(app, plugin.current), ...(plugin.coordinator ? { fleet: fleet ?? null } : {}) });
  }
  if (method !== 'POST') return sendJson(res, 405, { error: 'use GET or POST' }, { Allow: 'GET, HEAD, POST' });

  let body: z.infer<typeof startSchema>;
  // The manager page posts forms; scripts post JSON. A form gets a redirect back to the page.
  const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
  const base = ctx.handler.path.replace(/\/+$/, '');
  try {
    const text = await readBody(req);
    const parsed = startSchema.safeParse(isForm ? formToBody(text) : text ? JSON.parse(text) : {});
    if (!parsed.success) return sendJson(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
    body = parsed.data;
  } catch (e) {
    return sendJson(res, e instanceof BodyError ? e.status : 400, { error: e instanceof BodyError ? e.message : 'the body must be JSON' });
  }
  const origin = checkSameOrigin(req.headers, schemeOf(req));
  if (!origin.ok) return sendJson(res, 403, { error: origin.reason });
  const current = plugin.current;
  const balancer = body.balancer ?? defaultBalancer(app);
  if (!balancer || !app.runtime.balancer(balancer)) return sendJson(res, 404, { error: `no balancer named ${balancer ?? '(none)'}` });
  if (!manager.nonces.matches(balancer, body.nonce)) {
    return sendJson(res, 403, { error: `refused: missing or wrong nonce for balancer ${balancer} (read it from GET ${ctx.handler.path.replace(/\/+$/, '')}/api)` });
  }

  const done = (status: number, value: unknown) => {
    if (isForm && status < 400) {
      res.writeHead(303, { Location: `${base || ''}/#rolling`, 'Content-Length': '0' });
      res.end();
      return;
    }
    sendJson(res, status, value);
  };
  if (sub === '/abort') {
    if (!current?.running) return sendJson(res, 409, { error: 'no rolling restart is running' });
    current.abort();
    app.logger.warn({ client: req.socket.remoteAddress }, 'rolling restart: abort requested');
    return done(202, { aborting: true });
  }
  if (sub === '/continue') {
    if (!current?.continue()) return sendJson(res, 409, { error: 'the rolling restart is not waiting for the operator' });
    return done(202, { continued: true });
  }
  if (sub !== '' && sub !== '/') return sendJson(res, 404, { error: `not found: ${ctx.path}` });
  if (current?.running) return sendJson(res, 409, { error: 'a rolling restart is already running', state: stateOf(app, current) });

  const r = app.config.rolling;
  // In a fleet, one rollout at a time across every balancer.
  let lease: RolloutLease | undefined;
  if (plugin.coordinator) {
    const got = await plugin.coordinator.begin(balancer);
    if (!got.ok) {
      app.logger.warn({ client: req.socket.remoteAddress, balancer }, `rolling restart refused: ${got.reason}`);
      return sendJson(res, 409, { error: got.reason });
    }
    lease = got.lease;
  }
  let rolling: RollingRestart;
  try {
    rolling = new RollingRestart(app, {
      balancer,
      force: body.force,
      routes: body.routes,
      idleMs: durationMs(body.idle, r.idleMs),
      maxWaitMs: durationMs(body.maxWait, r.maxWaitMs),
      hook: body.hook ?? r.hook,
      sessionsPath: r.sessionsPath,
      elsewhere: plugin.coordinator?.elsewhere,
    });
  } catch (e) {
    await lease?.end();
    return sendJson(res, e instanceof RollingError ? 409 : 500, { error: (e as Error).message });
  }
  plugin.current = rolling;
  app.logger.warn({ client: req.socket.remoteAddress, balancer }, `rolling restart of balancer ${balancer} started`);
  rolling.on('progress', (e: RollingEvent) => {
    app.logger.info({ rolling: e.step, route: e.route }, `rolling restart: ${e.message}`);
    lease?.progress(e);
  });
  void lease?.lost.then((why) => {
    if (!rolling.running) return;
    app.logger.error({ balancer }, `rolling restart: the fleet's rollout lock was lost (${why}); stopping after the current step`);
    rolling.abort();
  });
  void rolling.run().finally(() => lease?.end());
  return done(202, stateOf(app, rolling));
}

/** Form fields of the manager page to the JSON body's shape. */
function formToBody(text: string): Record<string, unknown> {
  const f = new URLSearchParams(text);
  const out: Record<string, unknown> = {};
  for (const key of ['nonce', 'balancer', 'idle', 'maxWait', 'hook']) {
    const v = f.get(key);
    if (v) out[key] = v;
  }
  if (f.get('force') === '1' || f.get('force') === 'on') out.force = true;
  const routes = f.get('routes');
  if (routes) out.routes = routes.split(',').map((r) => r.trim()).filter(Boolean);
  return out;
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

function defaultBalancer(app: AppContext): string | undefined {
  const launcher = app.get(LAUNCHER);
  return launcher?.model.balancer ?? app.runtime.named()[0]?.name;
}

/** Streams events as JSON lines until the rollout ends; the last line holds the summary. */
function follow(r: RollingRestart | undefined, res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
  if (!r) {
    res.end(`${JSON.stringify({ summary: null, message: 'no rolling restart has run' })}\n`);
    return;
  }
  for (const e of r.events) res.write(`${JSON.stringify({ event: e })}\n`);
  if (r.summary) {
    res.end(`${JSON.stringify({ summary: r.summary })}\n`);
    return;
  }
  const onProgress = (e: RollingEvent) => res.write(`${JSON.stringify({ event: e, waitingForOperator: r.waitingForOperator })}\n`);
  const onDone = (s: RollingSummary) => {
    cleanup();
    res.end(`${JSON.stringify({ summary: s })}\n`);
  };
  const cleanup = () => {
    r.off('progress', onProgress);
    r.off('done', onDone);
  };
  r.on('progress', onProgress);
  r.on('done', onDone);
  res.on('close', cleanup);
}
