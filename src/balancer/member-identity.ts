// A member's identity: what the settings made at run time (in a manager, or applied by the fleet)
// belong to. For members of the config and members added in a manager it is the member's id (its
// URL); for a member found by DNS under a stable name it is that name and port, so a drain
// follows a pod that comes back at another address. Persistence and the fleet key member
// settings by it. Pure.
import type { MemberModel } from '../config/model.js';

export function memberIdentity(model: Pick<MemberModel, 'id' | 'source'>): string {
  return model.source?.identity ?? model.id;
}

/** The identity of a member found under `name` (an SRV target, or a looked-up name) at `port`. */
export function nameIdentity(name: string, port: number): string {
  return `dns:${name.replace(/\.$/, '').toLowerCase()}:${port}`;
}
