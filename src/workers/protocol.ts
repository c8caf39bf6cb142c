// The messages between the owner process and its workers (node:cluster IPC, 'advanced'
// serialization, so a config model travels as it is). Types only.
//
// owner → worker: start (config and the whole state), changes (every runtime change, in order,
// numbered), busy (other workers' in-flight requests per member), reload, reopen, stop.
// worker → owner: hello, ready (listening), ack (changes applied up to a number), failure (a
// member failed: sent at once), counts (batched counters), reloaded, reopened.
import type { ConfigModel, ListenerModel } from '../config/model.js';
import type { SyncState, WireChange } from './state-sync.js';
import type { CountsWire } from './counts.js';

/** A certificate as the owner's store holds it: its names and one PEM pair per key type. */
export interface CertificateWire {
  names: string[];
  material: { cert: string; key: string; source: string }[];
}

/** Bumped when a message changes shape: an owner refuses workers that speak another version. */
export const PROTOCOL_VERSION = 1;

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
    }
  | { t: 'changes'; seq: number; changes: WireChange[] }
  | { t: 'busy'; others: Record<string, Record<string, number>> }
  | { t: 'reload'; seq: number; config: ConfigModel; state: SyncState }
  | { t: 'certificate'; names: string[]; material?: CertificateWire['material'] }
  | { t: 'challenge'; token: string; keyAuthorization?: string }
  | { t: 'reopen' }
  | { t: 'stop'; graceMs: number };

export type WorkerMessage =
  | { t: 'hello'; protocol: number; version: string; pid: number }
  | { t: 'ready'; addresses: ListenerModel[] }
  | { t: 'start-failed'; error: string }
  | { t: 'ack'; seq: number }
  | { t: 'failure'; balancer: string; member: string; cause: string }
  | { t: 'counts'; counts: CountsWire }
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
