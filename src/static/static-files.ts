// Serving files from a site's static root (DocumentRoot) for paths no ProxyPass rule proxies.
// The file is found here, with every step checked against the root (real paths, so a symlink
// cannot lead out of it); `send` then answers for it: Content-Type, ETag, Last-Modified,
// conditional requests, ranges and HEAD.
import http from 'node:http';
import { promises as fsp, type Stats } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type sendLib from 'send';
import type mimeLib from 'mime-types';

/**
 * send and mime-types (with its media-type database, about 7 MB of memory) are loaded by the
 * first static answer, so that a balancer serving no files does not carry them.
 */
let loaded: Promise<{ send: typeof sendLib; mime: typeof mimeLib }> | undefined;
function libraries(): Promise<{ send: typeof sendLib; mime: typeof mimeLib }> {
  loaded ??= Promise.all([import('send'), import('mime-types')]).then(([s, m]) => ({ send: s.default, mime: m.default }));
  return loaded;
}
import type { SiteModel, StaticModel } from '../config/model.js';
import type { RequestRecord } from '../proxy/core/record.js';
import { errorPage } from '../proxy/errors.js';
import type { Logger } from '../log/logger.js';
import { safeStaticPath } from './safe-path.js';
import { SUFFIX, acceptableEncodings, type Precompressed } from './encoding.js';

export interface StaticFilesOptions {
  logger: Logger;
  /** Directory a relative root is taken from (the config file's directory). */
  baseDir: () => string;
}

/** Where a request led in the file system. */
type Found = { kind: 'file'; file: string } | { kind: 'redirect'; location: string } | { kind: 'none' } | { kind: 'status'; status: number };

function clientOf(req: http.IncomingMessage): string | undefined {
  return req.socket.remoteAddress;
}

function isInside(real: string, root: string): boolean {
  if (real === root) return true;
  return real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Adds a token to a Vary header value unless it is there already. */
function addVary(current: string | number | string[] | undefined, token: string): string {
  const list = (Array.isArray(current) ? current.join(',') : current === undefined ? '' : String(current))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.some((v) => v.toLowerCase() === token.toLowerCase() || v === '*')) list.push(token);
  return list.join(', ');
}

