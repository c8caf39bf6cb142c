// A log destination: a file or stdout, written asynchronously through pino's SonicBoom (lines are
// buffered while a write is in flight, so a slow disk never holds up a request), reopened on
// demand for log rotation, flushed on close.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';

type SonicBoom = ReturnType<typeof pino.destination>;

/** SonicBoom state that its typings leave out. */
interface SonicBoomState {
  fd: number;
  destroyed: boolean;
}

export interface LogWriterOptions {
  /** Called on a write or open error (after the first, at most once a minute). */
  onError?: (err: NodeJS.ErrnoException, writer: LogWriter) => void;
  /** Largest backlog kept in memory when the disk does not keep up, in bytes; more is dropped. */
  maxBuffer?: number;
}

/** Default backlog cap: 64 MiB of lines waiting for a stalled disk. */
const MAX_BUFFER = 64 * 1024 * 1024;

export class LogWriter {
  /** `-` for stdout, else an absolute file name. */
  readonly path: string;
  /** Lines dropped because the backlog was full or the file could not be opened. */
  dropped = 0;
  private readonly boom?: SonicBoom;
  private readonly opened: Promise<void>;
  private failed = false;
  private closed?: Promise<void>;
  /** Bytes handed to SonicBoom, and bytes it reported written or dropped: their difference is pending. */
  private queued = 0;
  private settled = 0;
  private lastErrorAt = 0;
  private readonly onError?: LogWriterOptions['onError'];

  constructor(path: string, opts: LogWriterOptions = {}) {
    this.path = path;
    this.onError = opts.onError;
    const common = { sync: false, minLength: 0, maxLength: opts.maxBuffer ?? MAX_BUFFER };
    let boom: SonicBoom;
    try {
      if (path !== '-') {
        // Opened once here, at start or reload (never on the request path), so a bad path fails
        // clearly and SonicBoom is only given files it can open.
        mkdirSync(dirname(path), { recursive: true });
        closeSync(openSync(path, 'a'));
      }
      boom = path === '-' ? pino.destination({ ...common, dest: 1 }) : pino.destination({ ...common, dest: path, mkdir: true, append: true });
    } catch (e) {
      this.failed = true;
      this.opened = Promise.reject(e);
      this.opened.catch(() => undefined);
      return;
    }
    this.boom = boom;
    this.opened = new Promise<void>((resolveOpen, reject) => {
      if (this.state.fd >= 0) return resolveOpen();
      boom.once('ready', () => resolveOpen());
      boom.once('error', (err: Error) => {
        if (this.state.fd >= 0) return;
        // Never opened (the file went away since the check): give up on it. pino flushes its
        // destinations synchronously at exit, which throws for one that never opened.
        this.failed = true;
        (boom as unknown as SonicBoomState).destroyed = true;
        reject(err);
      });
    });
    this.opened.catch(() => undefined);
    boom.on('error', (err: NodeJS.ErrnoException) => this.reportError(err));
    boom.on('write', (n: number) => {
      this.settled += n;
    });
    boom.on('drop', (data: string) => {
      this.dropped++;
      this.settled += Buffer.byteLength(data);
    });
  }

  private get state(): SonicBoomState {
    return this.boom as unknown as SonicBoomState;
  }

  get isStdout(): boolean {
    return this.path === '-';
  }

  /** Resolves once the file is open; rejects with the open error (for a clear failure at start). */
  ready(): Promise<void> {
    return this.opened;
  }

  /** Queues whole lines (the caller adds the newline); never blocks, never throws. */
  write(text: string): void {
    if (this.closed) return;
    if (this.failed || !this.boom) {
      this.dropped++;
      return;
    }
    this.queued += Buffer.byteLength(text);
    this.boom.write(text);
  }

  /**
   * Opens the file again by name (after logrotate renamed it); resolves once the new file is
   * open. Lines already queued go to whichever file is open when they are written; a line is
   * never split between the two. If the file cannot be opened, writing goes on to the old one.
   */
  reopen(): Promise<void> {
    const boom = this.boom;
    if (this.isStdout || this.closed || this.failed || !boom) return Promise.resolve();
    return new Promise<void>((resolveReopen) => {
      const done = () => {
        boom.off('ready', done);
        boom.off('error', done);
        resolveReopen();
      };
      boom.once('ready', done);
      boom.once('error', done);
      try {
        boom.reopen();
      } catch (e) {
        this.reportError(e as NodeJS.ErrnoException);
        done();
      }
    });
  }

  /** Bytes queued and not yet written. */
  get pending(): number {
    return this.queued - this.settled;
  }

  /** Resolves once everything queued so far is written (the writer stays open). */
  flush(): Promise<void> {
    const boom = this.boom;
    const target = this.queued;
    if (!boom || this.settled >= target || this.state.destroyed) return Promise.resolve();
    return new Promise<void>((resolveFlush) => {
      const check = () => {
        if (this.settled >= target) finish();
      };
      const finish = () => {
        boom.off('write', check);
        boom.off('drop', check);
        boom.off('close', finish);
        boom.off('error', finish);
        resolveFlush();
      };
      // Added after the counting listeners, so the count is current when these run.
      boom.on('write', check);
      boom.on('drop', check);
      boom.once('close', finish);
      boom.once('error', finish);
    });
  }

  /** Writes everything queued, then closes the file (stdout stays open). Idempotent. */
  close(): Promise<void> {
    const boom = this.boom;
    this.closed ??= new Promise<void>((resolveClose) => {
      if (!boom || this.state.destroyed) return resolveClose();
      boom.once('close', () => resolveClose());
      boom.once('error', () => resolveClose());
      boom.end();
    });
    return this.closed;
  }

  private reportError(err: NodeJS.ErrnoException): void {
    const now = Date.now();
    if (now - this.lastErrorAt < 60_000) return;
    this.lastErrorAt = now;
    if (this.onError) this.onError(err, this);
    else process.stderr.write(`stickylb: log ${this.path}: ${err.message}\n`);
  }
}
