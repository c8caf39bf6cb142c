// Turns runtime state changes into log lines, once per transition and with the cause, e.g.
// `member http://127.0.0.1:8081 route=first: health check failed (3/3: connection refused)`.
// The state never logs; whoever owns the logger attaches it here.
import { ROUTE_MISMATCH_REPORT_MS, type RouteMismatchReport, type StateChange } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import type { RuntimeState } from '../balancer/runtime.js';
import { STATUS_WORDS, type StatusLetter } from '../config/model.js';
import { formatMs } from './format-ms.js';

/** The part of a logger this needs; a pino logger fits. */
export interface HealthLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
}

export interface StateLogLine {
  level: 'warn' | 'info';
  msg: string;
  fields: Record<string, unknown>;
}

function who(m: MemberState | undefined, c: StateChange): string {
  const url = m?.url ?? c.member ?? '?';
  return m?.route ? `member ${url} route=${m.route}` : `member ${url}`;
}

function stillOut(m: MemberState): string {
  const f = m.flags;
  const why = (['S', 'D', 'E', 'C'] as StatusLetter[]).filter((l) => f[l]).map((l) => STATUS_WORDS[l].toLowerCase());
  return why.length ? `; still out of service (${why.join(', ')})` : '';
}

function backInService(m: MemberState, now: number): string {
  if (!m.isUsable()) return stillOut(m);
  return m.isRamping(now) ? `, back in service with slow start over ${formatMs(m.model.slowstartMs)}` : ', back in service';
}

/**
 * The log line for one change, or undefined when the change is not about a member's state
 * (status flags, slow start, added members). `member` is the member's state at the time of the
 * change, for its route and current retry interval.
 */
export function describeStateChange(c: StateChange, member?: MemberState, now = Date.now()): StateLogLine | undefined {
  if (!c.member) return undefined;
  const fields: Record<string, unknown> = { balancer: c.balancer, member: member?.url ?? c.member, field: c.field, by: c.by };
  if (member?.route) fields.route = member.route;
  if (c.cause) fields.cause = c.cause;
  const head = who(member, c);
  const line = (level: 'warn' | 'info', text: string): StateLogLine => ({ level, msg: `${head}: ${text}`, fields });
  const because = c.cause ? ` (${c.cause})` : '';

  if (c.field === 'slowstart') return line('info', `slow start over ${formatMs(Number(c.to))}${c.cause ? ` (${c.cause})` : ` (by ${c.by})`}`);
  if (c.field === 'member') return line('info', `${c.to === undefined ? 'removed from' : 'added to'} balancer ${c.balancer} by ${c.by}${because}`);
  if (!c.field.startsWith('status.')) return undefined;

  const letter = c.field.slice(7) as StatusLetter;
  const on = c.to === true;
  switch (letter) {
    case 'C':
      if (on) return line('warn', c.by === 'health' ? `health check failed${because}` : `marked as failing health checks by ${c.by}${because}`);
      return line('info', `${c.by === 'health' ? 'health check passed' : `health check failure cleared by ${c.by}`}${because}${member ? backInService(member, now) : ''}`);
    case 'E': {
      if (on) {
        const retry = member ? `, retry in ${formatMs(member.retryMs)}` : '';
        const backoff = member && member.consecutiveFailures > 1 && member.retryMs > member.model.retryMs ? ` (back-off: ${member.consecutiveFailures} failures in a row)` : '';
        return line('warn', `in error${because}${retry}${backoff}`);
      }
      const how = c.by === 'health' ? `error cleared by health check${because}` : c.cause ? `error cleared: ${c.cause}` : `error cleared by ${c.by}`;
      return line('info', `${how}${member ? backInService(member, now) : ''}`);
    }
    case 'S':
      return line(on ? 'warn' : 'info', on ? `stopped by ${c.by}${because}` : `started by ${c.by}${because}${member ? backInService(member, now) : ''}`);
    case 'D':
      return line('info', on ? `disabled by ${c.by}${because}` : `enabled by ${c.by}${because}${member ? backInService(member, now) : ''}`);
    case 'N':
      return line('info', on ? `draining (set by ${c.by})${because}` : `no longer draining (by ${c.by})${because}`);
    default:
      return line('info', `${STATUS_WORDS[letter].toLowerCase()} ${on ? 'on' : 'off'} (by ${c.by})${because}`);
  }
}

/**
 * The warning for a member that issues session ids with a route not its own (route
 * verification), with the likely fix. `owner` is the member whose route the ids carry, if any.
 */
export function describeRouteMismatch(r: RouteMismatchReport, owner?: MemberState): StateLogLine {
  const where = r.where === 'cookie' ? `cookie ${r.name} in Set-Cookie` : `URL parameter ${r.name} in Location`;
  const what = r.issued
    ? `issues session ids with route "${r.issued}" (${where}), not its own "${r.expected}": the requests of those sessions ${owner ? `go to ${owner.url}, the member with route ${r.issued}` : `match no member's route and are placed like new sessions`}`
    : `issues session ids without a route (${where}) although its route is "${r.expected}": the requests of those sessions do not stick to it`;
  const fix = `give the node its route: Seaside WAAdmin makeAllClusteredWith: '${r.expected}', Tomcat jvmRoute="${r.expected}", stickylb/cluster STICKYLB_ROUTE=${r.expected}; or correct route= in the config`;
  const times = r.count === 1 ? 'once' : `${r.count} times`;
  const period = r.count === r.total ? 'so far' : 'since the last report';
  return {
    level: 'warn',
    msg: `member ${r.memberUrl} route=${r.expected}: ${what}; ${fix} (${times} ${period}, reported at most every ${formatMs(ROUTE_MISMATCH_REPORT_MS)}; routecheck: false turns the check off)`,
    fields: { balancer: r.balancer, member: r.memberUrl, route: r.expected, issuedRoute: r.issued, where: r.where, name: r.name, count: r.count, total: r.total },
  };
}

/**
 * Logs every member state transition of every balancer, and route mismatches, across reloads.
 * Returns a function that stops logging.
 */
export function attachStateLogging(runtime: RuntimeState, logger: HealthLogger): () => void {
  const onChange = (c: StateChange) => {
    const member = c.member ? runtime.balancer(c.balancer)?.members.find((m) => m.id === c.member) : undefined;
    const l = describeStateChange(c, member, runtime.clock());
    if (l) logger[l.level](l.fields, l.msg);
  };
  const onMismatch = (r: RouteMismatchReport) => {
    const owner = r.issued ? runtime.balancer(r.balancer)?.members.find((m) => m.route === r.issued) : undefined;
    const l = describeRouteMismatch(r, owner);
    logger[l.level](l.fields, l.msg);
  };
  runtime.events.on('change', onChange);
  runtime.events.on('route-mismatch', onMismatch);
  return () => {
    runtime.events.off('change', onChange);
    runtime.events.off('route-mismatch', onMismatch);
  };
}
