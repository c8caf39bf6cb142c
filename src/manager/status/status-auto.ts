// server-status `?auto`: mod_status's plain `Key: value` lines, then mod_proxy's
// `ProxyBalancer[i]…` lines (httpd 2.4's proxy_status_hook). Keys Apache has keep their names and
// formats; keys only stickylb has are added after them. Pure.
import { formatUptime, statusDate } from '../format.js';
import type { StatusView } from './status-view.js';
import { GC_KINDS, type LoadSample } from '../metrics/load-monitor.js';

/** mod_status prints rates with up to 6 significant digits and no trailing zeros. */
function rate(n: number): string {
  if (!Number.isFinite(n) || n === 0) return '0';
  return String(Number(n.toPrecision(6)));
}

/** The load figures of one process; a worker's keys carry its prefix (`Worker[1]…`). */
function loadLines(s: LoadSample): string[] {
  const p = s.worker?.key ?? '';
  const f = s.figures;
  const d = f.eventLoopDelayMs;
  const lines = [`${p}LoadWindowSeconds: ${f.windowSeconds}`, `${p}EventLoopDelayP50Ms: ${d.p50}`, `${p}EventLoopDelayP99Ms: ${d.p99}`, `${p}EventLoopDelayMaxMs: ${d.max}`];
  for (const kind of GC_KINDS) {
    const k = `${p}Gc${kind[0].toUpperCase()}${kind.slice(1)}`;
    const g = f.gc[kind];
    lines.push(`${k}Pauses: ${g.count}`, `${k}PauseMs: ${g.totalMs}`, `${k}PauseMaxMs: ${g.maxMs}`);
  }
  return lines;
}

export function renderAuto(v: StatusView): string {
  const lines: string[] = [
    v.serverName,
    `ServerVersion: stickylb/${v.version}`,
    'ServerMPM: node',
    `CurrentTime: ${statusDate(v.now)}`,
    `RestartTime: ${statusDate(v.startedAt)}`,
    `ServerUptimeSeconds: ${v.uptimeSeconds}`,
    `ServerUptime: ${formatUptime(v.uptimeSeconds)}`,
    `Total Accesses: ${v.requests}`,
    `Total kBytes: ${Math.floor(v.bytesOut / 1024)}`,
    `Uptime: ${v.uptimeSeconds}`,
    `ReqPerSec: ${rate(v.requestsPerSec)}`,
    `BytesPerSec: ${rate(v.bytesOutPerSec)}`,
    `BytesPerReq: ${rate(v.bytesPerReq)}`,
    `BusyWorkers: ${v.inFlight}`,
    `ConnsTotal: ${v.connections}`,
    `Total kBytesIn: ${Math.floor(v.bytesIn / 1024)}`,
    `BytesInPerSec: ${rate(v.bytesInPerSec)}`,
    `RequestsInFlight: ${v.inFlight}`,
  ];
  if (v.byProtocol) lines.push(`RequestsHTTP1: ${v.byProtocol.http1}`, `RequestsHTTP2: ${v.byProtocol.http2}`, `RequestsTLS: ${v.byProtocol.tls}`);
  (v.balancers ?? []).forEach((b, i) => {
    const p = `ProxyBalancer[${i}]`;
    lines.push(`${p}Name: balancer://${b.name}`);
    b.members.forEach((m, n) => {
      const w = `${p}Worker[${n}]`;
      lines.push(
        `${w}Name: ${m.url}`,
        `${w}Status: ${m.statusText}`,
        `${w}Elected: ${m.elected}`,
        `${w}Busy: ${m.busy}`,
        `${w}Sent: ${Math.floor(m.bytesTo / 1024)}K`,
        `${w}Rcvd: ${Math.floor(m.bytesFrom / 1024)}K`,
        `${w}Route: ${m.route}`,
        `${w}Factor: ${m.lbfactor}`,
        `${w}Set: ${m.lbset}`,
        `${w}Errors: ${m.errors}`,
      );
      if (m.health?.last) lines.push(`${w}HealthCheck: ${m.health.last}`);
    });
  });
  if (v.certificates.length) {
    // mod_md's lines; stickylb activates a new certificate at once, so none waits to be "Ready".
    const c = v.certificates;
    lines.push(
      `ManagedCertificatesTotal: ${c.length}`,
      `ManagedCertificatesOK: ${c.filter((x) => x.state === 'valid').length}`,
      `ManagedCertificatesRenew: ${c.filter((x) => x.state === 'renewing' || x.state === 'pending').length}`,
      `ManagedCertificatesErrored: ${c.filter((x) => x.state === 'error').length}`,
      'ManagedCertificatesReady: 0',
    );
    c.forEach((x, i) => {
      const p = `ManagedCertificate[${i}]`;
      lines.push(`${p}Name: ${x.name}`, `${p}Names: ${x.names.join(' ')}`, `${p}State: ${x.state}`, `${p}Temporary: ${x.temporary ? 'yes' : 'no'}`);
      if (x.notAfter !== undefined) lines.push(`${p}ValidUntil: ${new Date(x.notAfter).toISOString()}`);
      if (x.nextAttemptAt !== undefined) lines.push(`${p}NextOrder: ${new Date(x.nextAttemptAt).toISOString()}`);
      if (x.lastError) lines.push(`${p}LastError: ${x.lastError}`);
    });
  }
  for (const s of v.sections ?? []) for (const f of s.facts) lines.push(`${f.key}: ${f.value}`);
  for (const s of v.load ?? []) lines.push(...loadLines(s));
  // Values are one line each: a route or URL can never break the format.
  return `${lines.map((l) => l.replace(/[\r\n]+/g, ' ')).join('\n')}\n`;
}
