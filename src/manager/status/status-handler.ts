// The server-status handler: HTML, `?auto` for scripts (Apache's mod_status form), or `?json`.
// `?refresh=N` asks the browser to reload every N seconds, as mod_status does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandlerContext, HandlerFn } from '../../proxy/server.js';
import { serverNameOf, type ManagerDeps } from '../deps.js';
import { pageHeaders } from '../page/page.js';
import { send, sendJson, sendText } from '../respond.js';
import { renderAuto } from './status-auto.js';
import { statusJson } from './status-json.js';
import { renderStatusPage, STATUS_CSP } from './status-page.js';
import { statusView } from './status-view.js';
import { version } from '../version.js';

export function statusHandler(deps: Omit<ManagerDeps, 'nonces'>): HandlerFn {
  return (req: IncomingMessage, res: ServerResponse, ctx: HandlerContext) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'server-status is read-only: use GET.', { Allow: 'GET, HEAD' });
    const q = new URLSearchParams((ctx.query ?? '').replace(/;/g, '&'));
    const config = deps.config();
    const view = statusView({
      runtime: deps.runtime,
      config,
      stats: ctx.server.stats(),
      serverName: serverNameOf(req, config),
      version: version(),
      now: deps.clock(),
      certificates: deps.certificates?.(),
      sections: deps.statusSections?.(),
      load: deps.load?.(),
    });
    if (q.has('auto')) return send(res, 200, 'text/plain; charset=utf-8', renderAuto(view));
    if (q.has('json')) return sendJson(res, 200, statusJson(view));
    const headers = pageHeaders(STATUS_CSP);
    const refresh = Number(q.get('refresh'));
    if (q.has('refresh') && Number.isInteger(refresh) && refresh > 0) headers.Refresh = String(Math.min(refresh, 3600));
    const manager = ctx.site.handlers.find((h) => h.handler === 'balancer-manager')?.path;
    send(res, 200, 'text/html; charset=utf-8', renderStatusPage(view, { managerPath: manager }), headers);
  };
}
