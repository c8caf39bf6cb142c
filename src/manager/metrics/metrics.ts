// Prometheus metrics (prom-client), one registry per App so several apps can run in one process.
// Requests are counted as they finish; member and server figures are read from the runtime state
// and the listener when scraped, so they never drift from what the manager shows. prom-client is
// loaded, and the registry made, with the first scrape: a balancer nobody scrapes does not carry
// it (about 1 MB of heap, 2 MB of memory). Other plugins add their metrics with `register`.
import type { Registry } from 'prom-client';
import type { RuntimeState } from '../../balancer/runtime.js';
import type { MemberState } from '../../balancer/member-state.js';
import { STATUS_LETTERS, STATUS_WORDS } from '../../config/model.js';
import type { StickyServer } from '../../proxy/server.js';
import type { RequestRecord } from '../../proxy/core/record.js';
import { registerLoadMetrics } from './load-metrics.js';
import type { LoadSource } from './load-monitor.js';

export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const MEMBER_LABELS = ['balancer', 'member', 'route'] as const;

export function statusClass(status: number | undefined): string {
  return status && status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}

/** Counts kept as plain numbers on the request path and handed to prom-client when scraped. */
export interface Tally {
  labels: Record<string, string>;
  count: number;
}

export interface LatencyTally {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Per bucket (not cumulative), in LATENCY_BUCKETS order, plus one past the last bound. */
  buckets: number[];
}

/** Request counts of a worker process, for its owner's /metrics (src/workers). */
export interface MetricTallies {
  requests: Tally[];
  balancers: Tally[];
  latency: LatencyTally[];
  /** Requests by protocol and scheme. */
  protocols?: Tally[];
}

/** prom-client's classes, as loaded with the first scrape. */
export type PromClient = typeof import('prom-client');

/** Adds metrics to the registry when it is made (`new prom.Gauge({ registers: [registry], … })`). */
export type RegisterMetrics = (registry: Registry, prom: PromClient) => void;

export class Metrics {
  private made?: { registry: Registry; prom: PromClient };
  private making?: Promise<Registry>;
  private readonly registrations: RegisterMetrics[] = [];
  private server?: StickyServer;
  // Counting a request must cost next to nothing: prom-client hashes its label objects on every
  // inc()/observe(), which measured about 3 µs per proxied request. We count into maps keyed by
  // the label values and copy the totals into the registry when /metrics is scraped.
  private readonly requestTally = new Map<string, Tally>();
  private readonly balancerTally = new Map<string, Tally>();
  private readonly latencyTally = new Map<string, LatencyTally>();
  private readonly protocolTally = new Map<string, Tally>();
  private readonly loadSources: LoadSource[] = [];

  constructor(
    private readonly runtime: () => RuntimeState,
    private readonly version: string,
  ) {}

  /** The registry with every metric, made (and prom-client loaded) the first time it is asked for. */
  registry(): Promise<Registry> {
    if (this.made) return Promise.resolve(this.made.registry);
    this.making ??= import('prom-client').then((prom) => {
      const registry = new prom.Registry();
      this.made = { registry, prom };
      this.coreMetrics(registry, prom);
      for (const add of this.registrations) add(registry, prom);
      return registry;
    });
    return this.making;
  }

  /** Adds metrics of another plugin: now when the registry is made, else when it is. */
  register(add: RegisterMetrics): void {
    this.registrations.push(add);
    if (this.made) add(this.made.registry, this.made.prom);
  }

