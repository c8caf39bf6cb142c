// HTTP basic auth against an htpasswd file. Only bcrypt entries (`htpasswd -B`, `$2y$`) are
// accepted: the MD5 (`$apr1$`), SHA-1 (`{SHA}`), crypt and plain forms are too weak to guard a
// manager that can take members out of service, so they are refused with a log line naming them.
import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

export interface HtpasswdEntry {
  user: string;
  hash: string;
  /** Set when the hash is not bcrypt: what it looks like, for the log. */
  refused?: string;
}

/** The hash type of an htpasswd entry, in words. */
export function hashType(hash: string): 'bcrypt' | string {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('$apr1$')) return 'MD5 ($apr1$)';
  if (hash.startsWith('{SHA}')) return 'SHA-1 ({SHA})';
  if (hash.startsWith('$5$')) return 'SHA-256 crypt ($5$)';
  if (hash.startsWith('$6$')) return 'SHA-512 crypt ($6$)';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return 'DES crypt';
  return 'plain text or unknown';
}

/** Pure: parses htpasswd text (`user:hash` lines, `#` comments). */
export function parseHtpasswd(text: string): HtpasswdEntry[] {
  const out: HtpasswdEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const colon = l.indexOf(':');
    if (colon <= 0) continue;
    const user = l.slice(0, colon);
    const hash = l.slice(colon + 1);
    const type = hashType(hash);
    out.push(type === 'bcrypt' ? { user, hash } : { user, hash, refused: type });
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

export type AuthResult = { ok: true; user: string } | { ok: false; reason: string };

export interface HtpasswdOptions {
  /** Told once per refused entry (and when the file cannot be read). */
  warn(message: string): void;
}

/**
 * One htpasswd file, re-read when it changes. Successful checks are remembered (by a digest of
 * hash and password) so the page's polling does not pay bcrypt's cost on every request.
 */
export class HtpasswdFile {
  private entries = new Map<string, HtpasswdEntry>();
  private mtimeMs = -1;
  private readonly warned = new Set<string>();
  private readonly verified = new Set<string>();

  constructor(
    readonly path: string,
    private readonly opts: HtpasswdOptions,
  ) {}

  private async refresh(): Promise<void> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(this.path)).mtimeMs;
    } catch (e) {
      this.warnOnce(`read:${this.path}`, `htpasswd file ${this.path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nobody can log in`);
      this.entries.clear();
      this.mtimeMs = -1;
      return;
    }
    if (mtimeMs === this.mtimeMs) return;
    const text = await readFile(this.path, 'utf8');
    this.entries = new Map(parseHtpasswd(text).map((e) => [e.user, e]));
    this.mtimeMs = mtimeMs;
    this.verified.clear();
    for (const e of this.entries.values()) {
      if (e.refused) {
        this.warnOnce(`hash:${e.user}:${e.hash}`, `htpasswd file ${this.path}: user "${e.user}" has a ${e.refused} password hash, which is refused; only bcrypt is accepted (create it with htpasswd -B)`);
      }
    }
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.warn(message);
  }

  async check(header: string | undefined): Promise<AuthResult> {
    const cred = parseBasicAuth(header);
    if (!cred) return { ok: false, reason: header ? 'malformed Authorization header' : 'credentials required' };
    await this.refresh();
    const e = this.entries.get(cred.user);
    if (!e) return { ok: false, reason: `unknown user "${cred.user}"` };
    if (e.refused) return { ok: false, reason: `user "${cred.user}" has a ${e.refused} password hash; only bcrypt is accepted` };
    const key = createHash('sha256').update(e.hash).update('\0').update(cred.password).digest('hex');
    if (this.verified.has(key)) return { ok: true, user: cred.user };
    const good = await bcrypt.compare(cred.password, e.hash);
    if (!good) return { ok: false, reason: `wrong password for user "${cred.user}"` };
    if (this.verified.size > 1000) this.verified.clear();
    this.verified.add(key);
    return { ok: true, user: cred.user };
  }
}
