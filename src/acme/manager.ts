// The managed certificates on the balancer-manager: a card on its page and a read-only JSON route
// (`<manager>/api/certificates`), under the manager's access rules.
import type { ServerResponse, IncomingMessage } from 'node:http';
import type { ManagerApiHandler } from '../manager/deps.js';
import { sendJson } from '../manager/respond.js';
import { html, type Html } from '../util/html.js';
import type { ManagedCertificate, Renewer } from './renewer.js';
import { certificateJson, fromNow } from './view.js';

export function acmeManagerSection(list: ManagedCertificate[], _path: string, now = Date.now()): Html {
  if (!list.length) return html``;
  const rows = list.map((c) => {
    const until = c.notAfter === undefined ? '-' : `${new Date(c.notAfter).toISOString().slice(0, 16).replace('T', ' ')} (${fromNow(c.notAfter, now)})`;
    const next = c.state === 'pending' || c.state === 'renewing' ? 'under way' : c.nextAttemptAt === undefined ? '-' : fromNow(c.nextAttemptAt, now);
    return html`<tr><td>${c.names.join(', ')}</td><td>${c.state}</td><td>${c.temporary ? 'temporary (self-signed)' : (c.issuer ?? 'CA')}</td><td>${until}</td><td>${next}</td><td>${c.lastError ?? ''}</td></tr>`;
  });
  return html`<section class="card" id="certificates"><h2>Certificates (ACME)</h2>
<table><thead><tr><th>Names</th><th>State</th><th>Certificate</th><th>Valid until</th><th>Next order</th><th>Last error</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

export function acmeApiHandler(renewer: () => Renewer | undefined): ManagerApiHandler {
  return (req: IncomingMessage, res: ServerResponse, _ctx, rest) => {
    if (rest !== '' && rest !== '/') return sendJson(res, 404, { error: 'not found' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'read-only: use GET' }, { Allow: 'GET, HEAD' });
    sendJson(res, 200, { certificates: (renewer()?.list() ?? []).map(certificateJson) });
  };
}
