// Manager changes as a saved state (Apache's BalancerPersist): every value set in the manager is
// stored with the config value it overrode. On start, a saved value is used only while the config
// still says what it said then; when the config file was edited since, the config wins and the
// conflict is reported. Pure apart from the runtime-state API calls.
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { MemberState } from '../../balancer/member-state.js';
import type { RuntimeState } from '../../balancer/runtime.js';
import type { BalancerModel, ConfigModel, Lbmethod, MemberModel, StatusLetter, StickyNames } from '../../config/model.js';
import { newMemberModel } from '../api/add-member.js';
import { foundSettings, isKeptSetting, isMemberSetting, memberField, modelMemberField, type SettingValue } from '../../balancer/member-settings.js';

export { memberField } from '../../balancer/member-settings.js';

export const STATE_VERSION = 1;

/** A value set in the manager, with the config's value it overrode. */
export type SavedValue = SettingValue;

export interface SavedMember {
  url: string;
  route: string;
  redirect: string;
  lbfactor: number;
  lbset: number;
  flags: Partial<Record<StatusLetter, boolean>>;
}

export interface SavedBalancer {
  settings: Record<string, SavedValue>;
  /** Member id → field (`lbfactor`, `status.D`, …) → saved value. */
  members: Record<string, Record<string, SavedValue>>;
  /** Members added in the manager (not in the config). */
  added: SavedMember[];
  /**
   * Members found by DNS: identity (`dns:NAME:PORT`, or the URL of one routed by its address) →
   * field → saved value. They apply to the member of that identity whenever it is found, at
   * whatever address.
   */
  found?: Record<string, Record<string, SavedValue>>;
}

export interface SavedState {
  version: number;
  savedAt: string;
  balancers: Record<string, SavedBalancer>;
  /** What other plugins keep in the state file (the fleet's shared settings with their versions), by name. */
  sections?: Record<string, unknown>;
}

/** Flags that are settings; E and C are facts about the member, found again after a restart. */
const SAVED_LETTERS: StatusLetter[] = ['I', 'N', 'D', 'H', 'R', 'S'];
const BALANCER_FIELDS = ['lbmethod', 'timeout', 'maxattempts', 'nofailover', 'stickysession'] as const;

const norm = (v: unknown): unknown => (v === undefined ? null : v);
const same = (a: unknown, b: unknown) => JSON.stringify(norm(a)) === JSON.stringify(norm(b));

function stickyValue(s: StickyNames | undefined): unknown {
  return s ? { cookie: s.cookie ?? null, url: s.url ?? null } : null;
}

export function balancerField(field: string, b: { lbmethod: Lbmethod; timeoutMs: number; maxattempts?: number; nofailover: boolean; sticky?: StickyNames }): unknown {
  switch (field) {
    case 'lbmethod':
      return b.lbmethod;
    case 'timeout':
      return b.timeoutMs;
    case 'maxattempts':
      return norm(b.maxattempts);
    case 'nofailover':
      return b.nofailover;
    case 'stickysession':
      return stickyValue(b.sticky);
    default:
      return undefined;
  }
}

function modelBalancerField(field: string, m: BalancerModel): unknown {
  return balancerField(field, m);
}

const isSavedField = isMemberSetting;

/** Whether a member was added at run time (it is not in the balancer's config). */
export function isAdded(b: BalancerState, m: MemberState): boolean {
  return !b.model.members.some((x) => x.id === m.id);
}

/**
 * The values set in the manager, each with the config value it overrode. `config` gives the
 * overridden values (defaults to the config each state was built from).
 */
export function snapshot(runtime: RuntimeState, now: number, config?: ConfigModel): SavedState {
  const out: SavedState = { version: STATE_VERSION, savedAt: new Date(now).toISOString(), balancers: {} };
  for (const b of runtime.named()) {
    const model = config?.balancers[b.name] ?? b.model;
    const sb: SavedBalancer = { settings: {}, members: {}, added: [] };
    for (const f of b.changedAtRuntime) {
      if (!(BALANCER_FIELDS as readonly string[]).includes(f)) continue;
      sb.settings[f] = { value: balancerField(f, b), overrode: modelBalancerField(f, model) };
    }
    const found: Record<string, Record<string, SavedValue>> = {};
    for (const m of b.members) {
      // Members found by DNS are found again after a restart; their settings are kept by identity.
      if (m.model.source) {
        const fields = foundSettings(m);
        if (Object.keys(fields).length) found[m.identity] = fields;
        continue;
      }
      if (isAdded(b, m)) {
        const flags: Partial<Record<StatusLetter, boolean>> = {};
        for (const l of SAVED_LETTERS) if (m.flags[l]) flags[l] = true;
        sb.added.push({ url: m.url, route: m.route, redirect: m.redirect, lbfactor: m.lbfactor, lbset: m.lbset, flags });
        continue;
      }
      const mm = model.members.find((x) => x.id === m.id) ?? m.model;
      const fields: Record<string, SavedValue> = {};
      for (const f of m.changedAtRuntime) {
        if (!isSavedField(f)) continue;
        fields[f] = { value: memberField(f, m), overrode: modelMemberField(f, mm) };
      }
      if (Object.keys(fields).length) sb.members[m.id] = fields;
    }
    // And those of found members that are away now (gone from DNS, moving to another address).
    for (const [identity, fields] of b.keptSettings()) found[identity] ??= fields;
    if (Object.keys(found).length) sb.found = found;
    if (Object.keys(sb.settings).length || Object.keys(sb.members).length || sb.added.length || sb.found) out.balancers[b.name] = sb;
  }
  return out;
}

