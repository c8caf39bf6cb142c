// The processes of a running balancer in the manager: `GET <manager>/api/workers` (the owner and
// each worker: pid, uptime, requests, connections, restarts), `POST <manager>/api/reload`
// ({nonce, upgrade?}: what SIGHUP does, or with upgrade new workers on the code installed now),
// a card on the manager page, and per-worker metrics. `stickylb reload` uses the API.
import type { Registry } from 'prom-client';
import type { PromClient } from '../manager/metrics/metrics.js';
import type { Plugin } from '../plugin/contract.js';
import { MANAGER, METRICS, STATUS } from '../manager/plugins.js';
import type { StatusSection } from '../manager/deps.js';
import { sendJson } from '../manager/respond.js';
import { formatUptime } from '../manager/format.js';
import type { LoadSample } from '../manager/metrics/load-monitor.js';
import { loadJson } from '../manager/status/status-json.js';
import { html, type Html } from '../util/html.js';
import type { WorkersView } from './owner.js';
import { PROCESS } from './key.js';

export { PROCESS } from './key.js';

export interface ReloadOutcome {
  ok: boolean;
  message: string;
  /** With an upgrade: the generation now serving and its pids. */
  generation?: number;
  pids?: number[];
}

/** What `stickylb run` gives the plugin: its reload, its upgrade (with workers), its processes. */
export interface ProcessControl {
  /** Reads the config file again, as SIGHUP does. */
  reload(): Promise<ReloadOutcome>;
  /** Replaces the workers with ones on the code installed now; undefined without workers. */
  upgrade?(): Promise<ReloadOutcome>;
  /** Resolves once every worker has applied the state changes so far; undefined without workers. */
  settled?(): Promise<{ applied: number[]; replaced: number[] }>;
  view(): WorkersView;
}

export interface ProcessPlugin extends Plugin {
  readonly control: ProcessControl;
}

export function processPlugin(control: ProcessControl): ProcessPlugin {
  return {
    name: PROCESS.name,
    control,
    after: [MANAGER, STATUS, METRICS],
    setup(app) {
      const manager = app.get(MANAGER);
      if (manager) {
        manager.addApiRoute('/workers', (req, res, ctx, rest) => {
          if (rest !== '' && rest !== '/') return sendJson(res, 404, { error: `not found: ${ctx.path}` });
          if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'GET only here; reload at /api/reload' }, { Allow: 'GET, HEAD' });
          sendJson(res, 200, workersJson(control.view()));
        });
        // The reload API (and zod, for its body) is loaded with its first request.
        const api = () => import('./reload-api.js');
        manager.addApiRoute('/reload', async (req, res) => (await api()).reload(app, manager, control, req, res), api);
        manager.addSection(() => workersSection(control.view()));
        // A change is answered once every worker routes by it.
        const settled = control.settled;
        if (settled) {
          manager.addChangeGate(async () => {
            const r = await settled();
            const lines = [`Applied by ${r.applied.length} worker process${r.applied.length === 1 ? '' : 'es'}.`];
            if (r.replaced.length) lines.push(`Worker process${r.replaced.length === 1 ? '' : 'es'} ${r.replaced.join(', ')} did not apply it in time and ${r.replaced.length === 1 ? 'was' : 'were'} replaced.`);
            return { key: 'workers', value: r, lines };
          });
        }
      }
      app.get(STATUS)?.addSection(() => workersStatus(control.view()));
      app.get(STATUS)?.addLoadSource(() => workersLoad(control.view()));
      const metrics = app.get(METRICS);
      if (metrics) {
        metrics.register((registry, prom) => registerWorkerMetrics(registry, prom, control));
        metrics.addLoadSource(() => workersLoad(control.view()));
      }
    },
  };
}

function workersSection(v: WorkersView): Html {
  if (!v.workers.length && v.count === 0) return html``;
  return html`<section class="card" id="workers"><h2>Processes</h2>
<p class="meta">Owner pid ${v.owner.pid} (stickylb ${v.owner.version}): runtime state, manager, health checks, launcher. ${v.count} worker process${v.count === 1 ? '' : 'es'} serve the listeners; generation ${v.generation}${v.replacing ? ', being replaced' : ''}.</p>
<div class="scroll"><table>
<thead><tr><th>Worker</th><th>Pid</th><th>Generation</th><th>State</th><th>Version</th><th>Uptime</th><th class="num">Requests</th><th class="num">In flight</th><th class="num">Connections</th><th class="num">Restarts</th></tr></thead>
<tbody>${v.workers.map(
    (w) =>
      html`<tr><td>${w.index}</td><td>${w.pid}</td><td>${w.generation}</td><td>${w.phase}</td><td>${w.version}</td><td>${formatUptime(w.uptimeSeconds)}</td><td class="num">${w.requests}</td><td class="num">${w.inFlight}</td><td class="num">${w.connections}</td><td class="num">${w.restarts}</td></tr>`,
  )}</tbody>
</table></div></section>`;
}

