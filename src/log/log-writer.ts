// A log destination: a file or stdout, written asynchronously through pino's SonicBoom (lines are
// buffered while a write is in flight, so a slow disk never holds up a request), reopened on
// demand for log rotation, flushed on close.
import cluster from 'node:cluster';
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

/** What a pipe writes in one piece (Linux, POSIX minimum 512). */
const PIPE_BUF = 4096;

/** Default backlog cap: 64 MiB of lines waiting for a stalled disk. */
const MAX_BUFFER = 64 * 1024 * 1024;

/** One SonicBoom and its byte accounting: queued minus settled is what is still pending. */
class Sink {
  queued = 0;
  settled = 0;
  dropped = 0;

  constructor(readonly boom: SonicBoom) {
    boom.on('write', (n: number) => {
      this.settled += n;
    });
    boom.on('drop', (data: string) => {
      this.dropped++;
      this.settled += Buffer.byteLength(data);
    });
  }

  get state(): SonicBoomState {
    return this.boom as unknown as SonicBoomState;
  }

  write(text: string): void {
    this.queued += Buffer.byteLength(text);
    this.boom.write(text);
  }
}

/**
 * Every log on stdout shares one sink: two streams writing to one pipe from the thread pool could
 * interleave the halves of a long write.
 */
let stdoutSink: Sink | undefined;

function stdout(maxLength: number): Sink {
  // Worker processes share the owner's stdout: a pipe keeps a write of up to 4 KiB (PIPE_BUF)
  // whole, so their lines never mix.
  stdoutSink ??= new Sink(pino.destination({ sync: false, minLength: 0, maxLength, dest: 1, ...(cluster.isWorker ? { maxWrite: PIPE_BUF } : {}) }));
  return stdoutSink;
}

export class LogWriter {
  /** `-` for stdout, else an absolute file name. */
  readonly path: string;
  private readonly sink?: Sink;
  private readonly opened: Promise<void>;
  private failed = false;
  private droppedHere = 0;
  private closed?: Promise<void>;
  private lastErrorAt = 0;
  private readonly onError?: LogWriterOptions['onError'];
  private readonly errorListener = (err: NodeJS.ErrnoException) => this.reportError(err);

  constructor(path: string, opts: LogWriterOptions = {}) {
    this.path = path;
    this.onError = opts.onError;
    const maxLength = opts.maxBuffer ?? MAX_BUFFER;
    let sink: Sink;
    try {
      if (path === '-') sink = stdout(maxLength);
      else {
        // Opened once here, at start or reload (never on the request path), so a bad path fails
        // clearly and SonicBoom is only given files it can open.
        mkdirSync(dirname(path), { recursive: true });
        closeSync(openSync(path, 'a'));
        sink = new Sink(pino.destination({ sync: false, minLength: 0, maxLength, dest: path, mkdir: true, append: true }));
      }
    } catch (e) {
      this.failed = true;
      this.opened = Promise.reject(e);
      this.opened.catch(() => undefined);
      return;
    }
    this.sink = sink;
    const boom = sink.boom;
    this.opened = new Promise<void>((resolveOpen, reject) => {
      if (sink.state.fd >= 0) return resolveOpen();
      boom.once('ready', () => resolveOpen());
      boom.once('error', (err: Error) => {
        if (sink.state.fd >= 0) return;
        // Never opened (the file went away since the check): give up on it. pino flushes its
        // destinations synchronously at exit, which throws for one that never opened.
        this.failed = true;
        sink.state.destroyed = true;
        reject(err);
      });
    });
    this.opened.catch(() => undefined);
    boom.on('error', this.errorListener);
  }

  get isStdout(): boolean {
    return this.path === '-';
  }

  /** Lines dropped: the backlog was full, or the file could not be opened. */
  get dropped(): number {
    return this.droppedHere + (this.sink?.dropped ?? 0);
  }

  /** Resolves once the file is open; rejects with the open error (for a clear failure at start). */
  ready(): Promise<void> {
    return this.opened;
  }

  /** Queues whole lines (the caller adds the newline); never blocks, never throws. */
  write(text: string): void {
    if (this.closed) return;
    if (this.failed || !this.sink) {
      this.droppedHere++;
      return;
    }
    this.sink.write(text);
  }

  /**
   * Opens the file again by name (after logrotate renamed it); resolves once the new file is
   * open. Lines already queued go to whichever file is open when they are written; a line is
   * never split between the two. If the file cannot be opened, writing goes on to the old one.
   */
  reopen(): Promise<void> {
    const boom = this.sink?.boom;
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

  /** Bytes queued and not yet written (for stdout: by any log). */
  get pending(): number {
    return this.sink ? this.sink.queued - this.sink.settled : 0;
  }

  /** Resolves once everything queued so far is written (the writer stays open). */
  flush(): Promise<void> {
    const sink = this.sink;
    if (!sink) return Promise.resolve();
    const boom = sink.boom;
    const target = sink.queued;
    if (sink.settled >= target || sink.state.destroyed) return Promise.resolve();
    return new Promise<void>((resolveFlush) => {
      const check = () => {
        if (sink.settled >= target) finish();
      };
      const finish = () => {
        boom.off('write', check);
        boom.off('drop', check);
        boom.off('close', finish);
        boom.off('error', finish);
        resolveFlush();
      };
      // Added after the sink's counting listeners, so the count is current when these run.
      boom.on('write', check);
      boom.on('drop', check);
      boom.once('close', finish);
      boom.once('error', finish);
    });
  }

  /** Writes everything queued, then closes the file (stdout is only flushed). Idempotent. */
  close(): Promise<void> {
    const sink = this.sink;
    this.closed ??= new Promise<void>((resolveClose) => {
      if (!sink || sink.state.destroyed) return resolveClose();
      const boom = sink.boom;
      const finish = () => {
        boom.off('error', this.errorListener);
        resolveClose();
      };
      if (this.isStdout) {
        void this.flush().then(finish);
        return;
      }
      boom.once('close', finish);
      boom.once('error', finish);
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
