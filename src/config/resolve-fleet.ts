// The fleet settings of a raw config to their model: Redis and the fleet's keys, the DNS resolver,
// and the DNS names of each balancer, with their defaults and the checks the schema cannot make.
// Pure.
import { hostname } from 'node:os';
import type { RawFleet, RawResolver } from './fleet-schema.js';
import type { RawDns } from './schema.js';
import type { DnsRecordType, DnsSourceModel, FleetModel, ResolverModel } from './fleet-model.js';
import type { ConfigModel, MemberModel } from './model.js';
import { durationMs, type Diagnostic } from './diagnostics.js';
import { resolveConfigPath } from './base-dir.js';

export const FLEET_DEFAULTS = {
  heartbeatMs: 1_000,
  peerTimeoutMs: 5_000,
  leaseMs: 15_000,
  ackWaitMs: 1_000,
};

export const DNS_DEFAULTS = {
  minTtlMs: 1_000,
  maxTtlMs: 300_000,
  max: 64,
  timeoutMs: 2_000,
};

export function resolveFleet(raw: RawFleet | undefined, source: ConfigModel['source'], diags: Diagnostic[]): FleetModel | undefined {
  if (!raw) return undefined;
  const heartbeatMs = durationMs(raw.heartbeat, FLEET_DEFAULTS.heartbeatMs);
  const peerTimeoutMs = durationMs(raw.peerTimeout, Math.max(FLEET_DEFAULTS.peerTimeoutMs, heartbeatMs * 3));
  const leaseMs = durationMs(raw.lease, Math.max(FLEET_DEFAULTS.leaseMs, heartbeatMs * 3));
  if (heartbeatMs < 100) diags.push({ severity: 'error', path: 'fleet.heartbeat', message: 'fleet.heartbeat: must be at least 100ms', code: 'invalid-value' });
  if (peerTimeoutMs < heartbeatMs * 2) {
    diags.push({ severity: 'error', path: 'fleet.peerTimeout', message: `fleet.peerTimeout: must be at least twice fleet.heartbeat (${heartbeatMs * 2}ms), or live balancers look gone`, code: 'invalid-value' });
  }
  if (leaseMs < heartbeatMs * 2) {
    diags.push({ severity: 'error', path: 'fleet.lease', message: `fleet.lease: must be at least twice fleet.heartbeat (${heartbeatMs * 2}ms): the lock holder renews it every heartbeat`, code: 'invalid-value' });
  }
  if (raw.password !== undefined && raw.passwordFile !== undefined) {
    diags.push({ severity: 'error', path: 'fleet.passwordFile', message: 'fleet: give password or passwordFile, not both', code: 'invalid-value' });
  }
  if (raw.caFile && !/^rediss:/i.test(raw.redis)) {
    diags.push({ severity: 'error', path: 'fleet.caFile', message: 'fleet.caFile: a CA is only used with rediss:// (TLS); the URL says redis://', code: 'invalid-value' });
  }
  return {
    redis: raw.redis,
    name: raw.name,
    prefix: raw.prefix ?? `stickylb:${raw.name}:`,
    password: raw.password,
    passwordFile: raw.passwordFile ? resolveConfigPath({ source }, raw.passwordFile) : undefined,
    username: raw.username,
    caFile: raw.caFile ? resolveConfigPath({ source }, raw.caFile) : undefined,
    id: raw.id,
    address: raw.address,
    heartbeatMs,
    peerTimeoutMs,
    leaseMs,
    ackWaitMs: durationMs(raw.ackWait, FLEET_DEFAULTS.ackWaitMs),
    health: raw.health ?? 'local',
  };
}

/** The default id of a balancer in a fleet: the host's name and the first port it listens on. */
export function defaultFleetId(config: Pick<ConfigModel, 'listeners'>, port?: number): string {
  const p = port ?? config.listeners[0]?.port;
  const id = `${hostname()}:${p || process.pid}`.replace(/[^A-Za-z0-9_.-]/g, '-');
  return id.slice(0, 64);
}

