// Talking to a running balancer through its manager's JSON API, for commands that act on it
// (`stickylb restart --rolling`, `stickylb reload`): the manager's address comes from the
// balancer's config file or is given as a URL.
import http from 'node:http';
import https from 'node:https';
import { loadConfigFile } from '../config/load.js';

export interface Target {
  base: URL;
  auth?: string;
}

export function call(t: Target, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; res: http.IncomingMessage }> {
  const url = new URL(t.base.pathname.replace(/\/+$/, '') + path, t.base);
  const lib = url.protocol === 'https:' ? https : http;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        method,
        headers: {
          Accept: 'application/json',
          // Manager changes must come from the manager's own origin.
          Origin: `${url.protocol}//${url.host}`,
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) } : {}),
          ...(t.auth ? { Authorization: `Basic ${Buffer.from(t.auth).toString('base64')}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, res }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function errorOf(text: string): string {
  try {
    return (JSON.parse(text) as { error?: string }).error ?? text.trim();
  } catch {
    return text.trim();
  }
}

export function managerUrlFromConfig(file: string): URL {
  const { model } = loadConfigFile(file);
  const site = model.sites[0];
  const h = site?.handlers.find((x) => x.handler === 'balancer-manager');
  if (!h) throw new Error(`${file} has no balancer-manager location; give --url`);
  const l = model.listeners[0];
  const host = !l.host || l.host === '0.0.0.0' || l.host === '::' ? '127.0.0.1' : l.host.includes(':') ? `[${l.host}]` : l.host;
  return new URL(`http://${host}:${l.port}${h.path}`);
}
