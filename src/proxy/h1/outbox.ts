// Output to one socket, gathered so that a head and a short body (or a chunk and its framing)
// leave in one write: text and small buffers are joined as one latin1 string, large buffers are
// written as they are, without a copy.
import type { Socket } from 'node:net';
import { SMALL_BODY } from './latin1.js';

export class Outbox {
  private text = '';

  constructor(readonly socket: Socket) {}

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
    if (this.text.length) {
      this.socket.write(this.text, 'latin1');
      this.text = '';
    }
    this.socket.write(borrowed ? Buffer.from(b) : b);
  }

  /** Writes what was gathered; returns true when the socket wants us to wait for 'drain'. */
  flush(): boolean {
    if (this.text.length) {
      this.socket.write(this.text, 'latin1');
      this.text = '';
    }
    return this.socket.writableNeedDrain;
  }

  /** Drops what was gathered (the socket is being destroyed). */
  clear(): void {
    this.text = '';
  }
}
