// A real `stickylb run` with worker processes, for process-level tests: a YAML config in a temp
// folder, the owner started from the sources, its manager's API at hand.
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startCli, type NodeProcess } from './node-process.js';
import { request } from './http.js';

export interface WorkersBalancer {
  proc: NodeProcess;
  dir: string;
  file: string;
  port: number;
  url: string;
  manager: string;
  /** GET <manager>/api/workers. */
  workers(): Promise<WorkersAnswer>;
  /** A manager change (JSON API) with the balancer's nonce; resolves when it is answered. */
  change(path: string, body: Record<string, unknown>): Promise<{ status: number; json: any }>;
  stop(): Promise<number | string>;
}

export interface WorkersAnswer {
  generation: number;
  workers: { index: number; pid: number; generation: number; phase: string; version: string; restarts: number; requests: number; connections: number }[];
}

/** Writes `config` (the YAML shape) and runs it; resolves once every worker listens. */
export async function startWorkersBalancer(config: Record<string, unknown>, opts: { dir?: string; env?: Record<string, string>; port?: number } = {}): Promise<WorkersBalancer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'stickylb-workers-'));
  const file = join(dir, 'stickylb.yaml');
  writeFileSync(file, stringify({ listen: [`127.0.0.1:${opts.port ?? 0}`], errorLog: { path: join(dir, 'error.log'), level: 'info' }, manager: { path: '/balancer-manager' }, ...config }));
  const proc = startCli(['run', '-c', file], opts.env);
  const m = await proc.waitFor(/stickylb listening on http:\/\/127\.0\.0\.1:(\d+)/, 60_000);
  await proc.waitFor(/worker process/, 10_000);
  const port = Number(m[1]);
  const url = `http://127.0.0.1:${port}`;
  const manager = `${url}/balancer-manager`;
  // A connection of its own for every call: a kept-alive one may belong to a worker a test killed.
  const agent = new http.Agent({ keepAlive: false, timeout: 20_000 });
  return {
    proc,
    dir,
    file,
    port,
    url,
    manager,
    async workers() {
      return (await request(`${manager}/api/workers`, { agent })).json();
    },
    async change(path, body) {
      const nonce = (await request(`${manager}/api`, { agent })).json().balancers[0].nonce;
      const r = await request(`${manager}/api${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: url },
        body: JSON.stringify({ nonce, ...body }),
        agent,
      });
      return { status: r.status, json: r.json() };
    },
    stop: () => proc.stop('SIGTERM', 20_000),
  };
}
