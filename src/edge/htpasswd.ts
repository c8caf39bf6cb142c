// HTTP Basic authentication against the files Apache's `htpasswd` writes (AuthUserFile), in every
// format it writes: bcrypt (-B), MD5 `$apr1$` (-m, its default), SHA-256 and SHA-512 crypt (-2,
// -5), SHA-1 `{SHA}` (-s) and DES crypt (-d), each checked by a well-kept library and compared in
// constant time. Plain-text entries (-p) are refused, as Apache refuses them outside Windows.
// Group files (AuthGroupFile) too. Files are re-read when they change; verified credentials are
// remembered so that a page polled every second does not pay bcrypt's cost every time. The hash
// libraries are imported with the first password of their kind checked: a balancer without
// passwords does not carry them (bcryptjs alone is 0.5 MB of heap).
import { readFile, stat } from 'node:fs/promises';
import { createHash, timingSafeEqual } from 'node:crypto';

export type HashKind = 'bcrypt' | 'apr1' | 'sha256-crypt' | 'sha512-crypt' | 'sha1' | 'des-crypt' | 'unknown';

export interface HtpasswdEntry {
  user: string;
  hash: string;
  kind: HashKind;
}

/** The kind of an htpasswd hash. */
export function hashKind(hash: string): HashKind {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\$apr1\$[^$]{0,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'apr1';
  if (/^\$5\$(rounds=\d+\$)?[^$]{0,16}\$[./A-Za-z0-9]{43}$/.test(hash)) return 'sha256-crypt';
  if (/^\$6\$(rounds=\d+\$)?[^$]{0,16}\$[./A-Za-z0-9]{86}$/.test(hash)) return 'sha512-crypt';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return 'des-crypt';
  return 'unknown';
}

/** What a hash kind is called in messages. */
export const HASH_NAMES: Record<HashKind, string> = {
  bcrypt: 'bcrypt',
  apr1: 'MD5 ($apr1$)',
  'sha256-crypt': 'SHA-256 crypt ($5$)',
  'sha512-crypt': 'SHA-512 crypt ($6$)',
  sha1: 'SHA-1 ({SHA})',
  'des-crypt': 'DES crypt',
  unknown: 'plain text or unknown',
};

/** Pure: parses htpasswd text (`user:hash` lines, `#` comments). */
export function parseHtpasswd(text: string): HtpasswdEntry[] {
  const out: HtpasswdEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const colon = l.indexOf(':');
    if (colon <= 0) continue;
    const hash = l.slice(colon + 1);
    out.push({ user: l.slice(0, colon), hash, kind: hashKind(hash) });
  }
  return out;
}

/** Pure: group file text (`group: user user …` lines) to the groups of each user. */
export function parseGroupFile(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split(/\r?\n/)) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const colon = l.indexOf(':');
    if (colon <= 0) continue;
    const group = l.slice(0, colon).trim();
    for (const user of l.slice(colon + 1).trim().split(/\s+/).filter(Boolean)) {
      let s = out.get(user);
      if (!s) out.set(user, (s = new Set()));
      s.add(group);
    }
  }
  return out;
}

/** Pure: user and password from an `Authorization: Basic …` header. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Lengths of hashes of one kind are fixed; a different length is a different hash.
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks a password against an htpasswd hash, in constant time for a given hash. */
export async function verifyPassword(password: string, e: Pick<HtpasswdEntry, 'hash' | 'kind'>): Promise<boolean> {
  switch (e.kind) {
    case 'bcrypt':
      return (await import('bcryptjs')).default.compare(password, e.hash);
    case 'apr1':
      return sameText((await import('apache-md5')).default(password, e.hash), e.hash);
    case 'sha256-crypt':
    case 'sha512-crypt':
      return sameText((await import('unixcrypt')).encrypt(password, e.hash), e.hash);
    case 'sha1':
      return sameText(`{SHA}${createHash('sha1').update(password).digest('base64')}`, e.hash);
    case 'des-crypt':
      // crypt(3) reads 8 characters at most, as Apache's does.
      return sameText((await import('apache-crypt')).default(password, e.hash.slice(0, 2)), e.hash);
    default:
      return false;
  }
}

export type AuthResult = { ok: true; user: string } | { ok: false; reason: string };

export interface HtpasswdOptions {
  /** Told once per unusable entry (and when the file cannot be read). */
  warn(message: string): void;
  /** How often the file's modification time is looked at (ms). */
  statEveryMs?: number;
  now?: () => number;
}

