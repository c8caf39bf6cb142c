// The messages between the owner process and its workers (node:cluster IPC, 'advanced'
// serialization, so a config model travels as it is). Types only.
//
// owner → worker: start (config and the whole state), changes (every runtime change, in order,
// numbered), busy (other workers' in-flight requests per member), limit (shared limits), reload,
// reopen, stop.
// worker → owner: hello, ready (listening), ack (changes applied up to a number), failure (a
// member failed: sent at once), counts (batched counters), limit (shared limits), reloaded,
// reopened.
import type { AlpnMaterial } from '../acme/challenges.js';
import type { ConfigModel, ListenerModel } from '../config/model.js';
import type { SyncState, WireChange } from './state-sync.js';
import type { CountsWire } from './counts.js';

/** A certificate as the owner's store holds it: its names and one PEM pair per key type. */
export interface CertificateWire {
  names: string[];
  material: { cert: string; key: string; source: string }[];
}

/** Bumped when a message changes shape: an owner refuses workers that speak another version. */
export const PROTOCOL_VERSION = 3;

/**
 * Limits shared by the workers, worker → owner (limit-book.ts is the worker's side,
 * limit-ledger.ts the owner's). A gauge is a count that goes up and down (connections of an
 * address, or all connections); a window is a rate limit's count of one client under one rule.
 * need: the worker has used its lease and asks for more (its lease is now what it uses);
 * claimed: its answer to a claim (what it uses; its lease is now that); return: it gives back
 * `n` of its lease (`implicit`: and holds its plain share again).
 */
export type LimitToOwner =
  | { t: 'need'; kind: 'gauge'; key: string; limit: number; used: number; want: number }
  | { t: 'need'; kind: 'window'; key: string; limit: number; windowMs: number; window: number; prev: number; curr: number; want: number }
  | { t: 'claimed'; kind: 'gauge'; key: string; round: number; used: number }
  | { t: 'claimed'; kind: 'window'; key: string; round: number; window: number; prev: number; curr: number }
  | { t: 'return'; key: string; n: number; implicit: boolean };

/**
 * Limits shared by the workers, owner → worker. grant: more lease (a gauge: `n` more; a window:
 * the lease of that window); refused: no more now (a gauge: until `room`; a window: until
 * `until`, with the balancer's counts for Retry-After); claim: report what you use and hold only
 * that (a window: ask for everything until window `until` has passed); full: give back what you
 * stop using at once; room: ask again; release: hold your plain share again; share: your share.
 */
export type LimitToWorker =
  | { t: 'grant'; kind: 'gauge'; key: string; n: number }
  | { t: 'grant'; kind: 'window'; key: string; window: number; lease: number }
  | { t: 'refused'; kind: 'gauge'; key: string }
  | { t: 'refused'; kind: 'window'; key: string; window: number; until: number; prev: number; curr: number }
  | { t: 'claim'; kind: 'gauge'; key: string; round: number }
  | { t: 'claim'; kind: 'window'; key: string; round: number; windowMs: number; until: number }
  | { t: 'full' | 'room' | 'release'; key: string }
  | { t: 'share'; units: number };

/** A new worker's part of the shared limits: its share, and the keys it must ask for from the start. */
export interface LimitStart {
  units: number;
  gauges: string[];
  windows: { key: string; windowMs: number; until: number }[];
}

export type OwnerMessage =
  | {
      t: 'start';
      /** 1-based slot, stable across restarts of the slot (the `worker` label). */
      index: number;
      generation: number;
      config: ConfigModel;
      state: SyncState;
      /** The change number the state includes. */
      seq: number;
      /** The owner's socket for manager, server-status and metrics requests. */
      handlerSocket: string;
      /** How often counters are sent (ms). */
      reportMs: number;
      /** The certificates the owner serves (ACME's among them), put before the worker listens. */
      certificates: CertificateWire[];
      /** Open ACME HTTP-01 challenges: token → key authorization. */
      challenges: [string, string][];
      /** Open ACME TLS-ALPN-01 challenges: name → challenge certificate and key. */
      alpnChallenges: [string, AlpnMaterial][];
      limits: LimitStart;
    }
  | { t: 'changes'; seq: number; changes: WireChange[] }
  | { t: 'busy'; others: Record<string, Record<string, number>> }
  | { t: 'reload'; seq: number; config: ConfigModel; state: SyncState }
  | { t: 'certificate'; names: string[]; material?: CertificateWire['material'] }
  | { t: 'challenge'; token: string; keyAuthorization?: string }
  | { t: 'alpn-challenge'; name: string; material?: AlpnMaterial }
  | { t: 'limit'; m: LimitToWorker }
  | { t: 'reopen' }
  | { t: 'stop'; graceMs: number };

export type WorkerMessage =
  | { t: 'hello'; protocol: number; version: string; pid: number }
  | { t: 'ready'; addresses: ListenerModel[] }
  | { t: 'start-failed'; error: string }
  | { t: 'ack'; seq: number }
  | { t: 'failure'; balancer: string; member: string; cause: string }
  | { t: 'counts'; counts: CountsWire }
  | { t: 'limit'; m: LimitToOwner }
  | { t: 'reloaded'; seq: number; errors: string[]; addresses: ListenerModel[] }
  | { t: 'reopened' };

/** Marks messages as stickylb's among whatever else travels on the cluster channel. */
export const TAG = 'stickylb';

export interface Envelope<M> {
  [TAG]: M;
}

export function wrap<M>(m: M): Envelope<M> {
  return { [TAG]: m };
}

export function unwrap<M>(msg: unknown): M | undefined {
  return typeof msg === 'object' && msg !== null && TAG in msg ? ((msg as Envelope<M>)[TAG] as M) : undefined;
}
