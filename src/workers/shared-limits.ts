// The edge's connection and rate counts in a worker process, shared with the other workers: the
// same counting as one process (ConnectionLimiter, RateLimiter), with the admission decided by
// the worker's share or lease of each limit (limit-link.ts). The common case — an address well
// below its limits — is decided here at once; an address that reaches this worker's share waits
// for one answer of the owner.
import type { RateLimitModel } from '../config/edge-model.js';
import { ConnectionLimiter, type ConnectionCounting, type ConnectionVerdict } from '../edge/conn-limit.js';
import { RateLimiter, type RateCounting, type RateLimitStats } from '../edge/rate-limit.js';
import type { LimitLink } from './limit-link.js';
import { clientKey, rateKey, TOTAL_KEY } from './limit-share.js';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerClient: number;
}

export class SharedConnections implements ConnectionCounting {
  readonly local = new ConnectionLimiter();

  constructor(
    private readonly link: () => LimitLink,
    /** The limits now (a reload may change them). */
    private readonly limits: () => ConnectionLimits,
  ) {}

  get open(): number {
    return this.local.open;
  }
  set open(n: number) {
    this.local.open = n;
  }

  /** What the worker uses of a gauge key. */
  used(key: string): number {
    return key === TOTAL_KEY ? this.local.open : this.local.of(key.slice(2));
  }

  /** The limit of a gauge key now. */
  limitOf(key: string): number {
    const l = this.limits();
    return key === TOTAL_KEY ? l.maxConnections : l.maxConnectionsPerClient;
  }

  tryOpen(addr: string, maxTotal: number, maxPerClient: number, exempt: boolean): ConnectionVerdict | Promise<ConnectionVerdict> {
    const v = this.decide(addr, maxTotal, maxPerClient, exempt);
    if (v !== undefined) return v;
    return new Promise((resolve) => {
      this.link().wait(
        () => {
          const x = this.decide(addr, maxTotal, maxPerClient, exempt);
          if (x === undefined) return false;
          resolve(x);
          return true;
        },
        () => resolve(this.local.tryOpen(addr, maxTotal, maxPerClient, exempt)),
      );
    });
  }

  /**
   * The verdict (an admitted connection is counted), or undefined when the owner was asked. The
   * total limit is decided first, as one process decides it.
   */
  private decide(addr: string, maxTotal: number, maxPerClient: number, exempt: boolean): ConnectionVerdict | undefined {
    const link = this.link();
    const g = link.gauges;
    const total = maxTotal > 0 ? g.check(TOTAL_KEY, maxTotal, this.local.open) : 'ok';
    if (total === 'full') return 'total';
    const key = clientKey(addr);
    const client = maxPerClient > 0 && !exempt ? g.check(key, maxPerClient, this.local.of(addr)) : 'ok';
    if (total === 'ok') {
      if (client === 'full') return 'client';
      if (client === 'ok') {
        this.local.add(addr);
        return 'ok';
      }
    } else link.askGauge(TOTAL_KEY, maxTotal, this.local.open);
    if (client === 'ask') link.askGauge(key, maxPerClient, this.local.of(addr));
    return undefined;
  }

  close(addr: string): void {
    this.local.close(addr);
    const link = this.link();
    const l = this.limits();
    link.closed(TOTAL_KEY, l.maxConnections, this.local.open);
    link.closed(clientKey(addr), l.maxConnectionsPerClient, this.local.of(addr));
  }

  of(addr: string): number {
    return this.local.of(addr);
  }

  snapshot(): Record<string, number> {
    return this.local.snapshot();
  }
}

export class SharedRates implements RateCounting {
  readonly local = new RateLimiter();

  constructor(
    private readonly link: () => LimitLink,
    private readonly now: () => number = Date.now,
  ) {}

  hit(rule: RateLimitModel, client: string, now: number): number | Promise<number> {
    const v = this.decide(rule, client, now);
    if (v !== undefined) return v;
    return new Promise((resolve) => {
      this.link().wait(
        () => {
          const x = this.decide(rule, client, this.now());
          if (x === undefined) return false;
          resolve(x);
          return true;
        },
        () => resolve(this.local.hit(rule, client, this.now())),
      );
    });
  }

  /** 0 (counted), the seconds of Retry-After, or undefined when the owner was asked. */
  private decide(rule: RateLimitModel, client: string, now: number): number | undefined {
    const b = this.local.bucket(rule, client, now);
    const link = this.link();
    const key = rateKey(`${rule.id}\0${client}`);
    const v = link.windows.check(key, rule.requests, b, now);
    if (v === 'ok') {
      b.curr++;
      this.local.stat(rule.id).allowed++;
      return 0;
    }
    if (v !== 'ask') {
      this.local.stat(rule.id).limited++;
      return v;
    }
    link.askWindow(key, rule.requests, b);
    return undefined;
  }

  snapshot(): RateLimitStats[] {
    return this.local.snapshot();
  }
}