export function resolveResolver(raw: RawResolver | undefined): ResolverModel | undefined {
  if (!raw) return undefined;
  return {
    servers: (raw.servers ?? []).map(serverAddress),
    timeoutMs: durationMs(raw.timeout, DNS_DEFAULTS.timeoutMs),
  };
}

/** "127.0.0.1" → "127.0.0.1:53"; "::1" → "[::1]:53"; "[::1]:5353" stays. */
export function serverAddress(s: string): string {
  if (s.startsWith('[')) return /\]:\d+$/.test(s) ? s : `${s}:53`;
  if (s.includes(':') && s.indexOf(':') !== s.lastIndexOf(':')) return `[${s}]:53`;
  return s.includes(':') ? s : `${s}:53`;
}

function recordType(t: string | undefined, name: string): DnsRecordType {
  if (!t) return name.startsWith('_') ? 'SRV' : 'A+AAAA';
  return t.toUpperCase() as DnsRecordType;
}

/**
 * The DNS names of a balancer. `template` resolves the settings every found member gets (a member
 * with a placeholder URL); `rolling` gives the drain defaults.
 */
export function resolveDnsSources(
  raw: RawDns | RawDns[] | undefined,
  path: string,
  template: (settings: Record<string, unknown>, at: string) => MemberModel,
  rolling: { idleMs: number; maxWaitMs: number },
  diags: Diagnostic[],
): DnsSourceModel[] | undefined {
  if (raw === undefined) return undefined;
  const list = Array.isArray(raw) ? raw : [raw];
  const seen = new Set<string>();
  return list.map((entry, i) => {
    const at = Array.isArray(raw) ? `${path}[${i}]` : path;
    const o = typeof entry === 'string' ? { name: entry } : entry;
    const name = o.name.replace(/\.$/, '').toLowerCase();
    const type = recordType(o.type, name);
    if (type !== 'SRV' && o.port === undefined) {
      diags.push({ severity: 'error', path: at, message: `${at}: ${type} records carry no port: give port (or use an SRV name such as _http._tcp.${name})`, code: 'dns-port' });
    }
    if (type === 'SRV' && o.port !== undefined) {
      diags.push({ severity: 'error', path: `${at}.port`, message: `${at}.port: SRV records give each member's port; port is for A/AAAA names`, code: 'dns-port' });
    }
    if (seen.has(name)) diags.push({ severity: 'error', path: at, message: `${at}: ${name} is listed twice`, code: 'dns-duplicate' });
    seen.add(name);
    const minTtlMs = durationMs('minTtl' in o ? o.minTtl : undefined, DNS_DEFAULTS.minTtlMs);
    const maxTtlMs = durationMs('maxTtl' in o ? o.maxTtl : undefined, DNS_DEFAULTS.maxTtlMs);
    if (minTtlMs < 100) diags.push({ severity: 'error', path: `${at}.minTtl`, message: `${at}.minTtl: must be at least 100ms`, code: 'invalid-value' });
    if (maxTtlMs < minTtlMs) diags.push({ severity: 'error', path: `${at}.maxTtl`, message: `${at}.maxTtl: must not be below minTtl`, code: 'invalid-value' });
    const settings: Record<string, unknown> = ('member' in o && o.member) || {};
    return {
      name,
      type,
      port: o.port,
      scheme: ('scheme' in o && o.scheme) || 'http',
      path: (('path' in o && o.path) || '').replace(/\/+$/, ''),
      route: ('route' in o && o.route) || (type === 'SRV' ? 'name' : 'address'),
      minTtlMs,
      maxTtlMs,
      drainIdleMs: durationMs('drainIdle' in o ? o.drainIdle : undefined, rolling.idleMs),
      drainMaxMs: durationMs('drainMax' in o ? o.drainMax : undefined, rolling.maxWaitMs),
      max: ('max' in o && o.max) || DNS_DEFAULTS.max,
      template: template(settings, `${at}.member`),
    };
  });
}
