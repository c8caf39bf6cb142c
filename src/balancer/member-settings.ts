// A member's settings as values: what persistence saves, the fleet shares and a member found by
// DNS takes along to its next address. Each value is kept with the value of the member's model it
// overrode, so a config file edited since can win. Pure.
import type { MemberModel, StatusLetter } from '../config/model.js';

/** A value set at run time, with the model's value it overrode. */
export interface SettingValue {
  value: unknown;
  /** The config's value (for a member found by DNS: its source's) when this one was set. */
  overrode: unknown;
}

/** Field (`lbfactor`, `status.N`, …) → value. */
export type MemberSettings = Record<string, SettingValue>;

/** Status flags that are settings; E and C are facts about the member, found again. */
export const SETTING_LETTERS: readonly StatusLetter[] = ['I', 'N', 'D', 'H', 'R', 'S'];

type Settable = { route: string; redirect: string; lbfactor: number; lbset: number; flags: Record<StatusLetter, boolean> };

export function memberField(field: string, m: Settable): unknown {
  if (field.startsWith('status.')) return m.flags[field.slice(7) as StatusLetter];
  if (field === 'lbfactor') return m.lbfactor;
  if (field === 'lbset') return m.lbset;
  if (field === 'route') return m.route;
  if (field === 'redirect') return m.redirect;
  return undefined;
}

export function modelMemberField(field: string, m: MemberModel): unknown {
  return memberField(field, { route: m.route, redirect: m.redirect, lbfactor: m.loadfactor, lbset: m.lbset, flags: m.status });
}

/** Fields a manager sets on a member (and persistence saves). */
export function isMemberSetting(field: string): boolean {
  return ['lbfactor', 'lbset', 'route', 'redirect'].includes(field) || (field.startsWith('status.') && SETTING_LETTERS.includes(field.slice(7) as StatusLetter));
}

/**
 * Fields a member found by DNS keeps by its identity: its settings but its route, which DNS
 * gives (the next lookup sets it again).
 */
export function isKeptSetting(field: string): boolean {
  return field !== 'route' && isMemberSetting(field);
}

/** The settings of a member found by DNS that were set at run time (its `changedAtRuntime`). */
export function foundSettings(m: Settable & { model: MemberModel; changedAtRuntime: ReadonlySet<string> }): MemberSettings {
  const out: MemberSettings = {};
  for (const f of m.changedAtRuntime) if (isKeptSetting(f)) out[f] = { value: memberField(f, m), overrode: modelMemberField(f, m.model) };
  return out;
}
