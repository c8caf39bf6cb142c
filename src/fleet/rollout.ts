// A rolling restart as one operation of the fleet: a lock in Redis with a lease lets one rollout
// run at a time across every balancer (a balancer that dies holding it frees it when the lease
// runs out), and a member is idle only when it is idle on every balancer (their heartbeats say).
// The drain itself reaches every balancer as a shared change (see entries.ts).
import { randomUUID } from 'node:crypto';
import type { MemberState } from '../balancer/member-state.js';
import type { RollingEvent } from '../rolling/rolling-restart.js';
import type { RolloutCoordinator, RolloutLease } from '../rolling/plugin.js';
import type { Fleet } from './fleet.js';
import { activityElsewhere } from './heartbeat.js';

/** What the lock holds: who runs which rollout, and where it is. */
export interface RolloutLock {
  token: string;
  holder: string;
  address: string;
  balancer: string;
  startedAt: number;
  member?: string;
  step?: string;
}

function parseLock(text: string): RolloutLock | undefined {
  try {
    const v = JSON.parse(text) as RolloutLock;
    return v && typeof v.holder === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Why a rollout cannot start while `lock` is held. */
export function heldReason(lock: RolloutLock | undefined, leftMs?: number): string {
  if (!lock) return 'another rolling restart holds the fleet\'s rollout lock';
  const at = lock.member ? `, now at ${lock.member}${lock.step ? ` (${lock.step})` : ''}` : '';
  const left = leftMs !== undefined && leftMs > 0 ? `; its lease runs out in ${Math.ceil(leftMs / 1000)}s unless ${lock.holder} renews it` : '';
  return `a rolling restart of balancer ${lock.balancer} is already running on ${lock.holder}${lock.address ? ` (${lock.address})` : ''}, started ${new Date(lock.startedAt).toISOString()}${at}: one rollout at a time across the fleet${left}`;
}

export function rolloutCoordinator(fleet: Fleet, address: () => string, clock: () => number = Date.now): RolloutCoordinator {
  const store = fleet.store;
  const leaseMs = fleet.model.leaseMs;
  return {
    async begin(balancer) {
      if (!fleet.synced) {
        return {
          ok: false,
          reason: `Redis is unreachable (${fleet.lastError || 'no answer'}): a rolling restart takes the fleet's rollout lock first (one rollout at a time across the fleet), and the lock cannot be taken now`,
        };
      }
      const value: RolloutLock = { token: randomUUID(), holder: fleet.id, address: address(), balancer, startedAt: clock() };
      let got;
      try {
        got = await store.lock(value.token, JSON.stringify(value), leaseMs, false);
      } catch (e) {
        return { ok: false, reason: `the fleet's rollout lock cannot be taken: Redis did not answer (${(e as Error).message})` };
      }
      if (!got.ok) {
        const held = await store.lockHolder().catch(() => undefined);
        return { ok: false, reason: heldReason(parseLock(got.holder), held?.ttlMs) };
      }
      return { ok: true, lease: lease(value) };
    },
    elsewhere(balancer: string, m: MemberState) {
      return activityElsewhere(fleet.livePeers(), fleet.id, balancer, m.id);
    },
    async current() {
      const held = await store.lockHolder();
      if (!held) return undefined;
      const lock = parseLock(held.value);
      if (!lock) return { holder: 'unknown', leaseLeftMs: held.ttlMs };
      const { token: _token, ...shown } = lock;
      return { ...shown, leaseLeftMs: held.ttlMs, here: lock.holder === fleet.id };
    },
  };

  function lease(value: RolloutLock): RolloutLease {
    let lastRenewed = clock();
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    let onLost: (why: string) => void = () => undefined;
    const lost = new Promise<string>((resolve) => (onLost = resolve));
    const renew = async () => {
      if (ended) return;
      try {
        const r = await store.lock(value.token, JSON.stringify(value), leaseMs, true);
        if (!r.ok) {
          const other = parseLock(r.holder);
          ended = true;
          onLost(other ? `it is held by ${other.holder} now` : 'it is gone (Redis lost it)');
          return;
        }
        lastRenewed = clock();
      } catch (e) {
        if (clock() - lastRenewed >= leaseMs) {
          ended = true;
          onLost(`it could not be renewed for ${Math.round(leaseMs / 1000)}s: ${(e as Error).message}`);
          return;
        }
      }
      if (!ended) timer = setTimeout(() => void renew(), fleet.model.heartbeatMs).unref();
    };
    timer = setTimeout(() => void renew(), fleet.model.heartbeatMs).unref();
    return {
      progress(e: RollingEvent) {
        value.member = e.route || e.member;
        value.step = e.step;
      },
      lost,
      async end() {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        await store.unlock(value.token).catch(() => undefined);
      },
    };
  }
}
