// One change request, whatever it came as (Apache's form parameters or the JSON API): checked as
// a whole first, then applied through the runtime-state API, so a refused request changes nothing.
import type { BalancerChanges, BalancerState, MemberChanges } from '../../balancer/balancer-state.js';
import type { MemberState } from '../../balancer/member-state.js';
import { schedulerNames } from '../../balancer/schedulers/registry.js';
import type { ConfigModel, Lbmethod, StatusLetter } from '../../config/model.js';
import { newMemberModel } from './add-member.js';

/** Letters the manager may set. E (error) is the data path's; C is allowed as Apache's manager does. */
export const SETTABLE_LETTERS: StatusLetter[] = ['I', 'N', 'D', 'H', 'R', 'S', 'C'];

export interface AddMemberRequest {
  url: string;
  changes: MemberChanges;
}

export interface ChangeRequest {
  member?: { ref: string; changes: MemberChanges };
  balancer?: BalancerChanges;
  add?: AddMemberRequest;
}

export class ChangeError extends Error {
  constructor(
    message: string,
    /** 400 for bad values, 404 for unknown balancers or members. */
    readonly status = 400,
  ) {
    super(message);
  }
}

const ROUTE_RE = /^[^\s\x00-\x1f\x7f]*$/;
const STICKY_NAME_RE = /^[^|\s;=,]+$/;

export function checkRoute(what: string, v: string): string | undefined {
  if (v.length > 63) return `${what} must be at most 63 characters`;
  if (!ROUTE_RE.test(v)) return `${what} must not contain spaces or control characters`;
  return undefined;
}

export function checkMemberChanges(c: MemberChanges): string[] {
  const errs: string[] = [];
  if (c.lbfactor !== undefined && !(Number.isFinite(c.lbfactor) && c.lbfactor >= 1 && c.lbfactor <= 100)) errs.push(`load factor ${c.lbfactor} is out of range 1..100`);
  if (c.lbset !== undefined && !(Number.isInteger(c.lbset) && c.lbset >= 0 && c.lbset <= 99)) errs.push(`lbset ${c.lbset} must be an integer within 0..99`);
  if (c.route !== undefined) {
    const e = checkRoute('route', c.route);
    if (e) errs.push(e);
  }
  if (c.redirect !== undefined) {
    const e = checkRoute('route redirect', c.redirect);
    if (e) errs.push(e);
  }
  for (const l of Object.keys(c.status ?? {})) {
    if (!SETTABLE_LETTERS.includes(l as StatusLetter)) errs.push(`status flag ${l} cannot be set here (settable: ${SETTABLE_LETTERS.join(' ')})`);
  }
  return errs;
}

export function checkBalancerChanges(c: BalancerChanges): string[] {
  const errs: string[] = [];
  if (c.lbmethod !== undefined && !schedulerNames().includes(c.lbmethod)) errs.push(`lbmethod "${c.lbmethod}" is unknown (accepted: ${schedulerNames().join(', ')})`);
  if (c.timeoutMs !== undefined && !(Number.isFinite(c.timeoutMs) && c.timeoutMs >= 0 && c.timeoutMs <= 7_200_000)) errs.push('timeout must be within 0..7200 seconds');
  if (c.maxattempts !== undefined && c.maxattempts !== null && !(Number.isInteger(c.maxattempts) && c.maxattempts >= 0 && c.maxattempts <= 99)) errs.push('failover attempts must be an integer within 0..99');
  if (c.sticky) {
    for (const n of [c.sticky.cookie, c.sticky.url]) if (n !== undefined && !STICKY_NAME_RE.test(n)) errs.push(`sticky session name "${n}" must not contain spaces, | ; = or ,`);
  }
  return errs;
}

/** `JSESSIONID|jsessionid`, `_s`, `a | b` (as Apache's page shows it); '-' deletes. */
export function parseStickyText(v: string): { cookie?: string; url?: string } | undefined {
  const t = v.trim();
  if (t === '-' || t === '') return undefined;
  const [cookie, url] = t.split('|').map((s) => s.trim());
  return { cookie, url: url ?? cookie };
}