/** A file re-read when its modification time or size changes, looked at most every `statEveryMs`. */
class WatchedFile<T> {
  value: T | undefined;
  private stamp = '';
  private checkedAt = -Infinity;
  private loading: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    private readonly onError: (e: NodeJS.ErrnoException) => void,
    private readonly everyMs: number,
    private readonly now: () => number,
    private readonly onChange: () => void,
  ) {}

  /** What is loaded, a look at the file started in the background when one is due. */
  current(): T | undefined {
    const loading = this.stale();
    // A failed load is reported through onError; nothing is left to catch here.
    loading?.catch(() => undefined);
    return this.value;
  }

  /** Undefined when the loaded value is fresh enough; otherwise the reload under way. */
  stale(): Promise<void> | undefined {
    if (this.loading) return this.loading;
    if (this.value !== undefined && this.now() - this.checkedAt < this.everyMs) return undefined;
    this.loading = this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    this.checkedAt = this.now();
    try {
      const s = await stat(this.path);
      const stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
      if (stamp === this.stamp && this.value !== undefined) return;
      const text = await readFile(this.path, 'utf8');
      this.value = this.parse(text);
      this.stamp = stamp;
      this.onChange();
    } catch (e) {
      this.onError(e as NodeJS.ErrnoException);
      this.value = this.parse('');
      this.stamp = '';
      this.onChange();
    }
  }
}

/**
 * One htpasswd file. `checkSync` answers from what is loaded and verified already (the request
 * path of the lean engine); `check` loads and verifies as needed.
 */
export class HtpasswdFile {
  private readonly file: WatchedFile<Map<string, HtpasswdEntry>>;
  private readonly warned = new Set<string>();
  private readonly verified = new Set<string>();

  constructor(
    readonly path: string,
    private readonly opts: HtpasswdOptions,
  ) {
    this.file = new WatchedFile(
      path,
      (text) => new Map(parseHtpasswd(text).map((e) => [e.user, e])),
      (e) => this.warnOnce(`read:${path}`, `htpasswd file ${path} cannot be read (${e.code ?? e.message}); nobody can log in`),
      opts.statEveryMs ?? 1000,
      opts.now ?? Date.now,
      () => this.changed(),
    );
  }

  private changed(): void {
    this.verified.clear();
    for (const e of this.file.value?.values() ?? []) {
      if (e.kind === 'unknown') this.warnOnce(`hash:${e.user}:${e.hash}`, `htpasswd file ${this.path}: the password of user "${e.user}" is not in a format htpasswd writes (plain text is refused); nobody can log in as "${e.user}"`);
    }
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.warn(message);
  }

  private key(e: HtpasswdEntry, password: string): string {
    return createHash('sha256').update(e.hash).update('\0').update(password).digest('hex');
  }

  /** The answer from what is known now, or undefined when the file or a hash must be looked at. */
  checkSync(cred: { user: string; password: string }): AuthResult | undefined {
    const entries = this.file.current();
    if (entries === undefined) return undefined;
    const e = entries.get(cred.user);
    if (!e) return { ok: false, reason: `unknown user "${cred.user}"` };
    if (e.kind === 'unknown') return { ok: false, reason: `user "${cred.user}" has a password that is not in a format htpasswd writes` };
    return this.verified.has(this.key(e, cred.password)) ? { ok: true, user: cred.user } : undefined;
  }

  async verify(cred: { user: string; password: string }): Promise<AuthResult> {
    await this.file.stale();
    const e = this.file.value!.get(cred.user);
    if (!e) return { ok: false, reason: `unknown user "${cred.user}"` };
    if (e.kind === 'unknown') return { ok: false, reason: `user "${cred.user}" has a password that is not in a format htpasswd writes` };
    const key = this.key(e, cred.password);
    if (this.verified.has(key)) return { ok: true, user: cred.user };
    if (!(await verifyPassword(cred.password, e))) return { ok: false, reason: `wrong password for user "${cred.user}"` };
    if (this.verified.size > 1000) this.verified.clear();
    this.verified.add(key);
    return { ok: true, user: cred.user };
  }

  /** Checks an Authorization header. */
  async check(header: string | undefined): Promise<AuthResult> {
    const cred = parseBasicAuth(header);
    if (!cred) return { ok: false, reason: header ? 'malformed Authorization header' : 'credentials required' };
    return this.verify(cred);
  }
}

/** One AuthGroupFile, re-read when it changes. */
export class GroupFile {
  private readonly file: WatchedFile<Map<string, Set<string>>>;
  private static readonly NONE: ReadonlySet<string> = new Set();

  constructor(
    readonly path: string,
    opts: HtpasswdOptions,
  ) {
    let warned = false;
    this.file = new WatchedFile(
      path,
      parseGroupFile,
      (e) => {
        if (!warned) opts.warn(`group file ${path} cannot be read (${e.code ?? e.message}); no user is in any group`);
        warned = true;
      },
      opts.statEveryMs ?? 1000,
      opts.now ?? Date.now,
      () => undefined,
    );
  }

  /** The user's groups, or undefined when the file must be looked at first. */
  groupsSync(user: string): ReadonlySet<string> | undefined {
    const groups = this.file.current();
    if (groups === undefined) return undefined;
    return groups.get(user) ?? GroupFile.NONE;
  }

  async groups(user: string): Promise<ReadonlySet<string>> {
    await this.file.stale();
    return this.file.value!.get(user) ?? GroupFile.NONE;
  }
}
