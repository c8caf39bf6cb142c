// The resolved model of the fleet settings (model.ts uses these): the shared state on Redis, the
// DNS resolver, and the DNS names whose records are a balancer's members.
import type { MemberModel } from './model.js';

export interface FleetModel {
  /** redis:// or rediss:// URL (a password in it stays in it). */
  redis: string;
  name: string;
  /** Prefix of every key of the fleet ("stickylb:NAME:" unless set). */
  prefix: string;
  password?: string;
  /** Absolute path of a file holding the password, read at start. */
  passwordFile?: string;
  username?: string;
  /** Absolute path of a PEM CA file trusted for rediss:// besides Node's CA store. */
  caFile?: string;
  /** This balancer's name in the fleet; undefined: HOSTNAME:PORT, found at start. */
  id?: string;
  /** Shown to the others; undefined: the first listener's address. */
  address?: string;
  heartbeatMs: number;
  peerTimeoutMs: number;
  leaseMs: number;
  ackWaitMs: number;
  health: 'local' | 'shared';
}

export interface ResolverModel {
  /** host:port of each server ("[::1]:53" for IPv6); empty: the system's servers. */
  servers: string[];
  timeoutMs: number;
}

export type DnsRecordType = 'SRV' | 'A' | 'AAAA' | 'A+AAAA';

export interface DnsSourceModel {
  name: string;
  type: DnsRecordType;
  /** Members' port for A/AAAA names; SRV records give theirs. */
  port?: number;
  scheme: 'http' | 'https';
  /** Path of the member URLs without a trailing slash ('' for none). */
  path: string;
  route: 'name' | 'address';
  minTtlMs: number;
  maxTtlMs: number;
  drainIdleMs: number;
  drainMaxMs: number;
  max: number;
  /**
   * Settings of every member found (retry, timeouts, health check, slow start, …): a member model
   * whose address, route and id each found member replaces.
   */
  template: MemberModel;
}

/** Where a member came from, when not from the config's member list. */
export interface MemberSource {
  kind: 'dns';
  /** The name looked up (`_http._tcp.app.ns.svc.cluster.local`). */
  query: string;
  /** The name the member was found under (the SRV target, or the looked-up name). */
  name: string;
  /**
   * What the member's run-time settings follow when its address changes: `dns:NAME:PORT` for a
   * source whose routes come from names (a pod rescheduled with a new address is the same
   * member). Absent when routes come from addresses: the address is all that names the member.
   */
  identity?: string;
}