/** A small HTML answer with a status; replaces whatever headers were set except Vary. */
function answer(res: http.ServerResponse, status: number, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) if (name !== 'vary') res.removeHeader(name);
  const body = errorPage(status);
  res.writeHead(status, {
    ...extra,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export class StaticFiles {
  private readonly logger: Logger;
  private readonly baseDir: () => string;
  /** Configured root → its real path (the root may itself be a symlink). */
  private readonly realRoots = new Map<string, Promise<string | undefined>>();

  constructor(opts: StaticFilesOptions) {
    this.logger = opts.logger;
    this.baseDir = opts.baseDir;
  }

  /** For StickyServer.staticHandler. Resolves false when nothing was answered (the caller sends 404). */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse, site: SiteModel, path: string, _record: RequestRecord): Promise<boolean> =>
    site.static ? this.serve(req, res, site.static, path) : Promise.resolve(false);

  /** Forgets cached real roots (after a reload, or when a root was replaced). */
  clearCache(): void {
    this.realRoots.clear();
  }

  /** The root as an absolute path (relative roots are taken from the config's directory). */
  absoluteRoot(root: string): string {
    return isAbsolute(root) ? root : resolve(this.baseDir(), root);
  }

  private realRoot(root: string): Promise<string | undefined> {
    let p = this.realRoots.get(root);
    if (!p) {
      const abs = this.absoluteRoot(root);
      p = fsp.realpath(abs).then(
        (real) => real,
        (e: NodeJS.ErrnoException) => {
          // Not cached: the directory may appear later (a deploy).
          this.realRoots.delete(root);
          this.logger.error({ root: abs, code: e.code }, `static root ${abs} is not usable (${e.code ?? e.message})`);
          return undefined;
        },
      );
      this.realRoots.set(root, p);
    }
    return p;
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse, cfg: StaticModel, path: string): Promise<boolean> {
    const client = clientOf(req);
    const checked = safeStaticPath(path, cfg.dotfiles);
    if (!checked.ok) {
      const fields = { client, path, reason: checked.reason };
      if (checked.escape) this.logger.warn(fields, `static: refused ${JSON.stringify(path)}: ${checked.reason}`);
      else this.logger.info(fields, `static: refused ${JSON.stringify(path)}: ${checked.reason}`);
      if (checked.status === 404) return false;
      answer(res, checked.status);
      return true;
    }
    const root = await this.realRoot(cfg.root);
    if (!root) return false;

    const found = await this.find(root, checked.segments, checked.trailingSlash, cfg, path, req, client);
    if (found.kind === 'none') return false;
    if (found.kind === 'status') {
      answer(res, found.status);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answer(res, 405, { Allow: 'GET, HEAD' });
      return true;
    }
    if (found.kind === 'redirect') {
      answer(res, 301, { Location: found.location });
      return true;
    }

    let file = found.file;
    let encoding: Precompressed | undefined;
    if (cfg.precompressed) {
      // Caches must keep the encodings apart even when this answer is the plain file.
      res.setHeader('Vary', addVary(res.getHeader('Vary'), 'Accept-Encoding'));
      for (const enc of acceptableEncodings(req.headers['accept-encoding'])) {
        const sibling = await this.realFile(found.file + SUFFIX[enc], root);
        if (sibling) {
          file = sibling;
          encoding = enc;
          break;
        }
      }
    }
    return this.send(req, res, root, file, found.file, encoding, cfg);
  }

  /** Finds the file a request names: the file itself, or a directory's index file. */
  private async find(
    root: string,
    segments: string[],
    trailingSlash: boolean,
    cfg: StaticModel,
    path: string,
    req: http.IncomingMessage,
    client: string | undefined,
  ): Promise<Found> {
    const target = join(root, ...segments);
    let real: string;
    let st: Stats;
    try {
      real = await fsp.realpath(target);
      if (!isInside(real, root)) {
        this.logger.warn({ client, path, file: target, real }, `static: refused ${JSON.stringify(path)}: it leads outside the root (to ${real})`);
        return { kind: 'none' };
      }
      st = await fsp.stat(real);
    } catch (e) {
      return this.fsError(e as NodeJS.ErrnoException, path, target, client);
    }
    if (st.isFile()) return trailingSlash ? { kind: 'none' } : { kind: 'file', file: real };
    if (!st.isDirectory()) return { kind: 'none' };
    if (!trailingSlash) {
      // As Apache's DirectorySlash: relative links in the index need the slash.
      const url = req.url ?? '';
      const q = url.indexOf('?');
      return { kind: 'redirect', location: `${path}/${q >= 0 ? url.slice(q) : ''}` };
    }
    for (const name of cfg.index) {
      const index = await this.realFile(join(real, name), root);
      if (index) return { kind: 'file', file: index };
    }
    this.logger.info({ client, path, dir: real }, `static: ${JSON.stringify(path)} is a directory without an index file (listings are off)`);
    return { kind: 'none' };
  }

  /** The real path of a regular file inside the root, or undefined. */
  private async realFile(candidate: string, root: string): Promise<string | undefined> {
    try {
      const real = await fsp.realpath(candidate);
      if (!isInside(real, root)) {
        this.logger.warn({ file: candidate, real }, `static: not serving ${candidate}: it leads outside the root (to ${real})`);
        return undefined;
      }
      return (await fsp.stat(real)).isFile() ? real : undefined;
    } catch {
      return undefined;
    }
  }

  private fsError(e: NodeJS.ErrnoException, path: string, file: string, client: string | undefined): Found {
    const fields = { client, path, file, code: e.code };
    switch (e.code) {
      case 'ENOENT':
      case 'ENOTDIR':
      case 'ENAMETOOLONG':
        this.logger.info(fields, `static: file does not exist: ${file}`);
        return { kind: 'none' };
      case 'ELOOP':
        this.logger.warn(fields, `static: symlink loop at ${file}`);
        return { kind: 'none' };
      case 'EACCES':
      case 'EPERM':
        this.logger.error(fields, `static: permission denied: ${file}`);
        return { kind: 'status', status: 403 };
      default:
        this.logger.error(fields, `static: cannot read ${file}: ${e.message}`);
        return { kind: 'status', status: 500 };
    }
  }

  private async send(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    root: string,
    file: string,
    original: string,
    encoding: Precompressed | undefined,
    cfg: StaticModel,
  ): Promise<boolean> {
    const { send, mime } = await libraries();
    // send wants a URL path below its root; the file is already checked, so encode it back.
    const urlPath = '/' + relative(root, file).split(sep).map(encodeURIComponent).join('/');
    const stream = send(req, urlPath, {
      root,
      dotfiles: 'allow',
      index: false,
      extensions: false,
      etag: true,
      lastModified: true,
      acceptRanges: true,
      cacheControl: cfg.maxAgeMs > 0,
      maxAge: cfg.maxAgeMs,
    });
    return new Promise<boolean>((resolveAnswered) => {
      let settled = false;
      const done = (answered: boolean) => {
        if (settled) return;
        settled = true;
        resolveAnswered(answered);
      };
      if (encoding) {
        stream.on('headers', (r: http.ServerResponse) => {
          r.setHeader('Content-Encoding', encoding);
          r.setHeader('Content-Type', mime.contentType(basename(original)) || 'application/octet-stream');
        });
      }
      stream.on('error', (err: Error & { status?: number; headers?: Record<string, string> }) => {
        const status = err.status ?? 500;
        if (status === 404 && !res.headersSent) {
          // The file went away after it was found; the listener answers 404.
          done(false);
          return;
        }
        if (status >= 500) this.logger.error({ client: clientOf(req), file, err }, `static: error while sending ${file}: ${err.message}`);
        answer(res, status, err.headers ?? {});
        done(true);
      });
      stream.on('directory', () => done(false));
      res.once('finish', () => done(true));
      res.once('close', () => done(true));
      stream.pipe(res);
    });
  }
}