/** A worker's `?auto` key prefix (`Worker[1]`; `Worker[1.2]` for another generation) and its name for people. */
function workerNames(v: WorkersView, w: WorkersView['workers'][number]): { key: string; label: string } {
  const current = w.generation === v.generation;
  return { key: `Worker[${w.index}${current ? '' : `.${w.generation}`}]`, label: `Worker ${w.index}${current ? '' : ` (generation ${w.generation}, ${w.phase})`}` };
}

/** `GET <manager>/api/workers`: the view, each worker's load figures as server-status?json gives them. */
function workersJson(v: WorkersView): unknown {
  return { ...v, workers: v.workers.map((w) => ({ ...w, load: w.load && loadJson({ pid: w.pid, figures: w.load }) })) };
}

/** The workers' event-loop delay and GC pauses, for server-status and metrics (those that reported them). */
function workersLoad(v: WorkersView): LoadSample[] {
  return v.workers.flatMap((w) => (w.load ? [{ pid: w.pid, worker: { index: w.index, generation: w.generation, ...workerNames(v, w) }, figures: w.load }] : []));
}

/** server-status: one line of facts per worker (`Worker[1]Pid: …` in ?auto). */
function workersStatus(v: WorkersView): StatusSection | undefined {
  if (!v.workers.length && v.count === 0) return undefined;
  const facts: StatusSection['facts'] = [
    { label: 'Owner process', key: 'OwnerPid', value: String(v.owner.pid) },
    { label: 'Worker processes', key: 'Workers', value: String(v.count) },
    { label: 'Generation', key: 'WorkerGeneration', value: String(v.generation) },
  ];
  for (const w of v.workers) {
    const { key: k, label: who } = workerNames(v, w);
    facts.push(
      { label: `${who}: pid`, key: `${k}Pid`, value: String(w.pid) },
      { label: `${who}: uptime`, key: `${k}UptimeSeconds`, value: String(w.uptimeSeconds) },
      { label: `${who}: requests`, key: `${k}Requests`, value: String(w.requests) },
      { label: `${who}: connections`, key: `${k}Connections`, value: String(w.connections) },
      { label: `${who}: restarts`, key: `${k}Restarts`, value: String(w.restarts) },
    );
  }
  return { title: 'Worker processes', facts };
}

/** Per-worker figures with a `worker` label; member and request figures stay totals. */
function registerWorkerMetrics(registry: Registry, prom: PromClient, control: ProcessControl): void {
  const registers = [registry];
  const labelNames = ['worker', 'generation'];
  const each = (fn: (labels: Record<string, string>, w: WorkersView['workers'][number]) => void) => {
    for (const w of control.view().workers) fn({ worker: String(w.index), generation: String(w.generation) }, w);
  };
  const gauge = (name: string, help: string, value: (w: WorkersView['workers'][number]) => number) =>
    new prom.Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        each((l, w) => this.set(l, value(w)));
      },
    });
  const counter = (name: string, help: string, value: (w: WorkersView['workers'][number]) => number) =>
    new prom.Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        each((l, w) => this.inc(l, value(w)));
      },
    });
  counter('stickylb_worker_requests_total', 'Requests a worker process answered.', (w) => w.requests);
  counter('stickylb_worker_restarts_total', 'Times the worker process of this slot died and was replaced.', (w) => w.restarts);
  gauge('stickylb_worker_requests_in_flight', 'Requests a worker process is answering now.', (w) => w.inFlight);
  gauge('stickylb_worker_connections_open', 'Client connections a worker process holds open now.', (w) => w.connections);
  gauge('stickylb_worker_start_time_seconds', 'When the worker process started (Unix time).', (w) => w.startedAt / 1000);
  gauge('stickylb_worker_up', '1 while the worker process serves, 0 while it starts or drains.', (w) => (w.phase === 'ready' ? 1 : 0));
}
