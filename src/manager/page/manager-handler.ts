// The balancer-manager handler: the page (GET), Apache-style changes (POST with b, w, nonce and
// w_*/b_* parameters), `?xml=1`, and the JSON API below `/api`. Refused changes answer 403 (or 400
// for unreadable values) with the reason, and change nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandlerContext, HandlerFn } from '../../proxy/server.js';
import { schedulerNames } from '../../balancer/schedulers/registry.js';
import { handleApi } from '../api/api.js';
import { parseApacheParams, SELECT_PARAMS, type ApacheParams } from './apache-params.js';
import { BodyError, readBody } from '../body.js';
import { applyChanges, ChangeError, dropRestated } from '../api/changes.js';
import { changeReports, logApplied, viewOf, type ManagerDeps } from '../deps.js';
import { checkSameOrigin, schemeOf } from '../access/origin.js';
import { pageHeaders, renderPage, type Notice } from './page.js';
import { send, sendText } from '../respond.js';
import { renderXml } from './xml.js';

const HANDLER_LABELS: Record<string, string> = { 'server-status': 'Server status', metrics: 'Metrics' };

/** The manager path without a trailing slash (`''` for a manager at `/`). */
export function basePath(handlerPath: string): string {
  return handlerPath.replace(/\/+$/, '');
}

export function managerHandler(deps: ManagerDeps): HandlerFn {
  return async (req: IncomingMessage, res: ServerResponse, ctx: HandlerContext) => {
    const base = basePath(ctx.handler.path);
    const rest = ctx.path.slice(base.length);
    const query = new URLSearchParams(ctx.query ?? '');
    const route = deps.apiRoutes?.find((r) => rest === `/api${r.path}` || rest.startsWith(`/api${r.path}/`));
    if (route) return route.handler(req, res, ctx, rest.slice(`/api${route.path}`.length));
    if (rest === '/api' || rest.startsWith('/api/')) return handleApi(deps, req, res, rest.slice(4), query);
    if (rest !== '' && rest !== '/') return sendText(res, 404, `Not found: ${ctx.path}`);

    const links = ctx.site.handlers.filter((h) => h.handler !== 'balancer-manager').map((h) => ({ label: HANDLER_LABELS[h.handler] ?? h.handler, href: h.path }));
    const show = (status: number, params: Pick<ApacheParams, 'b' | 'w' | 'xml'>, notice?: Notice) => {
      const view = viewOf(deps, req);
      if (params.xml) return send(res, status, 'text/xml; charset=utf-8', renderXml(view));
      const page = renderPage(view, { path: base || '/', selected: { b: params.b, w: params.w }, notice, links, lbmethods: schedulerNames(), sections: deps.sections?.(base || '/') });
      send(res, status, 'text/html; charset=utf-8', page, pageHeaders());
    };
    const refuse = (status: number, params: Pick<ApacheParams, 'b' | 'w' | 'xml'>, reason: string) => {
      deps.logger.warn({ client: req.socket.remoteAddress, balancer: params.b }, `manager: change refused: ${reason}`);
      if (params.xml) return sendText(res, status, `Refused: ${reason}`);
      show(status, params, { kind: 'err', title: 'Nothing was changed.', lines: [reason] });
    };

    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      const params = parseApacheParams(query);
      const extra = [...query.keys()].filter((k) => !SELECT_PARAMS.has(k));
      if (params.hasChanges || extra.some((k) => /^[wb]_/.test(k))) {
        return refuse(403, params, 'changes must be sent with POST (a link cannot change anything)');
      }
      return show(200, params);
    }
    if (method !== 'POST') return sendText(res, 405, 'Use GET to read and POST to change.', { Allow: 'GET, HEAD, POST' });

    let text: string;
    try {
      text = await readBody(req);
    } catch (e) {
      if (e instanceof BodyError) return sendText(res, e.status, e.message);
      throw e;
    }
    const type = (req.headers['content-type'] ?? 'application/x-www-form-urlencoded').toLowerCase();
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      return sendText(res, 415, `Send the manager's form as application/x-www-form-urlencoded; JSON goes to ${base}/api.`);
    }
    // Apache reads POSTed parameters from the body; the query is merged in for scripts that put
    // b, w and nonce there. Body values win.
    const merged = new URLSearchParams(query);
    for (const [k, v] of new URLSearchParams(text)) merged.set(k, v);
    const params = parseApacheParams(merged);
    if (!params.hasChanges) return show(200, params);

    const origin = checkSameOrigin(req.headers, schemeOf(req));
    if (!origin.ok) return refuse(403, params, origin.reason);
    if (!params.b) return refuse(400, params, 'b= must name the balancer to change');
    const b = deps.runtime.balancer(params.b);
    if (!b || b.model.implicit) return refuse(404, params, `no balancer named ${params.b}`);
    if (!deps.nonces.matches(b.name, params.nonce)) {
      return refuse(403, params, params.nonce ? `the nonce does not match balancer ${b.name}'s (reload the page and try again)` : `changes need balancer ${b.name}'s nonce`);
    }
    if (params.errors.length) return refuse(400, params, params.errors.join('; '));
    try {
      const applied = applyChanges(b, dropRestated(b, params.request), deps.config());
      logApplied(deps, req, b.name, applied);
      const reports = await changeReports(deps, b.name, applied.summary);
      const sel = { ...params, b: b.name, w: params.w ?? applied.added?.url };
      show(
        200,
        sel,
        applied.summary.length ? { kind: 'ok', title: 'Saved.', lines: [...applied.summary, ...reports.flatMap((r) => r.lines)] } : { kind: 'ok', title: 'Nothing to change: the values were already set.', lines: [] },
      );
    } catch (e) {
      if (e instanceof ChangeError) return refuse(e.status, params, e.message);
      throw e;
    }
  };
}
