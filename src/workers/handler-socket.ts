// The owner's private socket: workers forward manager, server-status and metrics requests here
// (relay.ts). It listens on a unix socket in a fresh 0700 folder, so only stickylb's user can
// connect, and trusts the relay header for that reason alone. The request is answered by the
// same handler functions and the same access check a single process uses; the client's address
// and port are the ones the worker saw.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { AppContext } from '../plugin/contract.js';
import { nodeRecord } from '../proxy/node-record.js';
import { sendText } from '../manager/respond.js';
import { RELAY_HEADER, type RelayInfo } from './relay.js';

export interface HandlerSocketOptions {
  app: AppContext;
}

export interface HandlerSocket {
  readonly path: string;
  close(): Promise<void>;
}

/** Gives the relayed connection the client's addresses, as the handlers and access rules read them. */
function adopt(socket: Socket, info: RelayInfo): void {
  const set = (k: string, v: unknown) => Object.defineProperty(socket, k, { value: v, configurable: true });
  set('remoteAddress', info.remoteAddress);
  set('remotePort', info.remotePort);
  set('remoteFamily', info.remoteAddress?.includes(':') ? 'IPv6' : 'IPv4');
  set('localAddress', info.localAddress);
  set('localPort', info.localPort);
  if (info.tls) set('encrypted', true);
}

export async function startHandlerSocket(opts: HandlerSocketOptions): Promise<HandlerSocket> {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-'));
  const path = join(dir, 'handlers.sock');
  const { app } = opts;
  const server = http.createServer((req, res) => {
    const text = req.headers[RELAY_HEADER];
    let info: RelayInfo;
    try {
      info = JSON.parse(typeof text === 'string' ? text : '') as RelayInfo;
    } catch {
      return sendText(res, 400, 'not a relayed request');
    }
    delete req.headers[RELAY_HEADER];
    adopt(req.socket, info);
    const site = app.config.sites[info.site];
    const handler = site?.handlers.find((h) => h.path === info.handler);
    const fn = handler && app.server.handlers.get(handler.handler);
    if (!site || !handler || !fn) return sendText(res, 404, `Not found: ${info.path} (the configuration changed; try again)`);
    const record = nodeRecord(req, res);
    record.kind = 'handler';
    const ctx = { server: app.server, handler, site, path: info.path, query: info.query, record };
    void (async () => {
      if (app.server.accessCheck && !(await app.server.accessCheck(req, res, handler, record))) return;
      await fn(req, res, ctx);
    })().catch((e: unknown) => {
      app.logger.error({ err: e }, 'internal error while handling a request');
      if (!res.headersSent) sendText(res, 500, 'Internal error.');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    path,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
