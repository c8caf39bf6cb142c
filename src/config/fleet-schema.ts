// The config schema of several balancers working as one fleet (schema.ts uses these): the shared
// state on Redis (`fleet`), the DNS resolver stickylb asks (`resolver`), and members found by DNS
// (a balancer's `dns`).
import { z } from 'zod';

const durationSchema = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)?$/i)])
  .describe('a duration: seconds as a number, or a string such as "500ms", "30s", "5m"');

/** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
export const REDIS_URL = /^rediss?:\/\/([^\s/@]*@)?(\[[0-9a-fA-F:.]+\]|[^\s/:@[\]]+)(:\d{1,5})?(\/\d{1,2})?\/?$/i;

/** Fleet names and balancer ids: they become parts of Redis keys and of log lines. */
const FLEET_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export const fleetSchema = z
  .object({
    /** Where the shared state lives: redis://host:6379, rediss://host:6380 (TLS), with /DB. */
    redis: z.string().regex(REDIS_URL, 'must be redis://[user:password@]host[:port][/db] or rediss://… (TLS)'),
    /** The fleet's name: balancers with the same name share one state. */
    name: z.string().regex(FLEET_NAME, 'must be 1-64 letters, digits, _ . -'),
    /** Prefix of every key of the fleet in Redis (default "stickylb:NAME:"). */
    prefix: z.string().min(1).max(200).regex(/^[^\s]+$/, 'must not contain spaces').optional(),
    /** Redis password (AUTH); or put it in the URL, or read it from a file. */
    password: z.string().min(1).optional(),
    /** File holding the Redis password (a mounted secret); one line. */
    passwordFile: z.string().min(1).optional(),
    /** Redis user (ACL), when not in the URL. */
    username: z.string().min(1).optional(),
    /** PEM file of a CA trusted for rediss:// besides Node's CA store. */
    caFile: z.string().min(1).optional(),
    /** This balancer's name in the fleet (default HOSTNAME:PORT). */
    id: z.string().regex(FLEET_NAME, 'must be 1-64 letters, digits, _ . -').optional(),
    /** The address other people reach this balancer at, shown in the manager (default: the first listener). */
    address: z.string().min(1).max(200).optional(),
    /** How often a balancer says it is alive (default 1s). */
    heartbeat: durationSchema.optional(),
    /** A balancer not heard from for this long has left the fleet (default 5s). */
    peerTimeout: durationSchema.optional(),
    /** Lease of the rolling-restart lock: a balancer that dies holding it frees it after this long (default 15s). */
    lease: durationSchema.optional(),
    /** How long a manager answer waits for the other balancers to apply a change (default 1s; 0: answer once stored). */
    ackWait: durationSchema.optional(),
    /** Health check verdicts: each balancer's own ("local", the default), or shared across the fleet. */
    health: z.enum(['local', 'shared']).optional(),
  })
  .strict();

/** The DNS servers stickylb asks for members found by DNS (default: the system's). */
export const resolverSchema = z
  .object({
    /** ADDRESS or ADDRESS:PORT ("127.0.0.1:5353", "[::1]:53"), asked in order. */
    servers: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9.]+(:\d{1,5})?|[0-9a-fA-F:]+)$/, 'must be an IP address, optionally with :PORT')).min(1).optional(),
    /** How long to wait for an answer (default 2s); each server is tried twice. */
    timeout: durationSchema.optional(),
  })
  .strict();

/** One DNS name whose records are members of the balancer. */
export const dnsSourceObjectSchema = z
  .object({
    /** "_http._tcp.app.NS.svc.cluster.local" (SRV) or "app.NS.svc.cluster.local" (A/AAAA). */
    name: z.string().regex(/^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/, 'must be a DNS name'),
    /** Record type: SRV (targets and ports), A, AAAA, or "A+AAAA" (both). Default SRV for names starting with "_", else A+AAAA. */
    type: z.enum(['SRV', 'A', 'AAAA', 'A+AAAA', 'srv', 'a', 'aaaa', 'a+aaaa']).optional(),
    /** Port of the members (A/AAAA; SRV records carry their own). */
    port: z.number().int().min(1).max(65535).optional(),
    /** http or https (default http). */
    scheme: z.enum(['http', 'https']).optional(),
    /** Path of the member URLs (default none). */
    path: z.string().startsWith('/').optional(),
    /** Route of each member: the first label of its name ("name", the default for SRV) or its address ("address", the default for A/AAAA). */
    route: z.enum(['name', 'address']).optional(),
    /** Shortest time between two lookups, whatever the TTL (default 1s). */
    minTtl: durationSchema.optional(),
    /** Longest time between two lookups, whatever the TTL (default 5m). */
    maxTtl: durationSchema.optional(),
    /** A name gone from DNS is drained, then removed once idle this long (default: rolling.idle, 10s). */
    drainIdle: durationSchema.optional(),
    /** …or after this long at most (default: rolling.maxWait, 5m). */
    drainMax: durationSchema.optional(),
    /** At most this many members from this name (default 64). */
    max: z.number().int().min(1).max(1024).optional(),
  })
  .strict();

export type RawFleet = z.infer<typeof fleetSchema>;
export type RawResolver = z.infer<typeof resolverSchema>;
