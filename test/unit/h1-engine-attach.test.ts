// The lean engine takes over node:http's connection handler, which it finds as the only
// 'connection' listener of a fresh server. When it is not there the engine must refuse loudly, at
// start, rather than leave node:http serving the listener in silence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { attachLeanEngine, type ListenerEntry } from '../../src/proxy/h1/engine.js';
import { StickyServer } from '../../src/proxy/server.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { validateConfig } from '../../src/config/validate.js';
import { silentLogger } from '../../src/log/logger.js';

const NOT_FOUND = /engine: lean cannot serve the listener 127\.0\.0\.1:0: node:http's connection handler was not found/;

function stickyServer(): StickyServer {
  const config = validateConfig({
    listen: ['127.0.0.1:0'],
    engine: 'lean',
    balancers: { c: { members: [{ url: 'http://127.0.0.1:9', route: 'first' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
  return new StickyServer({ config, runtime: new RuntimeState(config), logger: silentLogger() });
}

function entry(server: http.Server): ListenerEntry {
  return { server, listener: { host: '127.0.0.1', port: 0 }, sites: [] };
}

test('a fresh server: node:http’s only connection listener is replaced by the engine’s', () => {
  const server = http.createServer();
  const [nodeListener] = server.listeners('connection');
  assert.equal(typeof nodeListener, 'function');
  attachLeanEngine(stickyServer(), entry(server));
  const after = server.listeners('connection');
  assert.equal(after.length, 1);
  assert.notEqual(after[0], nodeListener);
});

test('no connection listener at all: attach throws with the reason', () => {
  const server = http.createServer();
  server.removeAllListeners('connection');
  assert.throws(() => attachLeanEngine(stickyServer(), entry(server)), (e: Error) => {
    assert.match(e.message, NOT_FOUND);
    assert.match(e.message, /found 0\)/);
    assert.match(e.message, /set engine: node/);
    return true;
  });
});

test('another connection listener beside node:http’s: attach throws rather than guess', () => {
  const server = http.createServer();
  server.on('connection', () => undefined);
  assert.throws(() => attachLeanEngine(stickyServer(), entry(server)), (e: Error) => {
    assert.match(e.message, NOT_FOUND);
    assert.match(e.message, /found 2\)/);
    return true;
  });
  // Nothing was taken over: both listeners are still there.
  assert.equal(server.listeners('connection').length, 2);
});

test('a listener that would run once only is not node:http’s: attach throws', () => {
  const server = http.createServer();
  const [nodeListener] = server.listeners('connection') as ((...a: unknown[]) => void)[];
  server.removeAllListeners('connection');
  server.once('connection', nodeListener);
  assert.throws(() => attachLeanEngine(stickyServer(), entry(server)), NOT_FOUND);
});

test('the listen of an engine: lean balancer rejects with the message', async () => {
  // Stand in for a node:http whose servers do not carry the handler the engine looks for.
  const createServer = http.createServer;
  http.createServer = ((...args: Parameters<typeof http.createServer>) => {
    const server = createServer(...args);
    server.prependListener('connection', () => undefined);
    return server;
  }) as typeof http.createServer;
  const sticky = stickyServer();
  try {
    await assert.rejects(sticky.listen(), NOT_FOUND);
  } finally {
    http.createServer = createServer;
    await sticky.close(0);
  }
  // With node:http as it is, the same balancer starts.
  const ok = stickyServer();
  const [address] = await ok.listen();
  assert.ok(address.port > 0);
  await ok.close(0);
});