export function findMember(b: BalancerState, ref: string): MemberState | undefined {
  const direct = b.member(ref);
  if (direct) return direct;
  const trimmed = ref.replace(/\/+$/, '');
  const lower = trimmed.toLowerCase();
  return b.members.find((m) => m.id === lower || m.url.replace(/\/+$/, '').toLowerCase() === lower || m.id === normaliseUrl(trimmed));
}

function normaliseUrl(u: string): string | undefined {
  try {
    const url = new URL(u);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return `${url.protocol}//${url.hostname.toLowerCase()}:${port}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

export interface Applied {
  /** What changed, in words, for the page's notice and the log. */
  summary: string[];
  member?: MemberState;
  added?: MemberState;
}

/**
 * Checks the whole request, then applies it through the runtime-state API (by: 'manager').
 * Throws ChangeError, with nothing changed, when any part is refused.
 */
export function applyChanges(b: BalancerState, req: ChangeRequest, config: ConfigModel, by = 'manager'): Applied {
  const errs: string[] = [];
  let member: MemberState | undefined;
  if (req.member) {
    member = findMember(b, req.member.ref);
    if (!member) throw new ChangeError(`balancer ${b.name} has no member ${req.member.ref}`, 404);
    errs.push(...checkMemberChanges(req.member.changes));
  }
  if (req.balancer) errs.push(...checkBalancerChanges(req.balancer));
  let addModel;
  if (req.add) {
    try {
      addModel = newMemberModel(req.add.url, b, config);
    } catch (e) {
      errs.push((e as Error).message);
    }
    if (addModel && b.members.some((m) => m.id === addModel!.id)) errs.push(`${req.add.url} is already a member of ${b.name}`);
    else if (b.growthLeft <= 0) errs.push(`balancer ${b.name} has no free slot for a new member (growth ${b.model.growth}, all used)`);
    errs.push(...checkMemberChanges(req.add.changes));
  }
  if (errs.length) throw new ChangeError(errs.join('; '));

  const summary: string[] = [];
  const record = (c: { member?: string; field: string; from: unknown; to: unknown }) => {
    const who = c.member ? `member ${c.member}` : `balancer ${b.name}`;
    summary.push(`${who}: ${c.field} ${show(c.from)} → ${show(c.to)}`);
  };
  const listener = (c: { balancer: string; member?: string; field: string; from: unknown; to: unknown; by: string }) => {
    if (c.by === by) record(c);
  };
  b.events.on('change', listener);
  let added: MemberState | undefined;
  try {
    if (member && req.member) b.setMember(member, req.member.changes, by);
    if (req.balancer) b.setBalancer(req.balancer, by);
    if (req.add && addModel) {
      added = b.addMember(addModel, by);
      b.setMember(added, req.add.changes, by);
    }
  } finally {
    b.events.off('change', listener);
  }
  return { summary, member, added };
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  if (typeof v === 'object' && v !== null) {
    const s = v as { cookie?: string; url?: string };
    if ('cookie' in s || 'url' in s) return s.cookie === s.url ? String(s.cookie) : `${s.cookie ?? ''}|${s.url ?? ''}`;
    return JSON.stringify(v);
  }
  if (v === '') return '""';
  return String(v);
}

export function isLbmethod(v: string): v is Lbmethod {
  return schedulerNames().includes(v);
}

function stickyKey(s: { cookie?: string; url?: string } | undefined): string {
  if (!s) return '';
  return s.cookie && s.url && s.cookie !== s.url ? `${s.cookie}|${s.url}` : (s.cookie ?? s.url ?? '');
}

/**
 * The manager's balancer form posts every field, shown as it is now. Values that only restate the
 * current state (the derived failover attempts, sticky names as displayed) are not changes.
 */
export function dropRestated(b: BalancerState, req: ChangeRequest): ChangeRequest {
  if (!req.balancer) return req;
  const bal = { ...req.balancer };
  if (bal.maxattempts !== undefined && b.maxattempts === undefined && bal.maxattempts === b.maxAttempts()) delete bal.maxattempts;
  if ('sticky' in bal && stickyKey(bal.sticky) === stickyKey(b.sticky)) delete bal.sticky;
  return { ...req, balancer: bal };
}
