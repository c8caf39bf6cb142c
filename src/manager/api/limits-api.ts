// `<manager path>/api/limits`: what the edge refused (connections, PROXY headers, rate limits,
// access rules, logins, body and head limits, slow clients), the rate-limit windows and the
// connections open per client address. Read-only.
import type { StickyServer } from '../../proxy/server.js';
import type { ManagerApiHandler } from '../deps.js';
import { sendJson } from '../respond.js';
import { busiest } from '../../edge/conn-limit.js';

export function limitsHandler(server: StickyServer): ManagerApiHandler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'GET only', status: 405 }, { Allow: 'GET, HEAD' });
      return;
    }
    const e = server.edge;
    // With worker processes, their figures added up (each worker's at most a second old).
    const busiestClients = e.summary?.clients ?? busiest(e.connections.snapshot());
    sendJson(res, 200, {
      counters: e.counters.snapshot(),
      rateLimits: e.summary?.rates ?? e.rates.snapshot(),
      connections: { counted: e.connections.open, busiestClients },
      limits: {
        maxConnections: server.config.edge.maxConnections,
        maxConnectionsPerClient: server.config.edge.maxConnectionsPerClient,
        maxKeepAliveRequests: server.config.edge.maxKeepAliveRequests,
      },
    });
  };
}
