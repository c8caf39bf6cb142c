// The fleet's Redis side: two connections (commands, and one subscribed to the change and ack
// channels), the Lua scripts that store a change only when it is newer, beat the heart and hold
// the rollout lock, all under the fleet's prefix. Every call fails fast when Redis is away (no
// offline queue, a command timeout for a paused server); reconnecting never stops. Knows nothing
// of the runtime state.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import type { FleetModel } from '../config/fleet-model.js';
import { trustedCertificates } from '../acme/trust.js';
import { fleetKeys, type FleetKeys } from './keys.js';

/**
 * Stores `ARGV[2]` under field `ARGV[1]` unless the stored entry is newer; publishes what it stored
 * and returns the entry it replaced, so the writer compares with what Redis held in the same step
 * (two balancers re-seeding an emptied Redis at once cannot both replace a change unnoticed).
 */
const WRITE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local v = tonumber(ARGV[3])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and type(c) == 'table' and tonumber(c.v) then
    local cv = tonumber(c.v)
    if cv > v or (cv == v and tostring(c.o) >= ARGV[4]) then return {0, cur} end
  end
end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local epoch = redis.call('GET', KEYS[3]) or ''
redis.call('PUBLISH', ARGV[5], epoch .. '\\n' .. seq .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return {1, seq, epoch, cur or ''}
`;

/** Records this balancer's heartbeat in Redis time, forgets balancers gone long ago, returns them all. */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now) .. ' ' .. ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local at = tonumber(string.match(all[i + 1], '^(%d+) '))
  if at and now - at > tonumber(ARGV[3]) then
    redis.call('HDEL', KEYS[1], all[i])
  else
    table.insert(out, all[i])
    table.insert(out, all[i + 1])
  end
end
return {string.format('%d', now), redis.call('GET', KEYS[2]) or '', redis.call('GET', KEYS[3]) or '0', out}
`;

/** Takes the lock when free, or renews it when `ARGV[1]` (the token) holds it; else returns the holder. */
const LOCK = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if not (ok and type(c) == 'table' and c.token == ARGV[1]) then return {0, cur} end
elseif ARGV[4] == '1' then
  return {0, ''}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', tonumber(ARGV[3]))
return {1, ''}
`;

/** Deletes the lock when `ARGV[1]` holds it. */
const UNLOCK = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, c = pcall(cjson.decode, cur)
if ok and type(c) == 'table' and c.token == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`;

interface Scripts {
  fleetWrite(state: string, seq: string, epoch: string, field: string, raw: string, v: string, o: string, channel: string): Promise<[number, number | string, string?, string?]>;
  fleetHeartbeat(balancers: string, epoch: string, seq: string, id: string, json: string, staleMs: string): Promise<[string, string, string, string[]]>;
  fleetLock(key: string, token: string, value: string, leaseMs: string, renewOnly: string): Promise<[number, string]>;
  fleetUnlock(key: string, token: string): Promise<number>;
}

export interface WriteResult {
  stored: boolean;
  /** The change's sequence number when stored. */
  seq?: number;
  epoch?: string;
  /** The stored entry that is newer, when not stored. */
  current?: string;
  /** The entry this write replaced, when stored over one. */
  previous?: string;
}

export interface Snapshot {
  /** '' when Redis has no epoch (it has no state of this fleet). */
  epoch: string;
  seq: number;
  state: Record<string, string>;
}

export interface Beat {
  /** Redis's clock (ms). */
  now: number;
  epoch: string;
  seq: number;
  /** Balancer id → [Redis time of its last beat, its heartbeat JSON]. */
  balancers: Map<string, { at: number; json: string }>;
}

export interface ChangeMessage {
  epoch: string;
  seq: number;
  field: string;
  raw: string;
}

export interface StoreEvents {
  /** The command connection is ready (after a start or a reconnection). */
  ready: [];
  /** The command connection closed or failed; `reason` in words. */
  down: [reason: string];
  /** The subscription (re)started: messages before it may be lost. */
  subscribed: [];
  change: [ChangeMessage];
  ack: [id: string, seq: number];
}

export function redisOptions(model: FleetModel, name: string, timeoutMs: number): RedisOptions {
  const opts: RedisOptions = {
    lazyConnect: true,
    // Nothing waits for Redis: a command while it is away fails at once, and is not retried.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    // Reconnect forever, at most every 2 s.
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    connectionName: name,
    keepAlive: 10_000,
  };
  if (model.username) opts.username = model.username;
  if (model.passwordFile) opts.password = readFileSync(model.passwordFile, 'utf8').replace(/\r?\n$/, '');
  else if (model.password) opts.password = model.password;
  if (/^rediss:/i.test(model.redis)) {
    // Node's CA store plus NODE_EXTRA_CA_CERTS, and the fleet's own CA when given: never instead.
    opts.tls = { ca: trustedCertificates(model.caFile ? [readFileSync(model.caFile, 'utf8')] : []) };
  }
  return opts;
}

export class FleetStore extends EventEmitter<StoreEvents> {
  readonly keys: FleetKeys;
  private readonly cmd: Redis & Scripts;
  private readonly sub: Redis;
  private closed = false;

  constructor(
    readonly model: FleetModel,
    readonly id: string,
    /** Command timeout: a paused Redis shows up as failing commands after this long. */
    timeoutMs = Math.max(500, model.heartbeatMs),
  ) {
    super();
    this.keys = fleetKeys(model.prefix);
    this.cmd = new Redis(model.redis, redisOptions(model, `stickylb:${id}`, timeoutMs)) as Redis & Scripts;
    this.cmd.defineCommand('fleetWrite', { numberOfKeys: 3, lua: WRITE });
    this.cmd.defineCommand('fleetHeartbeat', { numberOfKeys: 3, lua: HEARTBEAT });
    this.cmd.defineCommand('fleetLock', { numberOfKeys: 1, lua: LOCK });
    this.cmd.defineCommand('fleetUnlock', { numberOfKeys: 1, lua: UNLOCK });
    this.sub = new Redis(model.redis, { ...redisOptions(model, `stickylb:${id}:sub`, timeoutMs), commandTimeout: undefined });
    // Errors are reported through 'down' (with the last one's words: a refused connection, a
    // wrong password, an untrusted certificate); ioredis logs unhandled 'error' events otherwise.
    let lastError = '';
    this.cmd.on('error', (e: Error) => {
      lastError = e.message;
      if (!this.closed) this.emit('down', e.message);
    });
    this.sub.on('error', () => undefined);
    this.cmd.on('ready', () => {
      lastError = '';
      this.emit('ready');
    });
    this.cmd.on('close', () => {
      if (!this.closed) this.emit('down', lastError || 'connection closed');
    });
    this.sub.on('ready', () => {
      void this.subscribe();
    });
    this.sub.on('message', (channel: string, text: string) => this.onMessage(channel, text));
  }

  /** Starts connecting; resolves at once (the state of the connection arrives as events). */
  start(): void {
    this.cmd.connect().catch((e: Error) => this.emit('down', e.message));
    this.sub.connect().catch(() => undefined);
  }

  get connected(): boolean {
    return this.cmd.status === 'ready';
  }

  private async subscribe(): Promise<void> {
    try {
      await this.sub.subscribe(this.keys.changes, this.keys.acks);
      this.emit('subscribed');
    } catch {
      // The next 'ready' tries again.
    }
  }

  private onMessage(channel: string, text: string): void {
    if (channel === this.keys.changes) {
      const a = text.indexOf('\n');
      const b = text.indexOf('\n', a + 1);
      const c = text.indexOf('\n', b + 1);
      if (a < 0 || b < 0 || c < 0) return;
      this.emit('change', { epoch: text.slice(0, a), seq: Number(text.slice(a + 1, b)), field: text.slice(b + 1, c), raw: text.slice(c + 1) });
    } else if (channel === this.keys.acks) {
      try {
        const m = JSON.parse(text) as { id?: unknown; seq?: unknown };
        if (typeof m.id === 'string' && typeof m.seq === 'number') this.emit('ack', m.id, m.seq);
      } catch {
        // Not ours.
      }
    }
  }

  async write(field: string, raw: string, v: number, origin: string): Promise<WriteResult> {
    const k = this.keys;
    const r = await this.cmd.fleetWrite(k.state, k.seq, k.epoch, field, raw, String(v), origin, k.changes);
    if (Number(r[0]) === 1) return { stored: true, seq: Number(r[1]), epoch: String(r[2] ?? ''), previous: r[3] ? String(r[3]) : undefined };
    return { stored: false, current: String(r[1]) };
  }

  /** Sets the epoch when Redis has none; returns the epoch in force and whether it was ours. */
  async ensureEpoch(candidate: string): Promise<{ epoch: string; created: boolean }> {
    const set = await this.cmd.set(this.keys.epoch, candidate, 'NX');
    if (set === 'OK') return { epoch: candidate, created: true };
    return { epoch: (await this.cmd.get(this.keys.epoch)) ?? '', created: false };
  }

  /** The whole shared state, with the epoch and sequence number it goes with (one transaction). */
  async snapshot(): Promise<Snapshot> {
    const r = await this.cmd.multi().get(this.keys.epoch).get(this.keys.seq).hgetall(this.keys.state).exec();
    if (!r) throw new Error('transaction aborted');
    for (const [err] of r) if (err) throw err;
    return { epoch: (r[0][1] as string | null) ?? '', seq: Number(r[1][1] ?? 0), state: (r[2][1] as Record<string, string>) ?? {} };
  }

  async heartbeat(json: string, staleMs: number): Promise<Beat> {
    const k = this.keys;
    const [now, epoch, seq, flat] = await this.cmd.fleetHeartbeat(k.balancers, k.epoch, k.seq, this.id, json, String(staleMs));
    const balancers = new Map<string, { at: number; json: string }>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const sp = flat[i + 1].indexOf(' ');
      balancers.set(flat[i], { at: Number(flat[i + 1].slice(0, sp)), json: flat[i + 1].slice(sp + 1) });
    }
    return { now: Number(now), epoch, seq: Number(seq), balancers };
  }

  /** Says which change this balancer has applied (all up to `seq`). */
  async ack(seq: number): Promise<void> {
    await this.cmd.publish(this.keys.acks, JSON.stringify({ id: this.id, seq }));
  }

  /**
   * Takes the rollout lock (`renewOnly` false) or renews it; `token` identifies the holder.
   * Returns the holder's value when someone else holds it.
   */
  async lock(token: string, value: string, leaseMs: number, renewOnly: boolean): Promise<{ ok: true } | { ok: false; holder: string }> {
    const [ok, holder] = await this.cmd.fleetLock(this.keys.rollout, token, value, String(leaseMs), renewOnly ? '1' : '0');
    return Number(ok) === 1 ? { ok: true } : { ok: false, holder };
  }

  async unlock(token: string): Promise<boolean> {
    return Number(await this.cmd.fleetUnlock(this.keys.rollout, token)) === 1;
  }

  /** The rollout lock's value and the time left on its lease (ms), or undefined when free. */
  async lockHolder(): Promise<{ value: string; ttlMs: number } | undefined> {
    const r = await this.cmd.multi().get(this.keys.rollout).pttl(this.keys.rollout).exec();
    const value = r?.[0]?.[1] as string | null;
    return value ? { value, ttlMs: Number(r?.[1]?.[1] ?? 0) } : undefined;
  }

  /** Leaves the fleet at once (a balancer that stops): the others stop counting on it now, not after the peer timeout. */
  async leave(): Promise<void> {
    if (this.connected) await this.cmd.hdel(this.keys.balancers, this.id).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
