// A bounded load loop for process-level tests: a few concurrent clients sending requests one
// after the other on keep-alive connections, counting what came back, until stopped.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request was sent and when its answer was complete. */
  sentAt: number;
  doneAt: number;
}

export interface LoadStats {
  sent: number;
  ok: number;
  /** Answers that were not 2xx, and requests that got no answer. */
  failed: number;
  /** Connections refused (ECONNREFUSED): nothing was listening. */
  refused: number;
  errors: string[];
}

export interface LoadOptions {
  /** The URL of each request (called per request). */
  url: () => string;
  concurrency: number;
  headers?: () => Record<string, string>;
  /** Stop after this many requests (a safety bound). */
  max?: number;
  onReply?: (r: LoadReply) => void;
}

export interface Load {
  readonly stats: LoadStats;
  stop(): Promise<LoadStats>;
}

function once(url: string, agent: http.Agent, headers: Record<string, string>): Promise<LoadReply> {
  const sentAt = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), sentAt, doneAt: performance.now() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // A request that gets no answer at all is a failure too (not a hung test).
    req.setTimeout(20_000, () => req.destroy(Object.assign(new Error('no answer within 20 s'), { code: 'ETIMEDOUT' })));
  });
}

export function startLoad(opts: LoadOptions): Load {
  const stats: LoadStats = { sent: 0, ok: 0, failed: 0, refused: 0, errors: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  let stopped = false;
  const max = opts.max ?? 1_000_000;
  const loops = Array.from({ length: opts.concurrency }, async () => {
    while (!stopped && stats.sent < max) {
      stats.sent++;
      try {
        const r = await once(opts.url(), agent, opts.headers?.() ?? {});
        if (r.status >= 200 && r.status < 300) stats.ok++;
        else {
          stats.failed++;
          if (stats.errors.length < 20) stats.errors.push(`status ${r.status}: ${r.body.slice(0, 200)}`);
        }
        opts.onReply?.(r);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ECONNREFUSED') stats.refused++;
        else stats.failed++;
        if (stats.errors.length < 20) stats.errors.push(`${code ?? ''} ${(e as Error).message}`);
      }
    }
  });
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return stats;
    },
  };
}
