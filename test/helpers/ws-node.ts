// A WebSocket member for tests: a real `ws` server that echoes every message prefixed with its
// name (binary messages as they are), records the request headers of each upgrade it accepted,
// and answers plain requests with 426.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface WsNode {
  name: string;
  url: string;
  server: http.Server;
  /** Request headers of each upgrade the node accepted. */
  upgrades: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** Starts a node on 127.0.0.1, port 0; `greet` sends `hello from NAME` first on each socket. */
export async function startWsNode(name: string, opts: { greet?: boolean } = {}): Promise<WsNode> {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('upgrade required');
  });
  const wss = new WebSocketServer({ server });
  const node: WsNode = { name, url: '', server, upgrades: [], close: async () => {} };
  wss.on('connection', (ws, req) => {
    node.upgrades.push(req.headers);
    if (opts.greet) ws.send(`hello from ${name}`);
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${name}:${data.toString()}`, { binary: isBinary }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  node.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  node.close = async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return node;
}
