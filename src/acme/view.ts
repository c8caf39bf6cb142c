// The state of the managed domains as JSON (manager API, server-status) and as text. Pure.
import type { ManagedCertificate } from './renewer.js';

export interface CertificateJson {
  name: string;
  names: string[];
  state: ManagedCertificate['state'];
  temporary: boolean;
  notBefore?: string;
  notAfter?: string;
  issuer?: string;
  renewAt?: string;
  failures: number;
  lastError?: string;
  nextAttemptAt?: string;
  issuedAt?: string;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function certificateJson(c: ManagedCertificate): CertificateJson {
  return {
    name: c.name,
    names: c.names,
    state: c.state,
    temporary: c.temporary,
    notBefore: iso(c.notBefore),
    notAfter: iso(c.notAfter),
    issuer: c.issuer,
    renewAt: iso(c.renewAt),
    failures: c.failures,
    lastError: c.lastError,
    nextAttemptAt: iso(c.nextAttemptAt),
    issuedAt: iso(c.issuedAt),
  };
}

/** "in 3 days", "in 5 h", "2 min ago": how far `at` is from `now`, for people. */
export function fromNow(at: number, now: number): string {
  const d = at - now;
  const a = Math.abs(d);
  const text = a >= 2 * 86_400_000 ? `${Math.round(a / 86_400_000)} days` : a >= 2 * 3_600_000 ? `${Math.round(a / 3_600_000)} h` : a >= 120_000 ? `${Math.round(a / 60_000)} min` : `${Math.round(a / 1000)} s`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}
