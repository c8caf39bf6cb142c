// Reading an accepted connection into one shared buffer, as the member connections do (`onread`
// of net.connect). Node offers `onread` only to sockets it creates for you; an accepted socket
// reads through the Readable stream path: a 64 KB allocation per read, a Buffer, push, 'data' and
// a tick to read more. This switches such a socket, in place, to the mode `onread` gives: the
// socket object, its listeners, counters and server bookkeeping stay as they are.
//
// It uses what `new net.Socket({ onread })` sets up (found on a probe socket, by the names Node
// gives them), and does nothing (returns false, the socket reads as before) where those are not
// found, so a Node.js that changes them falls back to the stream path instead of failing.
import net, { type Socket } from 'node:net';

type ReadCallback = (n: number, buf: Buffer) => boolean | void;

interface Handle {
  reading?: boolean;
  readStop(): number;
  useUserBuffer?(buf: Uint8Array): void;
}

interface Keys {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

function findKeys(): Keys | undefined {
  try {
    // `onread` works in the Socket constructor too, though @types/node declares it for connect only.
    const probe = new net.Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } } as net.SocketConstructorOpts);
    const syms = Object.getOwnPropertySymbols(probe);
    const by = (d: string) => syms.find((s) => s.description === d);
    const keys = { buffer: by('kBuffer'), callback: by('kBufferCb'), generator: by('kBufferGen') };
    probe.destroy();
    const p = probe as unknown as Record<symbol, unknown>;
    if (!keys.buffer || !keys.callback || !keys.generator || p[keys.generator] !== null) return undefined;
    return keys as Keys;
  } catch {
    return undefined;
  }
}

const KEYS = findKeys();

/** Whether this Node.js lets an accepted socket read into a buffer of ours. */
export const userBufferReads = KEYS !== undefined;

/**
 * Makes `socket` read into `buffer`, calling `callback(n, buffer)` for each read instead of
 * emitting 'data' (returning false stops reading until `socket.resume()`). Only for a plain TCP
 * socket with nothing read and buffered yet; returns false (and changes nothing) otherwise.
 * The bytes passed are only valid during the call: whatever is kept must be copied.
 */
export function readIntoBuffer(socket: Socket, buffer: Buffer, callback: ReadCallback): boolean {
  const handle = (socket as unknown as { _handle?: Handle })._handle;
  if (!KEYS || !handle || typeof handle.useUserBuffer !== 'function') return false;
  if ((socket as Socket & { encrypted?: boolean }).encrypted || socket.readableLength > 0 || socket.destroyed || socket.listenerCount('data') > 0 || socket.listenerCount('readable') > 0) return false;
  if (handle.reading === true) {
    handle.reading = false;
    handle.readStop();
  }
  const s = socket as unknown as Record<symbol, unknown>;
  s[KEYS.buffer] = buffer;
  s[KEYS.callback] = callback;
  s[KEYS.generator] = null;
  handle.useUserBuffer(buffer);
  // As a 'data' listener would: read now unless someone paused the socket (net's resume starts
  // reading for a socket in this mode).
  if (socket.readableFlowing !== false) socket.resume();
  return true;
}

/**
 * Gives a socket switched by readIntoBuffer back to readers of 'data' (node:http): each read is
 * copied and pushed into its Readable side, with Readable's backpressure.
 */
export function pushReads(socket: Socket): void {
  if (!KEYS) return;
  const s = socket as unknown as Record<symbol, unknown>;
  if (!s[KEYS.buffer]) return;
  s[KEYS.callback] = (n: number, buf: Buffer) => socket.push(Buffer.from(buf.subarray(0, n)));
}
