// "Is this node idle?" for rolling restarts: a drained node (status N) keeps serving its own
// sessions; once it reports zero live sessions it can be restarted without losing anyone's state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster } from './session-id.js';

export const LIVE_SESSIONS_PATH = '/.well-known/stickylb/sessions';

export interface LiveSessionsBody {
  route: string;
  sessions: number;
}

export interface LiveSessionsOptions {
  /** The node's route, or its cluster. */
  route: string | Cluster;
  /** The number of live sessions (express-session: the store's length; socket.io: engine.clientsCount). */
  count: () => number | Promise<number>;
  /** Default /.well-known/stickylb/sessions. */
  path?: string;
}

/**
 * A request handler for the live-sessions endpoint that also works as Express/Connect middleware:
 * it answers `GET path` with `{"route":"first","sessions":N}` and returns true; any other request
 * goes to `next` when given, and false is returned.
 */
export function liveSessionsHandler(
  options: LiveSessionsOptions,
): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => boolean {
  const path = options.path ?? LIVE_SESSIONS_PATH;
  const route = typeof options.route === 'string' ? options.route : options.route.route;
  return (req, res, next) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== path) {
      if (typeof next === 'function') next();
      return false;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return true;
    }
    Promise.resolve()
      .then(() => options.count())
      .then(
        (n) => {
          const body = JSON.stringify({ route, sessions: n } satisfies LiveSessionsBody);
          res.writeHead(200, {
            'Content-Type': 'application/json; charset=utf-8',
            'Content-Length': Buffer.byteLength(body),
            'Cache-Control': 'no-store',
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: unknown) => {
          if (typeof next === 'function') return next(err);
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('could not count sessions\n');
        },
      );
    return true;
  };
}
