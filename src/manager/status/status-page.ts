// server-status as HTML: the listener's figures, then (with proxyStatus on) a table per balancer,
// the columns of Apache's "Proxy LoadBalancer Status" with status in words. No script. Pure.
import { formatBytes, formatFactor, formatUptime, statusDate } from '../format.js';
import { html, raw } from '../../util/html.js';
import { routeBadge, statusBadges } from '../page/page.js';
import { PAGE_STYLE } from '../page/page-style.js';
import type { StatusView } from './status-view.js';
import { stickyText } from '../page/view.js';
import { createHash } from 'node:crypto';
import { GC_KINDS, LOAD_WINDOW_MS, type GcKind } from '../metrics/load-monitor.js';

export const STATUS_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(PAGE_STYLE).digest('base64')}'`,
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function fixed(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** mod_md's "Managed Certificates" table: every managed domain, its state and its certificate. */
function managedCertificates(v: StatusView) {
  if (!v.certificates.length) return '';
  return html`<section class="card" id="certificates"><h2>Managed certificates</h2>
<div class="scroll"><table>
<thead><tr><th>Domain</th><th>Names</th><th>Status</th><th>Certificate</th><th>Valid until</th><th>Next order</th><th>Last error</th></tr></thead>
<tbody>${v.certificates.map(
    (c) =>
      html`<tr><td>${c.name}</td><td>${c.names.join(' ')}</td><td>${c.state}</td><td>${c.temporary ? 'temporary (self-signed)' : (c.issuer ?? '')}</td><td>${c.notAfter === undefined ? '' : statusDate(c.notAfter)}</td><td>${c.state === 'pending' || c.state === 'renewing' ? 'under way' : c.nextAttemptAt === undefined ? '' : statusDate(c.nextAttemptAt)}</td><td>${c.lastError ?? ''}</td></tr>`,
  )}</tbody>
</table></div>
</section>`;
}

const GC_TITLES: Record<GcKind, string> = { minor: 'Minor GC', major: 'Major GC', incremental: 'Incremental marking', weakcb: 'Weak callbacks' };

const ms = (n: number) => `${fixed(n)} ms`;

/** Event-loop delay and GC pauses per process: what says a balancer runs hot. */
function loadCard(v: StatusView) {
  const load = v.load ?? [];
  if (!load.length) return '';
  const workers = load.some((s) => s.worker);
  return html`<section class="card" id="load"><h2>Event loop and garbage collection</h2>
<p class="meta">Per process, over its last ${LOAD_WINDOW_MS / 1000}-second window (the time so far just after it started): how late the event loop ran its timers (p50, p99, maximum), and the garbage-collection pauses (how many, their total, the longest).</p>
<div class="scroll"><table>
<thead><tr><th>Process</th><th>Pid</th><th class="num">Window</th><th class="num">Loop delay p50</th><th class="num">p99</th><th class="num">max</th>${GC_KINDS.map((k) => html`<th class="num">${GC_TITLES[k]}</th>`)}</tr></thead>
<tbody>${load.map(
    (s) =>
      html`<tr><td>${s.worker ? s.worker.label : workers ? 'Owner' : 'This process'}</td><td>${s.pid}</td><td class="num">${fixed(s.figures.windowSeconds)} s</td><td class="num">${ms(s.figures.eventLoopDelayMs.p50)}</td><td class="num">${ms(s.figures.eventLoopDelayMs.p99)}</td><td class="num">${ms(s.figures.eventLoopDelayMs.max)}</td>${GC_KINDS.map((k) => {
        const g = s.figures.gc[k];
        return html`<td class="num">${g.count ? `${g.count} · ${ms(g.totalMs)} (max ${ms(g.maxMs)})` : '0'}</td>`;
      })}</tr>`,
  )}</tbody>
</table></div></section>`;
}

export function renderStatusPage(v: StatusView, opts: { managerPath?: string } = {}): string {
  const fig = (label: string, value: string) => html`<div><dt>${label}</dt><dd>${value}</dd></div>`;
  const balancers = v.balancers
    ? v.balancers.map(
        (b) => html`<section class="card" data-b="${b.name}">
<h2>balancer://${b.name}</h2>
<dl class="facts">${fig('Sticky session', stickyText(b.sticky) || '(none)')}${fig('Timeout', `${b.timeout}s`)}${fig('Method', b.lbmethod)}${fig('Disable failover', b.nofailover ? 'On' : 'Off')}${fig('Refused', String(b.refused))}</dl>
<div class="scroll"><table>
<thead><tr><th>Sch</th><th>Host</th><th>Status</th><th>Route</th><th>Redir</th><th class="num">Factor</th><th class="num">Set</th><th class="num">Elected</th><th class="num">Busy</th><th class="num">Wr</th><th class="num">Rd</th><th class="num">Errors</th><th>Health check</th></tr></thead>
<tbody>${b.members.map(
          (m) => html`<tr data-m="${m.id}"><td>${m.scheme}</td><td>${m.hostname}:${m.port}</td><td>${statusBadges(m.status)}${routeBadge(m)}</td><td>${m.route}</td><td>${m.redirect}</td><td class="num">${formatFactor(m.lbfactor)}</td><td class="num">${m.lbset}</td><td class="num">${m.elected}</td><td class="num">${m.busy}</td><td class="num">${formatBytes(m.bytesTo)}</td><td class="num">${formatBytes(m.bytesFrom)}</td><td class="num">${m.errors}</td><td>${m.health ? (m.health.last ?? 'not checked yet') : 'none'}</td></tr>`,
        )}</tbody>
</table></div>
</section>`,
      )
    : html`<p class="meta">Per-balancer status is off (set <code>proxyStatus: true</code>, Apache's <code>ProxyStatus On</code>).</p>`;
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Server status · ${v.serverName}</title>
<style>${raw(PAGE_STYLE)}</style>
</head>
<body>
<header><h1>Server status</h1><span class="meta">${v.serverName} · stickylb ${v.version}</span><nav>${opts.managerPath ? html`<a href="${opts.managerPath}">Balancer manager</a>` : ''}<a href="?auto">?auto</a><a href="?json">?json</a></nav></header>
<main>
<section class="card">
<dl class="facts">
${fig('Current time', statusDate(v.now))}
${fig('Restart time', statusDate(v.startedAt))}
${fig('Uptime', formatUptime(v.uptimeSeconds))}
${fig('Requests', `${v.requests} (${fixed(v.requestsPerSec)}/s)`)}
${v.byProtocol ? fig('By protocol', `HTTP/1.x ${v.byProtocol.http1}, HTTP/2 ${v.byProtocol.http2}; over TLS ${v.byProtocol.tls}`) : ''}
${fig('Bytes in', `${formatBytes(v.bytesIn)} (${formatBytes(Math.round(v.bytesInPerSec))}/s)`)}
${fig('Bytes out', `${formatBytes(v.bytesOut)} (${formatBytes(Math.round(v.bytesOutPerSec))}/s)`)}
${fig('Connections open', String(v.connections))}
${fig('Requests in flight', String(v.inFlight))}
</dl>
</section>
${loadCard(v)}
${(v.sections ?? []).map((s) => html`<section class="card"><h2>${s.title}</h2><dl class="facts">${s.facts.map((f) => fig(f.label, f.value))}</dl></section>`)}
${balancers}
${managedCertificates(v)}
</main>
</body></html>
`.value;
}
