// The metrics handler: Prometheus text format from the app's own registry.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandlerFn } from '../../proxy/server.js';
import type { Metrics } from './metrics.js';
import { send, sendText } from '../respond.js';

export function metricsHandler(metrics: Metrics): HandlerFn {
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'metrics are read-only: use GET.', { Allow: 'GET, HEAD' });
    const registry = await metrics.registry();
    send(res, 200, registry.contentType, await registry.metrics());
  };
}
