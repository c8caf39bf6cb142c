// Balancer runtime state built from the config shape, with a clock the test moves by hand, for
// pure tests of the sticky lookup and the schedulers.
import { BalancerState } from '../../src/balancer/balancer-state.js';
import type { MemberState } from '../../src/balancer/member-state.js';
import { pickMember, type PickOutcome } from '../../src/balancer/pick.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawBalancer, RawMember } from '../../src/config/schema.js';

export interface TestBalancer {
  state: BalancerState;
  /** Members by route (every test member has one). */
  m: Record<string, MemberState>;
  clock: { now: number };
  /** One pick for a request target and Cookie header. */
  pick(target?: string, cookie?: string): PickOutcome;
  /** Route of the member picked, or the outcome kind when no member was picked. */
  who(target?: string, cookie?: string): string;
  /** Routes of `n` picks of new sessions. */
  sequence(n: number): string[];
}

/**
 * `members` are written `route` or `[route, member settings]`; urls are made up from the position.
 * Balancer settings default to none (Apache's defaults).
 */
export function testBalancer(
  members: (string | [string, Partial<RawMember>])[],
  settings: Partial<Omit<RawBalancer, 'members'>> = {},
): TestBalancer {
  const raw: RawMember[] = members.map((spec, i) => {
    const [route, extra] = typeof spec === 'string' ? [spec, {}] : spec;
    return { url: `http://10.0.0.${i + 1}:8080`, route, ...extra };
  });
  const model = validateConfig({ balancers: { c: { ...settings, members: raw } } });
  const clock = { now: 1_700_000_000_000 };
  const state = new BalancerState(model.balancers.c, () => clock.now);
  const m: Record<string, MemberState> = {};
  for (const member of state.members) m[member.route] = member;
  const pick = (target = '/', cookie?: string) => pickMember(state, { target, cookie });
  const who = (target = '/', cookie?: string) => {
    const out = pick(target, cookie);
    return out.kind === 'member' ? out.member.route : out.kind;
  };
  return { state, m, clock, pick, who, sequence: (n) => Array.from({ length: n }, () => who()) };
}
