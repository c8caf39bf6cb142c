// DNS answers for access rules, cached for a minute: the double-reverse names of a client
// address (Require host, Allow from NAME: the names its PTR records give that resolve back to
// it) and the addresses of a name (Require forward-dns). A rule that needs an answer not cached
// yet waits for it once; later requests decide without waiting.
import { promises as dns } from 'node:dns';

const TTL_MS = 60_000;
const TIMEOUT_MS = 2_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  at: number;
  value?: string[];
  pending?: Promise<string[]>;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('DNS timeout')), ms);
    t.unref?.();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export type Lookup = (key: string) => Promise<string[]>;

/**
 * Verified names of an address, as Apache's double-reverse lookup finds them: the name the
 * system resolver gives (getnameinfo: /etc/hosts, then DNS), kept only when its forward lookup
 * gives the address back.
 */
export const doubleReverse: Lookup = async (addr) => {
  const name = await dns
    .lookupService(addr, 0)
    .then((r) => r.hostname)
    .catch(() => undefined);
  if (name === undefined || name === addr) return [];
  const back = await dns.lookup(name, { all: true }).catch(() => []);
  return back.some((a) => a.address === addr) ? [name] : [];
};

export const forwardLookup: Lookup = async (name) => (await dns.lookup(name, { all: true }).catch(() => [])).map((a) => a.address);

export class DnsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly lookup: Lookup,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached answer, or undefined (a lookup is then started). */
  get(key: string): string[] | undefined {
    const e = this.entries.get(key);
    if (e?.value !== undefined && this.now() - e.at < TTL_MS) return e.value;
    void this.fetch(key);
    return undefined;
  }

  fetch(key: string): Promise<string[]> {
    const e = this.entries.get(key);
    if (e?.value !== undefined && this.now() - e.at < TTL_MS) return Promise.resolve(e.value);
    if (e?.pending) return e.pending;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const entry: Entry = { at: this.now() };
    entry.pending = withTimeout(this.lookup(key), TIMEOUT_MS)
      .catch(() => [] as string[])
      .then((value) => {
        entry.value = value;
        entry.at = this.now();
        entry.pending = undefined;
        return value;
      });
    this.entries.set(key, entry);
    return entry.pending;
  }
}