export interface RestoreReport {
  /** Values taken from the saved state, in words. */
  applied: string[];
  /** Saved values dropped because the config file changed since (the config wins). */
  conflicts: string[];
  /** Saved values that no longer apply (balancer or member gone, no free slot). */
  dropped: string[];
}

function show(v: unknown): string {
  if (v === null || v === undefined) return '(unset)';
  if (typeof v === 'object') {
    const s = v as { cookie?: string | null; url?: string | null };
    return s.cookie === s.url ? String(s.cookie) : `${s.cookie ?? ''}|${s.url ?? ''}`;
  }
  return JSON.stringify(v);
}

function applyBalancerField(b: BalancerState, field: string, value: unknown, by: string): void {
  switch (field) {
    case 'lbmethod':
      return b.setBalancer({ lbmethod: value as Lbmethod }, by);
    case 'timeout':
      return b.setBalancer({ timeoutMs: value as number }, by);
    case 'maxattempts':
      return b.setBalancer({ maxattempts: value as number | null }, by);
    case 'nofailover':
      return b.setBalancer({ nofailover: value as boolean }, by);
    case 'stickysession': {
      const s = value as { cookie: string | null; url: string | null } | null;
      return b.setBalancer({ sticky: s ? { cookie: s.cookie ?? undefined, url: s.url ?? undefined } : undefined }, by);
    }
  }
}

function applyMemberField(b: BalancerState, m: MemberState, field: string, value: unknown, by: string): void {
  if (field.startsWith('status.')) b.setMember(m, { status: { [field.slice(7)]: value as boolean } }, by);
  else b.setMember(m, { [field]: value }, by);
}

