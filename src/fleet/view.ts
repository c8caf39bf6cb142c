// What the manager, server-status and the JSON API show of the fleet: Redis, each balancer
// (address, version, last seen, workers, in step or not), the members they see differently, the
// conflicts settled lately. Pure: built from the Fleet's state.
import type { Fleet } from './fleet.js';
import { disagreements, type Disagreement } from './heartbeat.js';
import { formatMs } from '../manager/format.js';
import { html, type Html } from '../util/html.js';
import type { StatusSection } from '../manager/deps.js';

export interface FleetBalancerView {
  id: string;
  address: string;
  version: string;
  startedAt: number;
  /** How long ago it last beat (Redis's clock). */
  lastSeenMs: number;
  live: boolean;
  workers: number;
  /** It applied every shared change this balancer knows of. */
  inStep: boolean;
  self: boolean;
}

export interface FleetView {
  name: string;
  id: string;
  redis: {
    url: string;
    /** connected: changes are shared; unreachable: this balancer serves from its own state. */
    state: 'connected' | 'unreachable' | 'not reached yet';
    since: number;
    lastError?: string;
  };
  /** Changes made here that are not stored in Redis yet. */
  unsharedChanges: number;
  sharedSettings: number;
  health: 'local' | 'shared';
  balancers: FleetBalancerView[];
  disagreements: Disagreement[];
  conflicts: { at: number; kept: string; dropped: string }[];
  conflictsTotal: number;
}

/** The Redis URL without its password. */
export function safeUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*@)/i, (_, scheme: string, auth: string) => `${scheme}${auth.includes(':') ? `${auth.split(':')[0]}:***@` : '***@'}`);
}

export function fleetView(fleet: Fleet, everSynced: boolean): FleetView {
  const peers = [...fleet.peers.values()].sort((a, b) => a.id.localeCompare(b.id));
  const live = peers.filter((p) => p.live);
  const self = fleet.heartbeat();
  // Our own report is fresher than the one in Redis.
  const beats = [self, ...live.filter((p) => p.id !== fleet.id)];
  return {
    name: fleet.model.name,
    id: fleet.id,
    redis: {
      url: safeUrl(fleet.model.redis),
      state: fleet.synced ? 'connected' : everSynced ? 'unreachable' : 'not reached yet',
      since: fleet.downSince,
      lastError: fleet.synced ? undefined : fleet.lastError || undefined,
    },
    unsharedChanges: fleet.pendingChanges,
    sharedSettings: fleet.entries.size,
    health: fleet.model.health,
    balancers: peers.map((p) => ({
      id: p.id,
      address: p.address,
      version: p.version,
      startedAt: p.startedAt,
      lastSeenMs: p.ageMs,
      live: p.live,
      workers: p.workers,
      inStep: p.seq >= fleet.appliedSeq,
      self: p.id === fleet.id,
    })),
    disagreements: disagreements(beats),
    conflicts: fleet.conflicts.slice(-10).map((c) => ({ at: c.at, kept: c.kept, dropped: c.dropped })),
    conflictsTotal: fleet.conflictCount,
  };
}

function stateLine(v: FleetView, now: number): string {
  if (v.redis.state === 'connected') return `Shared through Redis ${v.redis.url}: ${v.balancers.filter((b) => b.live).length} balancer(s) live.`;
  const since = `${formatMs(Math.max(0, now - v.redis.since))} ago`;
  const why = v.redis.lastError ? ` (${v.redis.lastError})` : '';
  const what = `this balancer serves from its config and its local state; changes made here apply here only until Redis is back${v.unsharedChanges ? ` (${v.unsharedChanges} waiting)` : ''}`;
  return v.redis.state === 'unreachable' ? `Redis ${v.redis.url} is unreachable since ${since}${why}: ${what}.` : `Redis ${v.redis.url} has not been reached since the start ${since}${why}: ${what}.`;
}

/** The manager page's card. */
export function fleetSection(v: FleetView, now: number): Html {
  const rows = v.balancers.map(
    (b) =>
      html`<tr${b.live ? '' : html` class="meta"`}><td>${b.id}${b.self ? ' (this one)' : ''}</td><td>${b.address}</td><td>${b.version}</td><td>${formatMs(b.lastSeenMs)} ago${b.live ? '' : ' (gone)'}</td><td class="num">${b.workers}</td><td>${b.inStep ? 'yes' : 'catching up'}</td></tr>`,
  );
  const disagree = v.disagreements.length
    ? html`<h3>Members seen differently</h3><table><thead><tr><th>Balancer</th><th>Member</th><th>Route</th><th>As each balancer sees it</th></tr></thead><tbody>${v.disagreements.map(
        (d) =>
          html`<tr><td>${d.balancer}</td><td>${d.member}</td><td>${d.route}</td><td>${d.views.map((x) => html`<div><strong>${x.id}</strong>: ${x.status}${x.cause ? ` (${x.cause})` : ''}</div>`)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="meta">Every live balancer sees every member alike.</p>`;
  const conflicts = v.conflicts.length
    ? html`<h3>Conflicting changes settled (the later one wins)</h3><ul class="meta">${v.conflicts.map((c) => html`<li>${new Date(c.at).toISOString().slice(0, 19)}: kept ${c.kept}; dropped ${c.dropped}</li>`)}</ul>`
    : '';
  return html`<section class="card" id="fleet"><h2>Fleet ${v.name}</h2>
<p${v.redis.state === 'connected' ? '' : html` class="err"`}>${stateLine(v, now)}</p>
<p class="meta">This balancer: ${v.id}. Health check verdicts: ${v.health === 'shared' ? 'shared (a member fails on every balancer while one balancer\'s check fails)' : 'each balancer its own'}.</p>
<table><thead><tr><th>Balancer</th><th>Address</th><th>Version</th><th>Last seen</th><th class="num">Workers</th><th>In step</th></tr></thead><tbody>${rows}</tbody></table>
${disagree}${conflicts}</section>`;
}

/** server-status's card and ?auto lines. */
export function fleetStatus(v: FleetView, now: number): StatusSection {
  return {
    title: `Fleet ${v.name}`,
    facts: [
      { label: 'Shared state', key: 'FleetState', value: v.redis.state === 'connected' ? 'shared' : `local only: ${stateLine(v, now)}` },
      { label: 'This balancer', key: 'FleetMember', value: v.id },
      { label: 'Balancers live', key: 'FleetBalancers', value: String(v.balancers.filter((b) => b.live).length) },
      { label: 'Changes not shared yet', key: 'FleetUnsharedChanges', value: String(v.unsharedChanges) },
      { label: 'Members seen differently', key: 'FleetDisagreements', value: String(v.disagreements.length) },
    ],
  };
}
