// Runtime state of one member. Fields are read freely; they are changed only through
// BalancerState's API (balancer-state.ts), so every change is seen by listeners.
import { STATUS_LETTERS, type MemberModel, type StatusFlags, type StatusLetter } from '../config/model.js';
import { memberIdentity } from './member-identity.js';
import { memberHostHeader } from '../config/member-url.js';

export interface HealthStatus {
  /** Result of the last probe: 'pass', 'fail', or undefined before the first one. */
  last?: 'pass' | 'fail';
  lastCheckAt?: number;
  lastDetail?: string;
  /** HTTP status of the last probe's answer (none for TCP checks or when nothing answered). */
  lastStatus?: number;
  /** How long the last probe took, in ms. */
  lastDurationMs?: number;
  consecutivePasses: number;
  consecutiveFails: number;
  checks: number;
}

/** The last session id a member issued with a route that is not its own (route verification). */
export interface RouteMismatch {
  /** The route the id carried; '' when it carried none. */
  issued: string;
  /** The member's route at the time. */
  expected: string;
  /** Where the id was: the sticky cookie in Set-Cookie, or the sticky URL parameter in Location. */
  where: 'cookie' | 'url';
  /** The cookie or URL parameter name. */
  name: string;
  /** When (ms since epoch). */
  at: number;
}

/** Share of its factor a member starts slow start with (10 %): small, but enough to be tried. */
export const RAMP_FLOOR = 0.1;

export class MemberState {
  readonly id: string;
  /** What its run-time settings belong to: its id, or for a member found under a stable name, that name (member-identity.ts). */
  readonly identity: string;
  readonly url: string;
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  readonly basePath: string;
  /** The Host header requests to it carry (unless the site keeps the client's). */
  readonly hostHeader: string;
  /** The member's static settings (as configured). */
  readonly model: MemberModel;

  route: string;
  redirect: string;
  /** Configured weight, 1..100. */
  lbfactor: number;
  lbset: number;
  flags: StatusFlags;

  /** Apache's lbstatus: the byrequests / bybusyness accumulator. */
  lbstatus = 0;
  elected = 0;
  busy = 0;
  /** Bytes sent to the member (Apache: "To") and read from it ("From"). */
  bytesTo = 0;
  bytesFrom = 0;
  errors = 0;
  /** Requests answered per status class, for status pages and metrics. */
  responses = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 } as Record<string, number>;
  errorTime = 0;
  /** Why the member went into error last (`connection refused`, `timeout`, `status 503`). */
  errorCause = '';
  retries = 0;
  /** Current retry interval in ms (grows on repeated failures when back-off is on). */
  retryMs: number;
  /** Consecutive failures since the member last answered well. */
  consecutiveFailures = 0;
  /** Start of a slow-start ramp (ms since epoch), or 0 when at full weight. */
  rampStart = 0;
  /** When a request last came for one of the member's sessions (ms since epoch; 0: never). */
  lastStickyAt = 0;
  health: HealthStatus = { consecutivePasses: 0, consecutiveFails: 0, checks: 0 };
  /** Session ids the member issued with a route not its own, or none while it has one. */
  routeMismatches = 0;
  lastRouteMismatch: RouteMismatch | undefined = undefined;
  /** The latest id the member issued had a wrong route (or none); cleared by one with its own. */
  routeMismatchActive = false;
  /** When a route mismatch was last reported (logged), and the count at that time. */
  routeMismatchReportedAt = 0;
  routeMismatchesReported = 0;
  /** Fields whose value was set at run time (manager) rather than by the config. */
  readonly changedAtRuntime = new Set<string>();

  constructor(model: MemberModel) {
    this.model = model;
    this.id = model.id;
    this.identity = memberIdentity(model);
    this.url = model.url;
    this.protocol = model.protocol;
    this.hostname = model.hostname;
    this.port = model.port;
    this.basePath = model.basePath;
    this.hostHeader = memberHostHeader(model);
    this.route = model.route;
    this.redirect = model.redirect;
    this.lbfactor = model.loadfactor;
    this.lbset = model.lbset;
    this.flags = { ...model.status };
    this.retryMs = model.retryMs;
    this.lbstatus = 0;
  }

  /** Not disabled, stopped, in error or failing health checks. Drain does not count. */
  isUsable(): boolean {
    const f = this.flags;
    return !(f.D || f.S || f.E || f.C);
  }

  isDraining(): boolean {
    return this.flags.N;
  }
  isStandby(): boolean {
    return this.flags.H;
  }
  isSpare(): boolean {
    return this.flags.R;
  }

  /**
   * Share of the lbfactor the member gets now: 1 at full weight; while slow start ramps up, it grows
   * linearly from RAMP_FLOOR to 1 over the member's slowstart time.
   */
  rampShare(now: number): number {
    const ss = this.model.slowstartMs;
    if (!this.rampStart || ss <= 0) return 1;
    const elapsed = now - this.rampStart;
    if (elapsed >= ss) return 1;
    // A clock that went backwards counts as the start of the ramp, never as a negative share.
    return RAMP_FLOOR + (1 - RAMP_FLOOR) * (Math.max(0, elapsed) / ss);
  }

  /** The member's latest issued session id had a wrong route (or none): a badge until it issues a right one. */
  hasRouteMismatch(): boolean {
    return this.routeMismatchActive;
  }

  /** True while slow start holds the member below its full factor. */
  isRamping(now: number): boolean {
    return this.rampShare(now) < 1;
  }

  /**
   * The weight the scheduler uses for new sessions now: the lbfactor, reduced while slow start
   * ramps up. Sticky requests never look at it.
   */
  effectiveFactor(now: number): number {
    return this.lbfactor * this.rampShare(now);
  }

  /** Apache-style status words, e.g. "Init Drn Stby Ok". */
  statusText(): string {
    const parts: string[] = ['Init'];
    const f = this.flags;
    if (f.I) parts.push('Ign');
    if (f.N) parts.push('Drn');
    if (f.H) parts.push('Stby');
    if (f.R) parts.push('Spar');
    if (f.D) parts.push('Dis');
    if (f.S) parts.push('Stop');
    if (f.E) parts.push('Err');
    if (f.C) parts.push('HcFl');
    if (this.isUsable()) parts.push('Ok');
    return parts.join(' ');
  }

  /** Status in words for people: Ok, Drain, Standby, Spare, Disabled, Stopped, Error, Health check failed. */
  statusWords(): string[] {
    const f = this.flags;
    const words: string[] = [];
    if (f.S) words.push('Stopped');
    if (f.D) words.push('Disabled');
    if (f.E) words.push('Error');
    if (f.C) words.push('Health check failed');
    if (f.N) words.push('Drain');
    if (f.H) words.push('Standby');
    if (f.R) words.push('Spare');
    if (f.I) words.push('Ignore errors');
    if (this.isUsable() && !f.N) words.unshift('Ok');
    return words;
  }

  flagString(): string {
    return STATUS_LETTERS.filter((l: StatusLetter) => this.flags[l]).join('');
  }
}
