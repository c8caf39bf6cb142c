// What `check` can still say about a config the schema refused: the values the schema named are
// taken out (a bad value, an unknown key, an entry without a required field) until the rest
// passes, so resolving and linting the rest can report their own findings too. The config stays
// refused; this only keeps one mistake from hiding the others. Pure.
import { configSchema } from './schema.js';
import { formatPath, type SourceMap } from './diagnostics.js';

type Key = string | number;

export interface Salvaged {
  /** The config without what the schema refused; undefined when nothing useful is left. */
  raw?: unknown;
  /** The source map in the salvaged config's paths (array entries taken out shift the others). */
  sourceMap?: SourceMap;
  /** Config paths the schema refused (in the original's terms); findings under them are left out. */
  refused: string[];
  /** A path of the salvaged config in the original's terms (undefined: it was taken out). */
  original(path: string): string | undefined;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function parsePath(p: string): Key[] {
  const out: Key[] = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

/**
 * Takes out what the schema refuses, at most `rounds` times (an entry can hide more problems).
 * Arrays lose whole entries only when an entry lacks a required field; their paths are mapped
 * back with `original`.
 */
export function salvage(raw: unknown, sourceMap?: SourceMap, opts: { drop?: string[]; rounds?: number } = {}): Salvaged {
  const rounds = opts.rounds ?? 8;
  const refused = new Set<string>();
  // Removed entries per array, by the array's original path, in original indexes.
  const removed = new Map<string, number[]>();
  const cur = clone(raw) as Record<string, unknown>;
  const toOriginal = (path: Key[]): Key[] => {
    const out: Key[] = [];
    for (const k of path) {
      if (typeof k === 'number') {
        const gone = (removed.get(formatPath(out)) ?? []).slice().sort((a, b) => a - b);
        let i = k;
        for (const g of gone) if (g <= i) i++;
        out.push(i);
      } else out.push(k);
    }
    return out;
  };
  /** Takes out values (deeper lists first, their entries from the end) and records what went. */
  const apply = (removals: { container: Key[]; key: Key }[]) => {
    const order = (a: { container: Key[]; key: Key }, b: { container: Key[]; key: Key }) => {
      if (a.container.length !== b.container.length) return b.container.length - a.container.length;
      const ca = formatPath(a.container);
      const cb = formatPath(b.container);
      if (ca !== cb) return ca < cb ? -1 : 1;
      return typeof a.key === 'number' && typeof b.key === 'number' ? b.key - a.key : 0;
    };
    const seen = new Set<string>();
    for (const { container, key } of removals.sort(order)) {
      const id = formatPath([...container, key]);
      if (seen.has(id)) continue;
      seen.add(id);
      const holder = getAt(cur, container);
      if (Array.isArray(holder) && typeof key === 'number' && key < holder.length) {
        const orig = formatPath(toOriginal(container));
        const origIndex = toOriginal([...container, key]).at(-1) as number;
        holder.splice(key, 1);
        removed.set(orig, [...(removed.get(orig) ?? []), origIndex]);
      } else if (holder && typeof holder === 'object') delete (holder as Record<Key, unknown>)[key];
    }
  };
  // Values asked to go (found by a later stage), in the original's paths.
  if (opts.drop?.length) {
    for (const p of opts.drop) refused.add(p);
    apply(opts.drop.map(parsePath).filter((k) => k.length).map((k) => ({ container: k.slice(0, -1), key: k.at(-1)! })));
  }
  for (let round = 0; round < rounds; round++) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return { refused: [...refused], original: () => undefined };
    const r = configSchema.safeParse(cur);
    if (r.success) break;
    const issues = r.error.issues;
    const removals: { container: Key[]; key: Key }[] = [];
    for (const issue of issues) {
      const path = issue.path as Key[];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          refused.add(formatPath(toOriginal([...path, key])));
          removals.push({ container: path, key });
        }
        continue;
      }
      if (!path.length) return { refused: [...refused, '(top level)'], original: () => undefined };
      refused.add(formatPath(toOriginal(path)));
      const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
      // A missing list becomes an empty one; a missing field takes out what holds it.
      if (missing && issue.expected === 'array') {
        setAt(cur, path, []);
        continue;
      }
      let target = missing ? path.slice(0, -1) : path;
      // An entry of a list that is refused as a whole (a rule without `to`) goes; so does a
      // refused list entry.
      if (!target.length) return { refused: [...refused], original: () => undefined };
      if (missing && typeof target.at(-1) !== 'number' && target.length > 1 && typeof target.at(-2) === 'number') target = target.slice(0, -1);
      removals.push({ container: target.slice(0, -1), key: target.at(-1)! });
    }
    apply(removals);
    if (round === rounds - 1 && !configSchema.safeParse(cur).success) return { refused: [...refused], original: () => undefined };
  }
  const original = (p: string) => {
    const keys = parsePath(p);
    return keys.length ? formatPath(toOriginal(keys)) : p;
  };
  let map: SourceMap | undefined;
  if (sourceMap) {
    // The salvaged paths of the original source map's entries.
    map = new Map();
    const toSalvaged = (keys: Key[]): Key[] | undefined => {
      const out: Key[] = [];
      const orig: Key[] = [];
      for (const k of keys) {
        if (typeof k === 'number') {
          const gone = removed.get(formatPath(orig)) ?? [];
          if (gone.includes(k)) return undefined;
          out.push(k - gone.filter((g) => g < k).length);
        } else out.push(k);
        orig.push(k);
      }
      return out;
    };
    for (const [p, loc] of sourceMap) {
      const s = p === '(top level)' ? [] : toSalvaged(parsePath(p));
      if (s) map.set(s.length ? formatPath(s) : p, loc);
    }
  }
  return { raw: cur, sourceMap: map, refused: [...refused], original };
}

function getAt(root: unknown, path: Key[]): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<Key, unknown>)[k];
  }
  return cur;
}

function setAt(root: unknown, path: Key[], value: unknown): void {
  const holder = getAt(root, path.slice(0, -1));
  if (holder && typeof holder === 'object') (holder as Record<Key, unknown>)[path.at(-1)!] = value;
}
