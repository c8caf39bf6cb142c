// When to renew a certificate and how long to wait after a failed attempt. Pure: every function
// takes the time it reasons about.
import type { RenewWindowModel } from '../config/model.js';

/** How long before expiry a certificate is renewed: a share of its lifetime, or a fixed time. */
export type RenewWindow = RenewWindowModel;

/** mod_md's default: renew once a third of the lifetime is left. */
export const DEFAULT_RENEW_WINDOW: RenewWindow = { percent: 33 };

/** First wait after a failed attempt; it doubles with each failure in a row (MDRetryDelay). */
export const DEFAULT_RETRY_DELAY_MS = 60_000;

/** The longest wait between two attempts, however many failed. */
export const MAX_RETRY_DELAY_MS = 24 * 3600_000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, mi: 60_000, m: 60_000, h: 3600_000, d: 86_400_000 };

/**
 * Reads a renew window: `33%`, `21d`, `12h`, `30m`, `90s`, or a number of `bareUnit`s (mod_md
 * reads a bare number as days, the YAML front end as seconds). Returns an error text otherwise.
 */
export function parseRenewWindow(v: string | number, bareUnit: 'd' | 's' = 's'): RenewWindow | string {
  if (typeof v === 'number') {
    if (!(v >= 0) || !Number.isFinite(v)) return `${v} is not a duration`;
    return { ms: v * UNITS[bareUnit] };
  }
  const text = v.trim();
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (pct) {
    const p = Number(pct[1]);
    if (p <= 0 || p >= 100) return `${text}: a share of the lifetime must be between 0% and 100%`;
    return { percent: p };
  }
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|mi|m|h|d)?$/i.exec(text);
  if (!m) return `"${text}" is not a renew window (expected a share of the lifetime such as 33%, or a time such as 21d, 12h)`;
  return { ms: Number(m[1]) * UNITS[(m[2] ?? bareUnit).toLowerCase()] };
}

/** The window as users write it, for status pages. */
export function formatRenewWindow(w: RenewWindow): string {
  if ('percent' in w) return `${w.percent}%`;
  const d = w.ms / 86_400_000;
  if (Number.isInteger(d)) return `${d}d`;
  const h = w.ms / 3600_000;
  if (Number.isInteger(h)) return `${h}h`;
  return `${Math.round(w.ms / 1000)}s`;
}

/** The moment renewal is due for a certificate valid from `notBefore` to `notAfter` (ms). */
export function renewAt(notBefore: number, notAfter: number, w: RenewWindow): number {
  const lifetime = Math.max(0, notAfter - notBefore);
  const before = 'percent' in w ? (lifetime * w.percent) / 100 : w.ms;
  return notAfter - before;
}

/** Wait after `failures` failed attempts in a row (1 = the first failure): doubles, capped. */
export function retryDelay(failures: number, baseMs = DEFAULT_RETRY_DELAY_MS, maxMs = MAX_RETRY_DELAY_MS): number {
  if (failures <= 0) return 0;
  const d = baseMs * 2 ** Math.min(failures - 1, 40);
  return Math.min(d, Math.max(maxMs, baseMs));
}

/** What a certificate of a managed domain needs now. */
export type Due =
  | { action: 'issue' }
  | { action: 'renew' }
  | { action: 'wait'; untilMs: number };

export interface DueInput {
  now: number;
  /** The certificate in service, if any. */
  cert?: { notBefore: number; notAfter: number };
  window: RenewWindow;
  /** Earliest time of the next attempt after failures (0: none pending). */
  retryAfterMs: number;
  /**
   * When the certificate in service was issued, and the least time before it is renewed: a window
   * longer than the lifetime must not make every new certificate due at once, again and again.
   */
  issued?: { at: number; minAgeMs: number };
}

/** Decides whether to order a certificate now, or when to look again. */
export function whatIsDue(i: DueInput): Due {
  if (i.retryAfterMs > i.now) return { action: 'wait', untilMs: i.retryAfterMs };
  if (!i.cert) return { action: 'issue' };
  let at = renewAt(i.cert.notBefore, i.cert.notAfter, i.window);
  if (i.issued) at = Math.max(at, i.issued.at + i.issued.minAgeMs);
  if (i.now >= at) return { action: 'renew' };
  return { action: 'wait', untilMs: at };
}
