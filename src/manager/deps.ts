// What the manager's request handlers need from the running app, in one place.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandlerContext } from '../proxy/server.js';
import type { RuntimeState } from '../balancer/runtime.js';
import type { ConfigModel } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import type { Applied } from './api/changes.js';
import type { Nonces } from './access/nonce.js';
import type { Html } from '../util/html.js';
import type { ManagedCertificate } from '../acme/renewer.js';
import type { LoadSample } from './metrics/load-monitor.js';
import { parseBasicAuth } from '../edge/htpasswd.js';
import { managerView, type ManagerView } from './page/view.js';
import { version } from './version.js';
import { hostname } from 'node:os';

/**
 * Answers the requests below `<manager path>/api<path>` for another plugin; `rest` is what follows
 * `<path>` ('' or '/…'). The handler chooses the methods it takes.
 */
export type ManagerApiHandler = (req: IncomingMessage, res: ServerResponse, ctx: HandlerContext, rest: string) => void | Promise<void>;

export interface ManagerApiRoute {
  /** Below `/api`, e.g. `/rolling`. */
  path: string;
  handler: ManagerApiHandler;
  /** Imports what the handler loads on its first request; run when the config serves the manager. */
  preload?: () => Promise<unknown>;
}

/** What a plugin adds to the answer of a manager change (the fleet: where it is stored and applied). */
export interface ChangeReport {
  /** The field of the JSON answer it goes under. */
  key: string;
  value: unknown;
  /** Lines for the page's notice. */
  lines: string[];
}

/**
 * Runs after a change was applied here and before it is answered; the answer waits for it (the
 * fleet waits until the change is stored and the other balancers applied it, within a bound).
 */
export type ChangeGate = (change: { balancer: string; summary: readonly string[] }) => Promise<ChangeReport | undefined>;

/** One card of server-status contributed by a plugin: facts for people, `key: value` lines for ?auto. */
export interface StatusSection {
  title: string;
  facts: { label: string; key: string; value: string }[];
}

export interface ManagerDeps {
  runtime: RuntimeState;
  config(): ConfigModel;
  nonces: Nonces;
  logger: Logger;
  clock(): number;
  /** Extra page cards contributed by other plugins (the manager's path is passed in). */
  sections?: (path: string) => Html[];
  /** JSON API routes contributed by other plugins, tried before the manager's own. */
  apiRoutes?: readonly ManagerApiRoute[];
  /** Plugins the answer of a change waits for. */
  changeGates?: readonly ChangeGate[];
  /** server-status cards contributed by other plugins. */
  statusSections?: () => StatusSection[];
  /** The event-loop delay and GC pauses of this process and the workers, for server-status. */
  load?: () => LoadSample[];
  /** The managed (ACME) certificates, when some are managed. */
  certificates?(): ManagedCertificate[];
}

/** The server's name as the client addressed it (Apache's ap_get_server_name). */
export function serverNameOf(req: IncomingMessage, config: ConfigModel): string {
  const host = req.headers.host?.replace(/:\d+$/, '');
  return host || config.sites[0]?.serverName || hostname();
}

export function viewOf(deps: ManagerDeps, req: IncomingMessage): ManagerView {
  const config = deps.config();
  return managerView({
    runtime: deps.runtime,
    config,
    nonceOf: (b) => deps.nonces.of(b),
    serverName: serverNameOf(req, config),
    version: version(),
    now: deps.clock(),
  });
}

/** Passes an applied change through the plugins' gates; their reports go into the answer. */
export async function changeReports(deps: ManagerDeps, balancer: string, summary: readonly string[]): Promise<ChangeReport[]> {
  if (!summary.length || !deps.changeGates?.length) return [];
  const out: ChangeReport[] = [];
  for (const gate of deps.changeGates) {
    const r = await gate({ balancer, summary });
    if (r) out.push(r);
  }
  return out;
}

/** Who made a change, for the log: the basic-auth user (already checked) and the address. */
export function whoOf(req: IncomingMessage): string {
  const user = parseBasicAuth(req.headers.authorization)?.user;
  const addr = req.socket.remoteAddress ?? '?';
  return user ? `${user}@${addr}` : addr;
}

export function logApplied(deps: ManagerDeps, req: IncomingMessage, balancer: string, applied: Applied): void {
  const who = whoOf(req);
  for (const line of applied.summary) deps.logger.warn({ balancer, by: 'manager', client: who }, `manager (${who}): ${line}`);
}
