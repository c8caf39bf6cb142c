// A log destination: a file or stdout, written asynchronously through pino's SonicBoom (lines are
// buffered while a write is in flight, so a slow disk never holds up a request), reopened on
// demand for log rotation, flushed on close.
import pino from 'pino';

type SonicBoom = ReturnType<typeof pino.destination>;

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
  /** Lines dropped because the backlog was full. */
  dropped = 0;
  private readonly boom: SonicBoom;
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
    this.boom = path === '-' ? pino.destination({ ...common, dest: 1 }) : pino.destination({ ...common, dest: path, mkdir: true, append: true });
    this.boom.on('error', (err: NodeJS.ErrnoException) => this.reportError(err));
    this.boom.on('write', (n: number) => {
      this.settled += n;
    });
    this.boom.on('drop', (data: string) => {
      this.dropped++;
      this.settled += Buffer.byteLength(data);
    });
  }

  /** The underlying stream (pino writes to it directly). */
  get stream(): SonicBoom {
    return this.boom;
  }

  get isStdout(): boolean {
    return this.path === '-';
  }

  /** Resolves once the file is open; rejects with the open error (for a clear failure at start). */
  ready(): Promise<void> {
    if (this.isStdout || (this.boom as unknown as { fd: number }).fd >= 0) return Promise.resolve();
    return new Promise<void>((resolveReady, reject) => {
      const onReady = () => {
        this.boom.off('error', onErr);
        resolveReady();
      };
      const onErr = (err: Error) => {
        this.boom.off('ready', onReady);
        reject(err);
      };
      this.boom.once('ready', onReady);
      this.boom.once('error', onErr);
    });
  }

  /** Queues whole lines (the caller adds the newline); never blocks, never throws. */
  write(text: string): void {
    if (this.closed) return;
    this.queued += Buffer.byteLength(text);
    this.boom.write(text);
  }

  /**
   * Opens the file again by name (after logrotate renamed it). Lines already queued go to
   * whichever file is open when they are written; a line is never split between the two.
   */
  reopen(): void {
    if (this.isStdout || this.closed) return;
    try {
      this.boom.reopen();
    } catch (e) {
      this.reportError(e as NodeJS.ErrnoException);
    }
  }

  /** Bytes queued and not yet written. */
  get pending(): number {
    return this.queued - this.settled;
  }

  /** Resolves once everything queued so far is written (the writer stays open). */
  flush(): Promise<void> {
    const target = this.queued;
    if (this.settled >= target || (this.boom as unknown as { destroyed: boolean }).destroyed) return Promise.resolve();
    return new Promise<void>((resolveFlush) => {
      const check = () => {
        if (this.settled >= target) finish();
      };
      const finish = () => {
        this.boom.off('write', check);
        this.boom.off('drop', check);
        this.boom.off('close', finish);
        this.boom.off('error', finish);
        resolveFlush();
      };
      // Listeners added after the counting ones, so the count is current when they run.
      this.boom.on('write', check);
      this.boom.on('drop', check);
      this.boom.once('close', finish);
      this.boom.once('error', finish);
    });
  }

  /** Writes everything queued, then closes the file (stdout stays open). Idempotent. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolveClose) => {
      const b = this.boom as unknown as { destroyed: boolean };
      if (b.destroyed) return resolveClose();
      this.boom.once('close', () => resolveClose());
      this.boom.once('error', () => resolveClose());
      this.boom.end();
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
