// `POST <manager>/api/reload` of the process plugin (process-plugin.ts): what SIGHUP does, or with
// `upgrade` new workers on the code installed now. Loaded with the first request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AppContext } from '../plugin/contract.js';
import type { ManagerApi } from '../manager/plugins.js';
import { checkedBody } from '../manager/body.js';
import { checkSameOrigin, schemeOf } from '../manager/access/origin.js';
import { sendJson } from '../manager/respond.js';
import type { ProcessControl } from './process-plugin.js';

const reloadSchema = z.object({ nonce: z.string().optional(), balancer: z.string().optional(), upgrade: z.boolean().optional() }).strict();

export async function reload(app: AppContext, manager: ManagerApi, control: ProcessControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'POST {"nonce": …, "upgrade"?: true} here' }, { Allow: 'POST' });
  const checked = await checkedBody(req, reloadSchema);
  if (!checked.ok) return sendJson(res, checked.status, { error: checked.error });
  const body = checked.data;
  // The scheme is part of the origin: over HTTPS a plain-HTTP page of the same host is another
  // site. A request a worker relays here carries the scheme it came with (handler-socket.ts).
  const origin = checkSameOrigin(req.headers, schemeOf(req));
  if (!origin.ok) return sendJson(res, 403, { error: origin.reason });
  // Any balancer's nonce will do: the reload is the whole balancer's.
  const balancer = body.balancer ?? app.runtime.named()[0]?.name;
  if (balancer !== undefined && !manager.nonces.matches(balancer, body.nonce)) return sendJson(res, 403, { error: `refused: missing or wrong nonce for balancer ${balancer}` });
  const who = req.socket.remoteAddress;
  if (body.upgrade) {
    if (!control.upgrade) return sendJson(res, 409, { error: 'an upgrade without downtime needs worker processes (workers: in the config); without them, restart stickylb' });
    app.logger.warn({ client: who }, 'upgrade of the workers requested');
    const r = await control.upgrade();
    return sendJson(res, r.ok ? 200 : 409, { ...r, workers: control.view() });
  }
  app.logger.warn({ client: who }, 'reload requested');
  const r = await control.reload();
  sendJson(res, r.ok ? 200 : 400, { ...r, workers: control.view() });
}
