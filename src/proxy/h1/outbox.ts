// Output to one socket, gathered so that a head and a short body (or a chunk and its framing)
// leave in one write: text and small buffers are joined as one latin1 string, large buffers are
// written as they are, without a copy.
//
// Gathered text is written at the end of the event loop's turn (setImmediate), for every outbox
// at once, rather than at once from inside each connection's read callback: the engine reads what
// every ready connection sent, then writes. This is how HAProxy and nginx work through an epoll
// batch, and it costs the kernel less per request on a busy balancer (the peer a write wakes up is
// less often asleep), for a delay of microseconds. Anything that writes to the socket past the
// outbox (end(), a hand-off to node:http) calls flushNow() first, so bytes never change order.
// Text is written past the Writable stream where it can (direct-write.ts).
import type { Socket } from 'node:net';
import { SMALL_BODY } from './latin1.js';
import { writeLatin1 } from './direct-write.js';

/** Gathered text this long is written at once instead of at the end of the turn. */
const EAGER_TEXT = 16_384;

export class Outbox {
  private text = '';
  /** The first `dueLength` characters of `text` were flushed: they leave whatever happens. */
  private dueLength = 0;
  /** Waiting in `due` for the end of the turn. */
  private queued = false;

  constructor(readonly socket: Socket) {}

  /** A direct write failed (a reset peer): the socket goes, with the error, as socket.write's would. */
  private readonly failed = (err?: Error | null): void => {
    if (err) this.socket.destroy(err);
  };

  /** Adds latin1 text (a head, chunk framing). */
  add(s: string): void {
    this.text += s;
  }

  /**
   * Adds body bytes. `borrowed` says `b` is only valid until the caller returns (a member
   * connection's shared read buffer): then it is copied, as short bodies always are.
   */
  addBytes(b: Buffer, borrowed = false): void {
    if (b.length <= SMALL_BODY) {
      this.text += b.latin1Slice(0, b.length);
      return;
    }
    this.flushNow();
    this.socket.write(borrowed ? Buffer.from(b) : b);
  }

  /**
   * Has what was gathered written by the end of this turn; returns true when the socket wants us
   * to wait for 'drain' (its buffer is full from earlier writes; a write at the end of the turn
   * that fills it is seen by the next call, one chunk later).
   */
  flush(): boolean {
    if (this.text.length >= EAGER_TEXT) this.flushNow();
    else if (this.text.length !== 0) {
      this.dueLength = this.text.length;
      if (this.queued) return this.socket.writableNeedDrain;
      this.queued = true;
      due.push(this);
      if (due.length === 1) setImmediate(writeDue);
    }
    return this.socket.writableNeedDrain;
  }

  /** Writes what was gathered now. */
  flushNow(): void {
    if (this.text.length !== 0) {
      const t = this.text;
      this.text = '';
      this.dueLength = 0;
      if (this.socket.writable) writeLatin1(this.socket, t, this.failed);
    }
  }

  /**
   * The socket is about to be destroyed: what was flushed is written now (as it would have been
   * without the wait for the end of the turn), what was gathered since is dropped.
   */
  clear(): void {
    if (this.dueLength < this.text.length) this.text = this.text.slice(0, this.dueLength);
    this.flushNow();
  }

  /** Called by writeDue. */
  writeQueued(): void {
    this.queued = false;
    this.flushNow();
  }
}

/** Outboxes with text to write at the end of this turn. */
let due: Outbox[] = [];

function writeDue(): void {
  const list = due;
  due = [];
  for (let i = 0; i < list.length; i++) list[i].writeQueued();
}
