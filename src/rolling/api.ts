// The rolling restart's part of the manager's JSON API (`<manager path>/api/rolling`, see
// plugin.ts): start, abort, continue, follow. Loaded with the first request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AppContext } from '../plugin/contract.js';
import type { HandlerContext } from '../proxy/server.js';
import type { ManagerApi } from '../manager/plugins.js';
import { checkedBody } from '../manager/body.js';
import { checkSameOrigin, schemeOf } from '../manager/access/origin.js';
import { sendJson } from '../manager/respond.js';
import { durationMs } from '../config/diagnostics.js';
import { RollingRestart, RollingError, type RollingEvent, type RollingSummary } from './rolling-restart.js';
import { defaultBalancer, stateOf, type RollingPlugin, type RolloutLease } from './plugin.js';

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

export async function handle(
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

  // The manager page posts forms; scripts post JSON. A form gets a redirect back to the page.
  const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
  const base = ctx.handler.path.replace(/\/+$/, '');
  const checked = await checkedBody(req, startSchema, isForm ? formToBody : undefined);
  if (!checked.ok) return sendJson(res, checked.status, { error: checked.error });
  const body = checked.data;
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
