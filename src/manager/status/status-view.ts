// What server-status shows: the listener's figures and, with proxyStatus on, every balancer and
// member. Built from the same views as the manager, without nonces (server-status is often
// opened to more people than the manager). Pure.
import type { RuntimeState } from '../../balancer/runtime.js';
import type { ConfigModel } from '../../config/model.js';
import type { ServerStats } from '../../proxy/server.js';
import { balancerView, type BalancerView } from '../page/view.js';
import type { StatusSection } from '../deps.js';
import type { ManagedCertificate } from '../../acme/renewer.js';
import type { LoadSample } from '../metrics/load-monitor.js';

export interface StatusView {
  serverName: string;
  version: string;
  now: number;
  startedAt: number;
  uptimeSeconds: number;
  requests: number;
  inFlight: number;
  connections: number;
  bytesIn: number;
  bytesOut: number;
  requestsPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  bytesPerReq: number;
  /** Requests by protocol: HTTP/1.x, HTTP/2, and how many of all came over TLS. */
  byProtocol?: { http1: number; http2: number; tls: number };
  /** Present when proxyStatus is on. */
  balancers?: BalancerView[];
  /** Cards of other plugins (the fleet). */
  sections?: StatusSection[];
  /** The managed (ACME) certificates, as mod_md adds them to server-status. */
  certificates: ManagedCertificate[];
  /** Event-loop delay and GC pauses: this process first, then each worker process. */
  load?: LoadSample[];
}

export function statusView(opts: {
  runtime: RuntimeState;
  config: ConfigModel;
  stats: ServerStats;
  serverName: string;
  version: string;
  now: number;
  certificates?: ManagedCertificate[];
  sections?: StatusSection[];
  load?: LoadSample[];
}): StatusView {
  const s = opts.stats;
  const uptime = Math.max(0, (opts.now - s.startedAt) / 1000);
  // Rates over the whole uptime, as mod_status computes them; at least one second to divide by.
  const per = Math.max(1, uptime);
  return {
    serverName: opts.serverName,
    version: opts.version,
    now: opts.now,
    startedAt: s.startedAt,
    uptimeSeconds: Math.floor(uptime),
    requests: s.requests,
    inFlight: s.inFlight,
    connections: s.connections,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    requestsPerSec: s.requests / per,
    bytesInPerSec: s.bytesIn / per,
    bytesOutPerSec: s.bytesOut / per,
    bytesPerReq: s.requests ? s.bytesOut / s.requests : 0,
    byProtocol: { http1: (s.byVersion?.['1.1'] ?? 0) + (s.byVersion?.['1.0'] ?? 0), http2: s.byVersion?.['2'] ?? 0, tls: s.tlsRequests ?? 0 },
    balancers: opts.config.proxyStatus ? opts.runtime.named().map((b) => balancerView(b, { config: opts.config, nonceOf: () => '' })) : undefined,
    certificates: opts.certificates ?? [],
    sections: opts.sections ?? [],
    load: opts.load ?? [],
  };
}
