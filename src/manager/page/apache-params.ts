// Apache's balancer-manager parameters, so scripts written for Apache keep working:
// b, w, nonce, xml; w_lf, w_ls, w_wr, w_rr, w_status_{I,N,D,H,R,S,C}=0|1 (member);
// b_lbm, b_tmo, b_max, b_sforce, b_ss, b_nwrkr + b_wyes=1 (balancer, add a member). Pure.
import type { BalancerChanges, MemberChanges } from '../../balancer/balancer-state.js';
import type { Lbmethod, StatusLetter } from '../../config/model.js';
import { parseStickyText, SETTABLE_LETTERS, type ChangeRequest } from '../api/changes.js';

export interface ApacheParams {
  b?: string;
  w?: string;
  nonce?: string;
  xml: boolean;
  /** Any change parameter present (w_*, b_* other than empty fields). */
  hasChanges: boolean;
  request: ChangeRequest;
  /** Values that could not be read; the request is refused when there are any. */
  errors: string[];
}

/** Parameters that only select what to show (Apache accepts only these on GET). */
export const SELECT_PARAMS = new Set(['b', 'w', 'nonce', 'xml']);

function num(name: string, v: string, errors: string[]): number | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) {
    errors.push(`${name}=${JSON.stringify(v)} is not a number`);
    return undefined;
  }
  return n;
}

function flag(name: string, v: string, errors: string[]): boolean | undefined {
  const t = v.trim().toLowerCase();
  if (t === '') return undefined;
  if (t === '1' || t === 'on') return true;
  if (t === '0' || t === 'off') return false;
  errors.push(`${name}=${JSON.stringify(v)} must be 0 or 1`);
  return undefined;
}

/** `b` may be given as `mycluster` or `balancer://mycluster`. */
export function balancerName(b: string): string {
  return b.replace(/^balancer:\/\//i, '').replace(/\/+$/, '');
}

export function parseApacheParams(p: URLSearchParams): ApacheParams {
  const errors: string[] = [];
  const get = (k: string) => p.get(k) ?? undefined;
  const member: MemberChanges = {};
  const status: Partial<Record<StatusLetter, boolean>> = {};
  let hasChanges = false;

  const lf = get('w_lf');
  if (lf !== undefined) {
    hasChanges = true;
    const n = num('w_lf', lf, errors);
    if (n !== undefined) member.lbfactor = n;
  }
  const ls = get('w_ls');
  if (ls !== undefined) {
    hasChanges = true;
    const n = num('w_ls', ls, errors);
    if (n !== undefined) member.lbset = n;
  }
  const wr = get('w_wr');
  if (wr !== undefined) {
    hasChanges = true;
    member.route = wr;
  }
  const rr = get('w_rr');
  if (rr !== undefined) {
    hasChanges = true;
    member.redirect = rr;
  }
  for (const l of SETTABLE_LETTERS) {
    const v = get(`w_status_${l}`);
    if (v === undefined) continue;
    hasChanges = true;
    const f = flag(`w_status_${l}`, v, errors);
    if (f !== undefined) status[l] = f;
  }
  if (Object.keys(status).length) member.status = status;

  const bal: BalancerChanges = {};
  const lbm = get('b_lbm');
  if (lbm !== undefined && lbm.trim() !== '') {
    hasChanges = true;
    bal.lbmethod = lbm.trim() as Lbmethod;
  }
  const tmo = get('b_tmo');
  if (tmo !== undefined) {
    hasChanges = true;
    const n = num('b_tmo', tmo, errors);
    if (n !== undefined) bal.timeoutMs = n * 1000;
  }
  const max = get('b_max');
  if (max !== undefined) {
    hasChanges = true;
    const n = num('b_max', max, errors);
    if (n !== undefined) bal.maxattempts = n;
  }
  const sforce = get('b_sforce');
  if (sforce !== undefined) {
    hasChanges = true;
    const f = flag('b_sforce', sforce, errors);
    if (f !== undefined) bal.nofailover = f;
  }
  const ss = get('b_ss');
  if (ss !== undefined && ss.trim() !== '') {
    hasChanges = true;
    bal.sticky = parseStickyText(ss);
  }

  const request: ChangeRequest = {};
  const w = get('w');
  if (Object.keys(member).length) {
    if (!w) errors.push('member settings (w_*) need w= naming the member');
    else request.member = { ref: w, changes: member };
  }
  if (Object.keys(bal).length) request.balancer = bal;

  const nwrkr = get('b_nwrkr');
  if (nwrkr !== undefined && nwrkr.trim() !== '') {
    hasChanges = true;
    if (get('b_wyes') !== '1') errors.push('adding a member needs b_wyes=1 ("Are you sure?")');
    else request.add = { url: nwrkr.trim(), changes: {} };
  }

  const b = get('b');
  return {
    b: b === undefined ? undefined : balancerName(b),
    w,
    nonce: get('nonce'),
    xml: p.has('xml'),
    hasChanges,
    request,
    errors,
  };
}
