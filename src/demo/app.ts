// The demo application as a plain node:http request handler, on top of the node:http adapter of
// stickylb/cluster. Seaside style: the session key `_s` and an action key `_k` are in every link
// and form action; an action runs, then the browser is redirected to a page view (so reloading a
// page never repeats an action).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import {
  createSessions,
  liveSessionsHandler,
  urlParam,
  type ClusterOptions,
  type Sessions,
} from '../cluster/index.js';
import type { Html } from '../util/html.js';
import { counterPage, formPage, homePage, notFoundPage, PAGE_PATHS, actionUrl, type NodeInfo, type RenderContext } from './pages.js';
import { newState, runForm, runLink, targetOf, type DemoState, type Page } from './state.js';

export interface DemoAppOptions extends ClusterOptions {
  /** Idle minutes before a session is gone; default ten minutes. */
  ttlMs?: number;
}

export interface DemoApp {
  readonly route: string;
  readonly sessions: Sessions<DemoState>;
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

const PAGES: Record<string, Page> = { '/': 'home', '/counter': 'counter', '/form': 'form' };

/** Form bodies are a few short fields. */
const MAX_BODY = 16 * 1024;

const SECURITY_HEADERS = {
  // No external assets at all: inline style, a data: icon, forms back to this origin.
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  // Session keys are in URLs; never hand them to another site.
  'Referrer-Policy': 'same-origin',
};

function pathOf(url: string): string {
  const end = url.search(/[?;#]/);
  return end < 0 ? url : url.slice(0, end);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: Html | string, route: string, extra: Record<string, string> = {}): void {
  const text = String(body);
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Stickylb-Demo-Route': route,
    ...SECURITY_HEADERS,
    ...extra,
  });
  res.end(text);
}

export function createDemoApp(options: DemoAppOptions = {}): DemoApp {
  const sessions = createSessions<DemoState>({ ...options, create: newState, ttlMs: options.ttlMs });
  const route = sessions.cluster.route;
  const live = liveSessionsHandler({ route, count: () => sessions.size });
  const host = hostname();

  function render(ctx: RenderContext, page: Page): Html {
    return page === 'counter' ? counterPage(ctx) : page === 'form' ? formPage(ctx) : homePage(ctx);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (live(req, res)) return;
    const url = req.url ?? '/';
    const page = PAGES[pathOf(url)];
    if (!page) {
      send(res, 404, notFoundPage(pathOf(url)), route);
      return;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      send(res, 405, 'method not allowed\n', route, { Allow: 'GET, HEAD, POST', 'Content-Type': 'text/plain; charset=utf-8' });
      return;
    }
    const body = method === 'POST' ? await readBody(req) : '';
    if (body === undefined) {
      send(res, 413, 'request body too large\n', route, { 'Content-Type': 'text/plain; charset=utf-8' });
      return;
    }

    const resumed = sessions.resume(req, res);
    const { session } = resumed;
    const state = session.data;
    if (resumed.unknownId !== undefined) {
      state.notice = sessions.cluster.isOwnSession(resumed.unknownId)
        ? 'Your session has expired; a new one was started.'
        : 'That session is not known on this node; a new one was started.';
    }
    const node: NodeInfo = { route, pid: process.pid, port: req.socket.localPort ?? 0, hostname: host };
    const ctx: RenderContext = {
      node,
      sessionId: session.id,
      sessionSource: resumed.isNew ? 'new' : (resumed.source ?? 'new'),
      state,
    };

    // Action keys are only honoured inside the session that registered them.
    const key = resumed.isNew ? undefined : urlParam(url, '_k');
    const action = key === undefined ? undefined : state.actions.get(key);

    if (action && action.kind === 'end') {
      sessions.destroy(session.id, res);
      send(res, 303, '', route, { Location: PAGE_PATHS.home });
      return;
    }
    if (method === 'POST') {
      if (action?.kind === 'form') runForm(state, action.step, new URLSearchParams(body));
      else state.notice = 'That form is no longer valid; here is the current page.';
      redirect(res, ctx, action ? targetOf(action) : page);
      return;
    }
    if (action && action.kind !== 'view' && action.kind !== 'form') {
      runLink(state, action);
      redirect(res, ctx, targetOf(action));
      return;
    }
    send(res, 200, render(ctx, page), route);
  }

  function redirect(res: ServerResponse, ctx: RenderContext, page: Page): void {
    send(res, 303, '', route, { Location: actionUrl(ctx, { kind: 'view', page }, page) });
  }

  return {
    route,
    sessions,
    handle(req, res) {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, 'internal error\n', route, { 'Content-Type': 'text/plain; charset=utf-8' });
        else res.destroy(err as Error);
      });
    },
    close: () => sessions.close(),
  };
}

