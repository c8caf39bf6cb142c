// The Redis keys and channels of one fleet, all under its prefix, so several fleets share one
// Redis. Pure.
export interface FleetKeys {
  /** Hash: shared setting → its latest value with version and origin (JSON). */
  state: string;
  /** Counter: raised with every stored change; messages carry it, so a gap is seen. */
  seq: string;
  /** Random id written when the state was first stored: a Redis that lost it (restarted empty) has none. */
  epoch: string;
  /** Hash: balancer id → "<redis time ms> <heartbeat JSON>". */
  balancers: string;
  /** String with a lease: the rolling-restart lock. */
  rollout: string;
  /** Channel of stored changes: "<epoch>\n<seq>\n<field>\n<entry JSON>". */
  changes: string;
  /** Channel of applied changes: {"id", "seq"}. */
  acks: string;
}

export function fleetKeys(prefix: string): FleetKeys {
  return {
    state: `${prefix}state`,
    seq: `${prefix}seq`,
    epoch: `${prefix}epoch`,
    balancers: `${prefix}balancers`,
    rollout: `${prefix}rollout`,
    changes: `${prefix}changes`,
    acks: `${prefix}acks`,
  };
}
