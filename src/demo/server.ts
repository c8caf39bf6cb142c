// One demo node: the demo app on its own HTTP server. Every node runs the same code; only the port
// and the route differ.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDemoApp, type DemoApp, type DemoAppOptions } from './app.js';

export interface DemoNodeOptions extends DemoAppOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface DemoNode {
  readonly app: DemoApp;
  readonly server: http.Server;
  readonly route: string;
  readonly port: number;
  readonly url: string;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then drops what is left. */
  close(graceMs?: number): Promise<void>;
}

export async function startDemoNode(options: DemoNodeOptions = {}): Promise<DemoNode> {
  // Validates the route before anything listens.
  const app = createDemoApp(options);
  const server = http.createServer((req, res) => app.handle(req, res));
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    app.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    app,
    server,
    route: app.route,
    port,
    url: `http://${shownHost}:${port}`,
    close(graceMs = 2000) {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          app.close();
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