/** Uses the saved values whose overridden config value is still the config's; reports the rest. */
export function restore(runtime: RuntimeState, saved: SavedState, config: ConfigModel, by = 'manager'): RestoreReport {
  const report: RestoreReport = { applied: [], conflicts: [], dropped: [] };
  for (const [name, sb] of Object.entries(saved.balancers ?? {})) {
    const b = runtime.balancer(name);
    if (!b || b.model.implicit) {
      report.dropped.push(`balancer ${name} is no longer configured; its saved manager changes are dropped`);
      continue;
    }
    for (const [field, sv] of Object.entries(sb.settings ?? {})) {
      if (!(BALANCER_FIELDS as readonly string[]).includes(field)) continue;
      const now = modelBalancerField(field, b.model);
      if (!same(now, sv.overrode)) {
        report.conflicts.push(`balancer ${b.name}: ${field}: the config file now says ${show(now)} (it said ${show(sv.overrode)} when the manager set ${show(sv.value)}); the config wins`);
        continue;
      }
      try {
        applyBalancerField(b, field, sv.value, by);
        b.changedAtRuntime.add(field);
        report.applied.push(`balancer ${b.name}: ${field} ${show(sv.value)}`);
      } catch (e) {
        report.dropped.push(`balancer ${b.name}: ${field} ${show(sv.value)} is not valid (${(e as Error).message})`);
      }
    }
    for (const [id, fields] of Object.entries(sb.members ?? {})) {
      const m = b.members.find((x) => x.id === id);
      if (!m) {
        report.dropped.push(`balancer ${b.name}: member ${id} is no longer configured; its saved manager changes are dropped`);
        continue;
      }
      for (const [field, sv] of Object.entries(fields)) {
        if (!isSavedField(field)) continue;
        const now = modelMemberField(field, m.model);
        if (!same(now, sv.overrode)) {
          report.conflicts.push(`balancer ${b.name} member ${m.url}: ${field}: the config file now says ${show(now)} (it said ${show(sv.overrode)} when the manager set ${show(sv.value)}); the config wins`);
          continue;
        }
        try {
          applyMemberField(b, m, field, sv.value, by);
          m.changedAtRuntime.add(field);
          report.applied.push(`balancer ${b.name} member ${m.url}: ${field} ${show(sv.value)}`);
        } catch (e) {
          report.dropped.push(`balancer ${b.name} member ${m.url}: ${field} ${show(sv.value)} is not valid (${(e as Error).message})`);
        }
      }
    }
    // Members found by DNS are not here yet at start (discovery comes after): their settings
    // wait for the member of that identity, at whatever address it is found.
    for (const [identity, fields] of Object.entries(sb.found ?? {})) {
      const settings = Object.fromEntries(Object.entries(fields ?? {}).filter(([f, sv]) => isKeptSetting(f) && typeof sv === 'object' && sv !== null));
      if (!Object.keys(settings).length) continue;
      b.keepSettings(identity, settings);
      const m = b.members.find((x) => x.identity === identity && b.isDiscovered(x));
      if (!m) {
        report.applied.push(`balancer ${b.name} member ${identity} (found by DNS): ${Object.entries(settings).map(([f, sv]) => `${f} ${show(sv.value)}`).join(', ')}, once it is found`);
        continue;
      }
      const r = b.restoreKept(m, by);
      for (const line of r.applied) report.applied.push(`balancer ${b.name} member ${identity} at ${m.url}: ${line}`);
      for (const line of r.conflicts) report.conflicts.push(`balancer ${b.name} member ${identity} at ${m.url}: ${line}`);
    }
    for (const a of sb.added ?? []) {
      let model: MemberModel;
      try {
        model = newMemberModel(a.url, b, config);
      } catch (e) {
        report.dropped.push(`balancer ${b.name}: added member ${a.url}: ${(e as Error).message}`);
        continue;
      }
      if (b.members.some((x) => x.id === model.id)) {
        report.conflicts.push(`balancer ${b.name}: member ${a.url}, added in the manager, is now in the config file; the config wins`);
        continue;
      }
      if (b.growthLeft <= 0) {
        report.dropped.push(`balancer ${b.name}: member ${a.url}, added in the manager, has no free slot any more (growth ${b.model.growth})`);
        continue;
      }
      const m = b.addMember(model, by);
      const status: Partial<Record<StatusLetter, boolean>> = {};
      for (const l of SAVED_LETTERS) status[l] = a.flags?.[l] === true;
      try {
        b.setMember(m, { route: a.route, redirect: a.redirect, lbfactor: a.lbfactor, lbset: a.lbset, status }, by);
      } catch (e) {
        report.dropped.push(`balancer ${b.name}: added member ${a.url}: some settings are not valid (${(e as Error).message})`);
      }
      report.applied.push(`balancer ${b.name}: added member ${a.url}`);
    }
  }
  return report;
}

/**
 * After a reload, runtime values carried over from before win over the new config. Where the
 * config file changed a value the manager had overridden, the config wins instead: the value is
 * set back to the config's and no longer counts as set in the manager.
 */
export function reconcileReload(runtime: RuntimeState, previous: ConfigModel): string[] {
  const conflicts: string[] = [];
  for (const b of runtime.named()) {
    const old = previous.balancers[b.name];
    if (!old) continue;
    for (const f of [...b.changedAtRuntime]) {
      if (!(BALANCER_FIELDS as readonly string[]).includes(f)) continue;
      const was = modelBalancerField(f, old);
      const now = modelBalancerField(f, b.model);
      if (same(was, now)) continue;
      const value = balancerField(f, b);
      applyBalancerField(b, f, now, 'config');
      b.changedAtRuntime.delete(f);
      conflicts.push(`balancer ${b.name}: ${f}: the config file now says ${show(now)} (it said ${show(was)} when the manager set ${show(value)}); the config wins`);
    }
    for (const m of b.members) {
      const om = old.members.find((x) => x.id === m.id);
      if (!om) continue;
      for (const f of [...m.changedAtRuntime]) {
        if (!isSavedField(f)) continue;
        const was = modelMemberField(f, om);
        const now = modelMemberField(f, m.model);
        if (same(was, now)) continue;
        const value = memberField(f, m);
        applyMemberField(b, m, f, now, 'config');
        m.changedAtRuntime.delete(f);
        conflicts.push(`balancer ${b.name} member ${m.url}: ${f}: the config file now says ${show(now)} (it said ${show(was)} when the manager set ${show(value)}); the config wins`);
      }
    }
  }
  return conflicts;
}

/** Pure: checks a parsed state file's shape; throws with a reason when it is not one. */
export function parseState(text: string): SavedState {
  const v = JSON.parse(text) as SavedState;
  if (typeof v !== 'object' || v === null || typeof v.balancers !== 'object' || v.balancers === null) throw new Error('not a stickylb state file (no "balancers")');
  if (v.version !== STATE_VERSION) throw new Error(`state file version ${String(v.version)} is not ${STATE_VERSION}`);
  return v;
}
