// direct-write.ts on real sockets: text written past the Writable arrives in order with what
// socket.write sends around it, is counted in bytesWritten, keeps backpressure when the peer stops
// reading, and a reset peer destroys the socket with the error instead of throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { directWrites, writeLatin1 } from '../../src/proxy/h1/direct-write.js';
import { until } from '../helpers/http.js';

/** A connected pair: `local` is ours to write, `peer` is the accepted end. */
async function pair(): Promise<{ local: Socket; peer: Socket; close: () => Promise<void> }> {
  let peer: Socket | undefined;
  const server = net.createServer((s) => (peer = s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const local = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(local, 'connect');
  await until(() => peer !== undefined, 'accepted');
  return {
    local,
    peer: peer!,
    close: async () => {
      local.destroy();
      peer!.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** What the outbox passes: a failed write destroys the socket with the error. */
const destroyOnError = (s: Socket) => (err?: Error | null) => {
  if (err) s.destroy(err);
};

test('this Node.js offers the direct write path', () => {
  // The lean engine's fast path: on Node 20 it must be taken, not silently skipped.
  assert.equal(directWrites, true);
});

test('direct writes and socket.write arrive in the order they were made, and are counted', async () => {
  const p = await pair();
  try {
    let got = '';
    p.peer.setEncoding('latin1');
    p.peer.on('data', (d: string) => (got += d));
    const big = Buffer.alloc(200_000, 'b');
    const expected: string[] = [];
    for (let i = 0; i < 50; i++) {
      const t = `head ${i} ${'\u00e9'.repeat(i)}\r\n`;
      writeLatin1(p.local, t, destroyOnError(p.local));
      expected.push(t);
      if (i % 10 === 5) {
        // A large buffer fills the kernel's send buffer: the text after it must wait its turn.
        p.local.write(big);
        expected.push(big.latin1Slice());
      }
    }
    const all = expected.join('');
    await until(() => got.length >= all.length, 'all bytes');
    assert.equal(got, all);
    assert.equal(p.local.bytesWritten, Buffer.byteLength(all, 'latin1'));
  } finally {
    await p.close();
  }
});

test('a peer that stops reading turns on backpressure: writableNeedDrain, then drain once it reads', async () => {
  const p = await pair();
  try {
    p.peer.pause();
    const chunk = 'x'.repeat(8192);
    let written = 0;
    // The kernel takes a few hundred kB; after that, writes queue and the Writable must say so.
    while (!p.local.writableNeedDrain && written < 64 * 1024 * 1024) {
      writeLatin1(p.local, chunk, destroyOnError(p.local));
      written += chunk.length;
    }
    assert.equal(p.local.writableNeedDrain, true, 'backpressure reported');
    let received = 0;
    p.peer.on('data', (d: Buffer) => (received += d.length));
    const drained = once(p.local, 'drain');
    p.peer.resume();
    await drained;
    await until(() => received === written, 'every byte delivered');
  } finally {
    await p.close();
  }
});

test('a write to a reset peer destroys the socket with the error; nothing is thrown', async () => {
  const p = await pair();
  try {
    const errors: Error[] = [];
    p.local.on('error', (e) => errors.push(e));
    p.peer.resetAndDestroy();
    await once(p.peer, 'close');
    // The first write after the reset may still be taken by the kernel; keep writing until the
    // reset is seen.
    await until(() => {
      if (!p.local.destroyed) writeLatin1(p.local, 'after the reset\r\n', destroyOnError(p.local));
      return p.local.destroyed;
    }, 'socket destroyed by the failed write');
    await until(() => errors.length === 1, 'one error event');
    assert.match((errors[0] as NodeJS.ErrnoException).code ?? '', /^(EPIPE|ECONNRESET)$/);
  } finally {
    await p.close();
  }
});
