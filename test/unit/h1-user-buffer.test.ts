// user-buffer.ts on real accepted sockets: reads land in our buffer (no 'data'), pause and resume
// stop and start them, 'end' still comes, a socket given back to 'data' readers gets copies, and
// a socket with bytes already buffered is left as it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { pushReads, readIntoBuffer, userBufferReads } from '../../src/proxy/h1/user-buffer.js';
import { until } from '../helpers/http.js';

/** A server whose first accepted socket is given to `onSocket`; returns the client side. */
async function pair(onSocket: (s: Socket) => void): Promise<{ client: Socket; close: () => Promise<void> }> {
  const server = net.createServer((s) => onSocket(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  return {
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('this Node.js lets accepted sockets read into a buffer of ours', () => {
  // The lean engine's fast path: on Node 20 it must be taken, not silently skipped.
  assert.equal(userBufferReads, true);
});

test('reads land in the buffer, not in data events; pause and resume hold them back; end still comes', async () => {
  const buf = Buffer.alloc(1024);
  const got: string[] = [];
  let server: Socket | undefined;
  let switched = false;
  let ended = false;
  const p = await pair((s) => {
    server = s;
    switched = readIntoBuffer(s, buf, (n, b) => void got.push(b.latin1Slice(0, n)));
    s.on('end', () => (ended = true));
  });
  try {
    await until(() => server !== undefined, 'accepted');
    assert.equal(switched, true);
    assert.equal(server!.listenerCount('data'), 0);
    p.client.write('hello');
    await until(() => got.join('') === 'hello', 'first read');
    server!.pause();
    p.client.write('held');
    // While paused nothing is read; a later write and the resume bring both.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.join(''), 'hello');
    server!.resume();
    await until(() => got.join('') === 'helloheld', 'read after resume');
    assert.equal(server!.bytesRead, 9);
    p.client.end();
    await until(() => ended, "'end' after the client's FIN");
  } finally {
    await p.close();
  }
});

test('pushReads gives the socket back to data readers, with copies of each read', async () => {
  const buf = Buffer.alloc(1024);
  const chunks: Buffer[] = [];
  let server: Socket | undefined;
  const p = await pair((s) => {
    server = s;
    assert.equal(readIntoBuffer(s, buf, () => true), true);
    pushReads(s);
    s.on('data', (c: Buffer) => chunks.push(c));
  });
  try {
    await until(() => server !== undefined, 'accepted');
    p.client.write('one');
    await until(() => Buffer.concat(chunks).toString() === 'one', 'first data event');
    p.client.write('two');
    await until(() => Buffer.concat(chunks).toString() === 'onetwo', 'second data event');
    // Copies: the shared buffer being overwritten does not change what was delivered.
    buf.fill(0x78);
    assert.equal(Buffer.concat(chunks).toString(), 'onetwo');
  } finally {
    await p.close();
  }
});

test('a socket with bytes already buffered, or read by data listeners, is left as it is', async () => {
  const buf = Buffer.alloc(1024);
  const results: boolean[] = [];
  const p = await pair((s) => {
    s.unshift(Buffer.from('already read'));
    results.push(readIntoBuffer(s, buf, () => true));
    s.read();
    s.on('data', () => {});
    results.push(readIntoBuffer(s, buf, () => true));
  });
  try {
    await until(() => results.length === 2, 'accepted');
    assert.deepEqual(results, [false, false]);
  } finally {
    await p.close();
  }
});