  private coreMetrics(registry: Registry, prom: PromClient): void {
    const version = this.version;
    const registers = [registry];
    const eachMember = (fn: (labels: Record<string, string>, m: MemberState) => void) => {
      for (const b of this.runtime().named()) for (const m of b.members) fn({ balancer: b.name, member: m.url, route: m.route }, m);
    };

    const requestTally = this.requestTally;
    const balancerTally = this.balancerTally;
    const latencyTally = this.latencyTally;
    const protocolTally = this.protocolTally;
    new prom.Counter({
      name: 'stickylb_http_requests_by_protocol_total',
      help: 'Requests answered, by protocol (HTTP/1.0, HTTP/1.1, HTTP/2.0) and scheme (http, https).',
      labelNames: ['protocol', 'scheme'],
      registers,
      collect() {
        this.reset();
        for (const t of protocolTally.values()) this.inc(t.labels, t.count);
      },
    });
    new prom.Counter({
      name: 'stickylb_http_requests_total',
      help: 'Requests answered, by kind (proxy, handler, static, error, websocket) and status class.',
      labelNames: ['kind', 'status_class'],
      registers,
      collect() {
        this.reset();
        for (const t of requestTally.values()) this.inc(t.labels, t.count);
      },
    });
    new prom.Counter({
      name: 'stickylb_balancer_requests_total',
      help: 'Proxied requests by balancer, member, status class and sticky outcome (sticky, new, route-changed, refused-nofailover, no-member).',
      labelNames: ['balancer', 'member', 'route', 'status_class', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const t of balancerTally.values()) this.inc(t.labels, t.count);
      },
    });
    new prom.Histogram({
      name: 'stickylb_balancer_request_duration_seconds',
      help: 'Time from a proxied request arriving to its answer being sent, by balancer and member.',
      labelNames: ['balancer', 'member'],
      buckets: LATENCY_BUCKETS,
      registers,
      collect() {
        // prom-client has no setter for a histogram's buckets; its values live in `hashMap`
        // entries of this shape (per-bucket counts keyed by upper bound, summed on output).
        const map = (this as unknown as { hashMap: Record<string, unknown> }).hashMap;
        for (const key of Object.keys(map)) delete map[key];
        for (const [key, t] of latencyTally) {
          const bucketValues: Record<string, number> = {};
          LATENCY_BUCKETS.forEach((ub, i) => (bucketValues[ub] = t.buckets[i]));
          map[key] = { labels: t.labels, bucketValues, sum: t.sum, count: t.count };
        }
      },
    });

    const memberCounter = (name: string, help: string, value: (m: MemberState) => number) =>
      new prom.Counter({
        name,
        help,
        labelNames: [...MEMBER_LABELS],
        registers,
        collect() {
          this.reset();
          eachMember((l, m) => this.inc(l, value(m)));
        },
      });
    const memberGauge = (name: string, help: string, value: (m: MemberState) => number | undefined, extra: string[] = []) =>
      new prom.Gauge({
        name,
        help,
        labelNames: [...MEMBER_LABELS, ...extra],
        registers,
        collect() {
          this.reset();
          eachMember((l, m) => {
            const v = value(m);
            if (v !== undefined) this.set(l, v);
          });
        },
      });

    memberCounter('stickylb_member_sent_bytes_total', 'Bytes sent to the member (request bodies; Apache: To).', (m) => m.bytesTo);
    memberCounter('stickylb_member_received_bytes_total', 'Bytes read from the member (response bodies; Apache: From).', (m) => m.bytesFrom);
    memberCounter('stickylb_member_elected_total', 'Times the member was chosen (Apache: Elected).', (m) => m.elected);
    memberCounter('stickylb_member_errors_total', 'Failures that counted against the member (connect errors, failonstatus, failontimeout).', (m) => m.errors);
    memberCounter('stickylb_member_health_checks_total', 'Active health checks run against the member.', (m) => m.health.checks);
    memberCounter(
      'stickylb_member_route_mismatch_total',
      "Session ids the member issued (Set-Cookie, Location) whose route was not the member's own, or that had none (route verification).",
      (m) => m.routeMismatches,
    );
    memberGauge('stickylb_member_busy', 'Requests in flight to the member (Apache: Busy).', (m) => m.busy);
    memberGauge('stickylb_member_lbstatus', "The byrequests/bybusyness accumulator (Apache's lbstatus, shown as Load).", (m) => m.lbstatus);
    memberGauge('stickylb_member_lbfactor', 'Load factor now (Apache: Factor).', (m) => m.lbfactor);
    memberGauge('stickylb_member_lbset', 'Load balancer set.', (m) => m.lbset);
    memberGauge('stickylb_member_usable', '1 when the member takes requests (none of Disabled, Stopped, Error, Health check failed).', (m) => (m.isUsable() ? 1 : 0));
    new prom.Gauge({
      name: 'stickylb_member_status',
      help: `1 when the member's status flag is set: ${STATUS_LETTERS.map((l) => `${l} ${STATUS_WORDS[l]}`).join(', ')}.`,
      labelNames: [...MEMBER_LABELS, 'flag', 'state'],
      registers,
      collect() {
        this.reset();
        eachMember((l, m) => {
          for (const f of STATUS_LETTERS) this.set({ ...l, flag: f, state: STATUS_WORDS[f] }, m.flags[f] ? 1 : 0);
        });
      },
    });
    memberGauge('stickylb_member_health_check_up', 'Result of the last active health check: 1 passed, 0 failed (absent before the first check).', (m) =>
      m.health.last === undefined ? undefined : m.health.last === 'pass' ? 1 : 0,
    );
    memberGauge('stickylb_member_health_check_duration_seconds', 'How long the last active health check took.', (m) =>
      m.health.lastDurationMs === undefined ? undefined : m.health.lastDurationMs / 1000,
    );
    memberGauge('stickylb_member_health_check_consecutive_failures', 'Failed health checks in a row.', (m) => (m.model.health ? m.health.consecutiveFails : undefined));
    memberGauge('stickylb_member_health_check_last_timestamp_seconds', 'When the last active health check ran.', (m) =>
      m.health.lastCheckAt === undefined ? undefined : m.health.lastCheckAt / 1000,
    );

