// The balancer manager page: server-rendered HTML, one inline stylesheet and one inline script
// (both allowed by hash in the CSP). Member and balancer links carry `?b=…&w=…&nonce=…` as
// Apache's do, because scripts scrape the nonce from them. Pure.
import { createHash } from 'node:crypto';
import type { StatusLetter } from '../../config/model.js';
import { formatAgo, formatBytes, formatFactor, formatMs, formatUptime } from '../format.js';
import { html, query, raw, type Html } from '../../util/html.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';
import { stickyText, type BalancerView, type ManagerView, type MemberView } from './view.js';

export interface Notice {
  kind: 'ok' | 'err';
  title: string;
  lines: string[];
}

export interface PageOptions {
  /** The manager's path, e.g. `/balancer-manager`. */
  path: string;
  selected?: { b?: string; w?: string };
  notice?: Notice;
  /** Where server-status and metrics live, for the header links. */
  links?: { label: string; href: string }[];
  lbmethods: string[];
  /** Extra cards after the balancers (rolling restarts), already rendered and escaped. */
  sections?: Html[];
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** The page's Content-Security-Policy: nothing but its own style, script and same-origin fetches. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src ${sha256(PAGE_STYLE)}`,
  `script-src ${sha256(PAGE_SCRIPT)}`,
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers for every HTML page of the manager and status handlers. */
export function pageHeaders(csp = PAGE_CSP): Record<string, string> {
  return {
    'Content-Security-Policy': csp,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
  };
}

export const STATUS_LABELS: Record<StatusLetter, string> = {
  I: 'Ignore errors',
  N: 'Drain',
  D: 'Disabled',
  H: 'Hot standby',
  R: 'Hot spare',
  S: 'Stopped',
  E: 'Error',
  C: 'Health check failed',
};

const WORD_CLASS: Record<string, string> = {
  Ok: 'ok',
  Drain: 'drain',
  Standby: 'standby',
  Spare: 'spare',
  Disabled: 'disabled',
  Stopped: 'stopped',
  Error: 'error',
  'Health check failed': 'hc',
  'Ignore errors': 'ignore',
};

export function statusBadges(words: string[]): Html {
  return html`${words.map((w) => html`<span class="st st-${WORD_CLASS[w] ?? 'ignore'}">${w}</span>`)}`;
}

/** What a route mismatch badge says on hover. */
export function routeMismatchTitle(m: Pick<MemberView, 'routeMismatches' | 'lastRouteMismatch'>): string {
  const l = m.lastRouteMismatch;
  if (!l) return '';
  const where = l.where === 'cookie' ? `cookie ${l.name}` : `URL parameter ${l.name}`;
  const what = l.issued ? `issues session ids with route "${l.issued}" (${where}), not its own "${l.expected}"` : `issues session ids without a route (${where}); its route is "${l.expected}"`;
  return `This member ${what}: ${m.routeMismatches} so far. Give the node its route (Seaside WAAdmin makeAllClusteredWith:, Tomcat jvmRoute, STICKYLB_ROUTE) or correct route= in the config.`;
}

/** The route verification badge of a member, while its latest issued session id had a wrong route. */
export function routeBadge(m: Pick<MemberView, 'routeMismatches' | 'lastRouteMismatch'>): Html {
  return m.lastRouteMismatch?.active ? html`<span class="st st-route" title="${routeMismatchTitle(m)}">Route mismatch</span>` : html``;
}

/** A marker for values set in the manager, with the config's value in its tooltip. */
function rt(changed: boolean, configValue: string): Html {
  return changed ? html`<abbr class="rt" title="Set in the manager; the config file says ${configValue || '(empty)'}">●</abbr>` : html``;
}

function memberLink(o: PageOptions, b: BalancerView, m: MemberView): string {
  return `${o.path}${query({ b: b.name, w: m.url, nonce: b.nonce })}`;
}

function healthCell(m: MemberView, now: number): Html {
  const h = m.health;
  if (!h) return html`<span class="health">none</span>`;
  const last = h.last
    ? html`<br><span data-f="hclast" class="${h.last}">${h.last}${h.lastDetail ? ` (${h.lastDetail})` : ''}</span> <span data-f="hcago">${h.lastCheckAt ? formatAgo(h.lastCheckAt, now) : ''}</span>`
    : html`<br><span data-f="hclast">not checked yet</span> <span data-f="hcago"></span>`;
  return html`<span class="health">${h.method}${h.method === 'TCP' ? '' : ` ${h.uri}`} every ${formatMs(h.intervalMs)}<br>passes ${h.passes} (${h.consecutivePasses}) · fails ${h.fails} (${h.consecutiveFails})${last}</span>`;
}

function quickActions(o: PageOptions, b: BalancerView, m: MemberView): Html {
  const hidden = html`<input type="hidden" name="b" value="${b.name}"><input type="hidden" name="w" value="${m.url}"><input type="hidden" name="nonce" value="${b.nonce}">`;
  const drain = m.flags.N
    ? html`<button name="w_status_N" value="0" title="Take new sessions again">Undrain</button>`
    : html`<button name="w_status_N" value="1" title="Keep existing sessions, take no new ones">Drain</button>`;
  const disable = m.flags.D
    ? html`<button name="w_status_D" value="0" title="Take requests again">Enable</button>`
    : html`<button name="w_status_D" value="1" title="Take no requests">Disable</button>`;
  return html`<form class="quick" method="post" action="${o.path}">${hidden}${drain}${disable}</form>`;
}

function memberRow(o: PageOptions, b: BalancerView, m: MemberView, now: number): Html {
  const c = new Set(m.changedAtRuntime);
  const flagsChanged = [...c].some((f) => f.startsWith('status.'));
  const cfgFlags = (Object.keys(m.config.flags) as StatusLetter[]).filter((l) => m.config.flags[l]).join('') || 'none';
  const selected = o.selected?.b === b.name && o.selected.w !== undefined && (o.selected.w === m.url || o.selected.w === m.id || o.selected.w === m.route);
  // Narrow columns so the row fits 1024 px: route and redirect under the URL, set and load under
  // the factor, both byte counts in one cell. Below 900 px each row becomes a block (data-label).
  const redirect = m.redirect || c.has('redirect') ? html` · redirect <span data-f="redirect">${m.redirect}</span>${rt(c.has('redirect'), m.config.redirect)}` : html``;
  return html`<tr data-m="${m.id}"${selected ? raw(' class="selected"') : ''}>
<td class="url" data-label="Member"><a href="${memberLink(o, b, m)}" title="Edit this member">${m.url}</a><div class="sub">route <span data-f="route">${m.route}</span>${rt(c.has('route'), m.config.route)}${redirect}</div></td>
<td class="status" data-label="Status"><span data-f="status" data-words="${m.status.join('|')}">${statusBadges(m.status)}</span><span data-f="routecheck">${routeBadge(m)}</span>${rt(flagsChanged, `flags ${cfgFlags}`)}</td>
<td class="num" data-label="Factor"><span data-f="lbfactor">${formatFactor(m.lbfactor)}</span>${rt(c.has('lbfactor'), formatFactor(m.config.lbfactor))}<div class="sub">set <span data-f="lbset">${m.lbset}</span>${rt(c.has('lbset'), String(m.config.lbset))} · load <span data-f="lbstatus">${Math.round(m.lbstatus)}</span></div></td>
<td class="num" data-label="Elected"><span data-f="elected">${m.elected}</span></td>
<td class="num" data-label="Busy"><span data-f="busy">${m.busy}</span></td>
<td class="num" data-label="Errors"><span data-f="errors">${m.errors}</span></td>
<td class="num" data-label="To / From"><span data-f="bytesTo">${formatBytes(m.bytesTo)}</span> <span class="sub">to</span><div><span data-f="bytesFrom">${formatBytes(m.bytesFrom)}</span> <span class="sub">from</span></div></td>
<td class="hc" data-label="Health check">${healthCell(m, now)}</td>
<td class="actions">${quickActions(o, b, m)}</td>
</tr>`;
}

function fact(label: string, value: Html | string, changed = false, configValue = ''): Html {
  return html`<div><dt>${label}</dt><dd>${value}${rt(changed, configValue)}</dd></div>`;
}

function balancerCard(o: PageOptions, b: BalancerView, now: number): Html {
  const c = new Set(b.changedAtRuntime);
  const link = `${o.path}${query({ b: b.name, nonce: b.nonce })}`;
  const used = b.members.length;
  return html`<section class="card" id="balancer-${b.name}" data-b="${b.name}">
<h2><a href="${link}">balancer://${b.name}</a><a class="edit" href="${link}">Edit balancer</a></h2>
<dl class="facts">
${fact('Sticky session', stickyText(b.sticky) || '(none)', c.has('stickysession'), stickyText(b.config.sticky) || '(none)')}
${fact('Disable failover', b.nofailover ? 'On' : 'Off', c.has('nofailover'), b.config.nofailover ? 'On' : 'Off')}
${fact('Timeout', `${b.timeout}s`, c.has('timeout'), `${b.config.timeout}s`)}
${fact('Failover attempts', String(b.maxattempts), c.has('maxattempts'), b.config.maxattempts === undefined ? 'members - 1' : String(b.config.maxattempts))}
${fact('Method', b.lbmethod, c.has('lbmethod'), b.config.lbmethod)}
${fact('Path', b.paths.join(', ') || '(not used by any ProxyPass)')}
${fact('Members', `${used} [${b.growthLeft} free slot${b.growthLeft === 1 ? '' : 's'}]`)}
${fact('Refused', html`<span data-f="refused">${b.refused}</span>`)}
</dl>
<div class="scroll"><table class="members">
<thead><tr><th>Member, route</th><th>Status</th><th class="num">Factor, set, load</th><th class="num">Elected</th><th class="num">Busy</th><th class="num">Errors</th><th class="num">To, from</th><th>Health check</th><th>Actions</th></tr></thead>
<tbody>
${b.members.map((m) => memberRow(o, b, m, now))}
</tbody>
</table></div>
${charts(b)}
</section>`;
}

/** The live charts of a balancer: empty frames the page script fills from `<manager>/api/history`. */
function charts(b: BalancerView): Html {
  const chart = (series: string, title: string, hidden = false) =>
    html`<figure class="chart" data-series="${series}"${hidden ? raw(' hidden') : ''}><figcaption>${title} <span class="max"></span></figcaption><svg viewBox="0 0 300 90" preserveAspectRatio="none" role="img" aria-label="${title}, last 15 minutes"></svg><div class="axis"><span>15 min ago</span><span>now</span></div></figure>`;
  return html`<div class="live" data-charts="${b.name}">
<h3>Last 15 minutes <span class="meta" data-f="charts-note">collecting figures…</span></h3>
<div class="charts">${chart('rps', 'Requests/s')}${chart('eps', 'Errors/s')}${chart('busy', 'Busy')}${chart('sessions', 'Live sessions', true)}</div>
<ul class="legend">${b.members.map((m, i) => html`<li data-m="${m.id}"><span class="swatch c${i % 8}"></span>${m.route || m.url}</li>`)}</ul>
</div>`;
}

function radio(name: string, on: boolean, label: string): Html {
  return html`<fieldset><legend>${label}</legend><label><input type="radio" name="${name}" value="1"${on ? raw(' checked') : ''}> On</label><label><input type="radio" name="${name}" value="0"${on ? '' : raw(' checked')}> Off</label></fieldset>`;
}

function memberForm(o: PageOptions, b: BalancerView, m: MemberView): Html {
  // C is left to the health checks here: a form loaded before a failed check must not clear it.
  const letters: StatusLetter[] = ['I', 'N', 'D', 'H', 'R', 'S'];
  return html`<section class="card" id="edit">
<h2>Edit member ${m.url} of balancer://${b.name}</h2>
<form class="edit" method="post" action="${o.path}" enctype="application/x-www-form-urlencoded">
<label class="k" for="w_lf">Load factor</label><input type="text" id="w_lf" name="w_lf" value="${formatFactor(m.lbfactor)}">
<label class="k" for="w_ls">LB set</label><input type="text" id="w_ls" name="w_ls" value="${m.lbset}">
<label class="k" for="w_wr">Route</label><input type="text" id="w_wr" name="w_wr" value="${m.route}">
<label class="k" for="w_rr">Route redirect</label><input type="text" id="w_rr" name="w_rr" value="${m.redirect}">
<div class="flags">${letters.map((l) => radio(`w_status_${l}`, m.flags[l], STATUS_LABELS[l]))}</div>
<div class="actions"><input type="submit" class="primary" value="Save"></div>
<input type="hidden" name="w" value="${m.url}"><input type="hidden" name="b" value="${b.name}"><input type="hidden" name="nonce" value="${b.nonce}">
</form>
</section>`;
}

function balancerForm(o: PageOptions, b: BalancerView): Html {
  const sticky = stickyText(b.sticky);
  return html`<section class="card" id="edit">
<h2>Edit balancer://${b.name}</h2>
<form class="edit" method="post" action="${o.path}" enctype="application/x-www-form-urlencoded">
<label class="k" for="b_lbm">LB method</label><select id="b_lbm" name="b_lbm">${o.lbmethods.map((n) => html`<option value="${n}"${n === b.lbmethod ? raw(' selected') : ''}>${n}</option>`)}</select>
<label class="k" for="b_tmo">Timeout (seconds)</label><input type="text" id="b_tmo" name="b_tmo" value="${b.timeout}">
<label class="k" for="b_max">Failover attempts</label><input type="text" id="b_max" name="b_max" value="${b.maxattempts}">
<span class="k">Disable failover</span>${radio('b_sforce', b.nofailover, 'nofailover')}
<label class="k" for="b_ss">Sticky session</label><span><input type="text" id="b_ss" name="b_ss" value="${sticky}"> <span class="hint">COOKIE|URLPARAM, or - to delete</span></span>
${
  b.growthLeft > 0
    ? html`<label class="k" for="b_nwrkr">Add new member</label><span><input type="text" id="b_nwrkr" name="b_nwrkr" placeholder="http://10.0.0.5:8080"> <label><input type="checkbox" id="b_wyes" name="b_wyes" value="1"> Are you sure?</label> <span class="hint">added disabled; ${b.growthLeft} free slot${b.growthLeft === 1 ? '' : 's'}</span></span>`
    : html`<span class="k">Add new member</span><span class="hint">no free slots (set growth on the balancer to allow members added here)</span>`
}
<div class="actions"><input type="submit" class="primary" value="Save"></div>
<input type="hidden" name="b" value="${b.name}"><input type="hidden" name="nonce" value="${b.nonce}">
</form>
</section>`;
}

function editSection(o: PageOptions, view: ManagerView): Html {
  const sel = o.selected;
  if (!sel?.b) return html``;
  const b = view.balancers.find((x) => x.name.toLowerCase() === sel.b!.toLowerCase());
  if (!b) return html`<div class="notice err">No balancer named ${sel.b}.</div>`;
  if (sel.w !== undefined) {
    const m = b.members.find((x) => x.url === sel.w || x.id === sel.w || x.id === sel.w!.toLowerCase().replace(/\/+$/, '') || (x.route !== '' && x.route === sel.w));
    if (!m) return html`<div class="notice err">Balancer ${b.name} has no member ${sel.w}.</div>`;
    return memberForm(o, b, m);
  }
  return balancerForm(o, b);
}

export function renderPage(view: ManagerView, o: PageOptions): string {
  const n = o.notice;
  const notice = n ? html`<div class="notice ${n.kind}" role="status"><strong>${n.title}</strong>${n.lines.length ? html`<ul>${n.lines.map((l) => html`<li>${l}</li>`)}</ul>` : ''}</div>` : html``;
  const persist = view.persist
    ? html`Changes made here are kept across restarts (in <code>${view.persist.file}</code>).`
    : html`Changes made here are <strong>not</strong> kept across restarts (set <code>persist</code> to keep them).`;
  const page = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Balancer manager · ${view.serverName}</title>
<style>${raw(PAGE_STYLE)}</style>
</head>
<body data-api="${o.path.replace(/\/+$/, '')}/api">
<header><h1>Balancer manager</h1><span class="meta">${view.serverName} · stickylb ${view.version} · up ${formatUptime((view.now - view.startedAt) / 1000)}</span>
<nav><a href="${o.path}">Overview</a>${(o.links ?? []).map((l) => html`<a href="${l.href}">${l.label}</a>`)}</nav></header>
<main>
${notice}
<p class="meta">${persist} Values marked <abbr class="rt" title="Set in the manager">●</abbr> were set here; hover to see the config file's value. <span id="refreshed" aria-live="polite"></span></p>
${view.balancers.length ? view.balancers.map((b) => balancerCard(o, b, view.now)) : html`<div class="card">No balancers are configured.</div>`}
${(o.sections ?? []).map((s, i) => html`<div data-section="${i}">${s}</div>`)}
${editSection(o, view)}
</main>
<footer>Status: Ok takes requests · Drain keeps its sessions, takes no new ones · Standby is used when nothing else in its set is · Spare stands in for unusable members · Disabled and Stopped take no requests · Error and Health check failed are set by failures and cleared by retries or passing checks.</footer>
<script>${raw(PAGE_SCRIPT)}</script>
</body></html>
`;
  return page.value;
}
