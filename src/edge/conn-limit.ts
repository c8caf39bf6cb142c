// Connection limits: client connections open at once, in total and per client address. A
// refused connection is logged once per client address per interval, so a client that keeps
// trying cannot fill the log. Worker processes share one limit (src/workers/limit-*.ts) through
// the same interface.

export type ConnectionVerdict = 'ok' | 'total' | 'client';

/** What a listener asks of the connection counts (one process's, or shared by worker processes). */
export interface ConnectionCounting {
  /** Connections counted open. */
  open: number;
  /**
   * Counts a new connection unless a limit (0: none) says no. A promise when the answer needs
   * another process.
   */
  tryOpen(addr: string, maxTotal: number, maxPerClient: number, exempt: boolean): ConnectionVerdict | Promise<ConnectionVerdict>;
  close(addr: string): void;
  /** Open connections of one address. */
  of(addr: string): number;
  /** Open connections by address. */
  snapshot(): Record<string, number>;
}

export class ConnectionLimiter implements ConnectionCounting {
  open = 0;
  private readonly perClient = new Map<string, number>();

  tryOpen(addr: string, maxTotal: number, maxPerClient: number, exempt: boolean): ConnectionVerdict {
    if (maxTotal > 0 && this.open >= maxTotal) return 'total';
    const n = this.perClient.get(addr) ?? 0;
    if (maxPerClient > 0 && !exempt && n >= maxPerClient) return 'client';
    this.open++;
    this.perClient.set(addr, n + 1);
    return 'ok';
  }

  /** Counts a connection the caller has admitted. */
  add(addr: string): void {
    this.open++;
    this.perClient.set(addr, (this.perClient.get(addr) ?? 0) + 1);
  }

  close(addr: string): void {
    this.open--;
    const n = (this.perClient.get(addr) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(addr);
    else this.perClient.set(addr, n);
  }

  of(addr: string): number {
    return this.perClient.get(addr) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.perClient);
  }
}

/** The `n` addresses with the most connections (the manager's busiest clients). */
export function busiest(perClient: Record<string, number>, n = 20): Record<string, number> {
  return Object.fromEntries(
    Object.entries(perClient)
      .sort((a, b) => b[1] - a[1])
      .slice(0, n),
  );
}

/** Says yes once per key per interval. */
export class LogThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs = 60_000,
    private readonly max = 10_000,
  ) {}

  due(key: string, now: number): boolean {
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.intervalMs) return false;
    if (this.last.size >= this.max) {
      for (const [k, t] of this.last) if (now - t >= this.intervalMs) this.last.delete(k);
      if (this.last.size >= this.max) this.last.clear();
    }
    this.last.set(key, now);
    return true;
  }
}
