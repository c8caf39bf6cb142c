// Keep-alive connection pools, one per member (keyed by member id, so they survive a reload).
import http from 'node:http';
import https from 'node:https';
import type { MemberState } from '../balancer/member-state.js';

/**
 * Idle member connections are closed after at most this long, before a typical backend's
 * keep-alive timeout (Node's default is 5 s): both engines' pools keep to it.
 */
export const MEMBER_IDLE_MS = 4_000;

export class Pools {
  private agents = new Map<string, http.Agent>();

  agent(m: MemberState): http.Agent {
    let a = this.agents.get(m.id);
    if (!a) {
      const opts: http.AgentOptions = {
        keepAlive: m.model.keepalive && !m.model.disablereuse,
        maxSockets: m.model.max,
        maxFreeSockets: Math.min(m.model.max, 256),
        scheduling: 'lifo',
        timeout: MEMBER_IDLE_MS,
      };
      a = m.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
      this.agents.set(m.id, a);
    }
    return a;
  }

  /** Closes pools of members that no longer exist. */
  retain(ids: Set<string>): void {
    for (const [id, a] of this.agents) {
      if (!ids.has(id)) {
        a.destroy();
        this.agents.delete(id);
      }
    }
  }

  destroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
