// Writing text to a plain TCP socket without the Writable stream's bookkeeping. `socket.write`
// runs the Writable state machine (buffer accounting, corking, a callback and an 'afterWrite' tick
// per write) before it reaches the socket's `_writeGeneric`, which hands the string to libuv; for
// the two writes of a proxied request that costs about as much as the rest of the write path.
//
// When the socket's Writable holds nothing and libuv has nothing queued, the text goes straight to
// `_writeGeneric` (the method `socket.write` ends in, kept by Node for net, tls and http2 alike):
// - order: libuv writes one stream's requests in the order they were made, and `uv_try_write`
//   writes only when nothing is queued, so later `socket.write`s (a body, a hand-off to node:http)
//   follow this text; a shutdown (`end()`) waits for queued writes too.
// - backpressure: a write the kernel cannot take at once stays queued in libuv; the next write
//   sees the queue and goes through `socket.write`, whose Writable counts it and reports
//   `writableNeedDrain` / 'drain' as before — one write later than it would have.
// - errors (a reset peer) destroy the socket with the error, as `socket.write`'s callback does.
// Sockets Node does not give these to (TLS, a Node.js without `_writeGeneric`) use `socket.write`.
import net, { type Socket } from 'node:net';

interface DirectSocket {
  connecting: boolean;
  encrypted?: boolean;
  _handle?: { writeQueueSize?: number } | null;
  _writeGeneric(writev: boolean, data: string, encoding: string, cb: (err?: Error | null) => void): void;
}

/** Whether this Node.js has the method `socket.write` ends in. */
export const directWrites = typeof (net.Socket.prototype as unknown as Partial<DirectSocket>)._writeGeneric === 'function';

/**
 * Writes latin1 `text` to `socket` (which must be writable), past the Writable when it can.
 * `failed` is told of a write error (made once per socket by its owner: no closure per write).
 */
export function writeLatin1(socket: Socket, text: string, failed: (err?: Error | null) => void): void {
  const d = socket as unknown as DirectSocket;
  const handle = d._handle;
  if (directWrites && handle && handle.writeQueueSize === 0 && socket.writableLength === 0 && socket.writableCorked === 0 && !d.connecting && d.encrypted !== true) {
    d._writeGeneric(false, text, 'latin1', failed);
    return;
  }
  socket.write(text, 'latin1');
}
