// The scheduler interface: Apache's lbmethod providers. A scheduler answers one question per
// candidate ("is this one better than the best so far?") and settles its accounting at the end;
// the lbset / spare / standby walk is shared (pick.ts) and never repeated in a scheduler.
import type { MemberState } from '../member-state.js';

export interface PickContext {
  now: number;
}

export interface Scheduler<Baton = unknown> {
  readonly name: string;
  /** Fresh per-pick accumulator (Apache's baton). */
  begin(): Baton;
  /** Called for every candidate in walk order; may update the candidate's accounting. */
  isBest(current: MemberState, best: MemberState | undefined, baton: Baton, ctx: PickContext): boolean;
  /** Settles the accounting after the winner is known. */
  finish(winner: MemberState, baton: Baton): void;
}