    const runtimeFn = this.runtime;
    new prom.Counter({
      name: 'stickylb_balancer_refused_total',
      help: 'Requests a balancer refused (no usable member, or the session member unusable with nofailover).',
      labelNames: ['balancer'],
      registers,
      collect() {
        this.reset();
        for (const b of runtimeFn().named()) this.inc({ balancer: b.name }, b.refused);
      },
    });

    const server = () => this.server;
    const serverGauge = (name: string, help: string, value: (s: ReturnType<StickyServer['stats']>) => number) =>
      new prom.Gauge({
        name,
        help,
        registers,
        collect() {
          const s = server();
          if (s) this.set(value(s.stats()));
        },
      });
    const serverCounter = (name: string, help: string, value: (s: ReturnType<StickyServer['stats']>) => number) =>
      new prom.Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const s = server();
          if (s) this.inc(value(s.stats()));
        },
      });
    serverGauge('stickylb_connections_open', 'Client connections open now.', (s) => s.connections);
    const edgeReasons: [string, keyof ReturnType<StickyServer['edge']['counters']['snapshot']>][] = [
      ['connections-total', 'connectionsRefusedTotal'],
      ['connections-per-client', 'connectionsRefusedPerClient'],
      ['proxy-protocol', 'proxyProtocolRefused'],
      ['rate-limit', 'rateLimited'],
      ['access-denied', 'accessDenied'],
      ['auth-failed', 'authFailed'],
      ['body-too-large', 'bodyTooLarge'],
      ['head-limits', 'headLimits'],
      ['header-timeout', 'headerTimeouts'],
      ['body-timeout', 'bodyTimeouts'],
    ];
    new prom.Counter({
      name: 'stickylb_edge_refused_total',
      help: 'Connections and requests the edge refused or cut, by reason (connection limits, PROXY headers, rate limits, access rules, logins, LimitRequestBody, head limits, RequestReadTimeout).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        const s = server();
        if (!s) return;
        const c = s.edge.counters.snapshot();
        for (const [reason, key] of edgeReasons) this.inc({ reason }, c[key]);
      },
    });
    serverGauge('stickylb_requests_in_flight', 'Requests being answered now.', (s) => s.inFlight);
    serverGauge('stickylb_start_time_seconds', 'When the listener started (Unix time).', (s) => s.startedAt / 1000);
    serverCounter('stickylb_received_bytes_total', 'Bytes read from clients.', (s) => s.bytesIn);
    serverCounter('stickylb_sent_bytes_total', 'Bytes sent to clients.', (s) => s.bytesOut);
    new prom.Gauge({
      name: 'stickylb_certificate_expiry_seconds',
      help: 'When each certificate the TLS listeners serve expires (Unix time), by its first name and where it came from (a file, acme, acme-temporary).',
      labelNames: ['name', 'source'],
      registers,
      collect() {
        this.reset();
        for (const c of server()?.certificates.list() ?? []) {
          const from = c.certificates[0]?.source ?? '';
          const source = from === 'ACME' ? 'acme' : from === 'ACME (temporary)' ? 'acme-temporary' : 'file';
          this.set({ name: c.names[0], source }, c.notAfter.getTime() / 1000);
        }
      },
    });
    registerLoadMetrics(prom, registry, () => this.loadSources.flatMap((source) => source()));
    new prom.Gauge({ name: 'stickylb_info', help: 'The running version.', labelNames: ['version'], registers }).set({ version }, 1);
  }

  private unsubscribe?: () => void;

  /** Adds processes whose event-loop delay and GC pauses /metrics shows (this one, the workers). */
  addLoadSource(source: LoadSource): void {
    this.loadSources.push(source);
  }

  /** Counts one finished request. */
  record(info: RequestRecord): void {
    const sc = statusClass(info.status ?? info.error?.status);
    count(this.requestTally, `${info.kind}\0${sc}`, () => ({ kind: info.kind, status_class: sc }));
    count(this.protocolTally, `${info.httpVersion}\0${info.scheme}`, () => ({ protocol: info.httpVersion === '2' ? 'HTTP/2.0' : `HTTP/${info.httpVersion}`, scheme: info.scheme }));
    if ((info.kind === 'proxy' || info.kind === 'websocket') && info.balancer) {
      const b = this.runtime().balancers.get(info.balancer);
      if (b?.model.implicit) return;
      const member = info.member?.url ?? '';
      const route = info.member?.route ?? '';
      const outcome = info.outcome ?? 'no-member';
      count(this.balancerTally, `${info.balancer}\0${member}\0${route}\0${sc}\0${outcome}`, () => ({
        balancer: info.balancer!,
        member,
        route,
        status_class: sc,
        outcome,
      }));
      if (info.kind === 'proxy') {
        const seconds = info.durationUs / 1e6;
        const key = `${info.balancer}\0${member}`;
        let t = this.latencyTally.get(key);
        if (!t) {
          t = { labels: { balancer: info.balancer, member }, count: 0, sum: 0, buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0) };
          this.latencyTally.set(key, t);
        }
        t.count++;
        t.sum += seconds;
        let i = 0;
        while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
        t.buckets[i]++;
      }
    }
  }

  /** The request counts since the last call, then zero: a worker process sends them to its owner. */
  takeTallies(): MetricTallies | undefined {
    if (!this.requestTally.size && !this.balancerTally.size && !this.latencyTally.size) return undefined;
    const out = { requests: [...this.requestTally.values()], balancers: [...this.balancerTally.values()], latency: [...this.latencyTally.values()], protocols: [...this.protocolTally.values()] };
    this.protocolTally.clear();
    this.requestTally.clear();
    this.balancerTally.clear();
    this.latencyTally.clear();
    return out;
  }

  /** Adds a worker process's request counts: the owner's /metrics shows the sum of all workers. */
  addTallies(t: MetricTallies): void {
    const key = (labels: Record<string, string>) => Object.values(labels).join('\0');
    for (const [list, map] of [
      [t.requests, this.requestTally],
      [t.balancers, this.balancerTally],
      [t.protocols ?? [], this.protocolTally],
    ] as const) {
      for (const x of list) {
        const k = key(x.labels);
        const have = map.get(k);
        if (have) have.count += x.count;
        else map.set(k, { labels: x.labels, count: x.count });
      }
    }
    for (const x of t.latency) {
      const k = key(x.labels);
      const have = this.latencyTally.get(k);
      if (!have) {
        this.latencyTally.set(k, { labels: x.labels, count: x.count, sum: x.sum, buckets: [...x.buckets] });
        continue;
      }
      have.count += x.count;
      have.sum += x.sum;
      x.buckets.forEach((n, i) => (have.buckets[i] += n));
    }
  }

  get attached(): boolean {
    return this.server !== undefined;
  }

  attach(server: StickyServer): void {
    this.server = server;
    this.unsubscribe = server.records.subscribe((r) => this.record(r));
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.server = undefined;
    this.made?.registry.clear();
  }
}

function count(map: Map<string, Tally>, key: string, labels: () => Record<string, string>): void {
  const t = map.get(key);
  if (t) t.count++;
  else map.set(key, { labels: labels(), count: 1 });
}
