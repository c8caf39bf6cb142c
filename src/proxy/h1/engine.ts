// The lean HTTP/1.1 engine (`engine: lean`): it takes over the connections of a listener's
// node:http server before node:http parses anything, forwards proxied requests itself over
// pooled `net` connections, and hands every other connection to node:http with the bytes it
// already read. The server object, its sockets, stats and events stay those of StickyServer.
import os from 'node:os';
import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import type { ListenerModel, SiteModel } from '../../config/model.js';
import type { StickyServer } from '../server.js';
import { LeanPools } from './pool.js';
import { ServerConn } from './server-conn.js';
import { sweepTickMs } from '../../util/sweep-tick.js';

/** A listener as StickyServer keeps it: the sites are replaced on reload. */
export interface ListenerEntry {
  /** node:http's server of the listener (an https.Server on a TLS listener). */
  server: http.Server | https.Server;
  listener: ListenerModel;
  sites: SiteModel[];
}

export class LeanEngine {
  readonly pools = new LeanPools();
  /** Client connections the lean engine serves. */
  readonly conns = new Set<ServerConn>();
  /** A coarse clock (ms), set on every tick: enough for keep-alive and head timeouts. */
  now = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private tickMs = 0;
  /** ServerName of requests whose site has none (as the node engine: from the first config). */
  readonly serverName: string;
  private dateText = '';
  private dateUntil = 0;
  private keepAliveText = '';
  private keepAliveMs = -1;

  constructor(readonly server: StickyServer) {
    this.serverName = server.config.sites[0]?.serverName ?? os.hostname();
    server.on('reload', () => {
      const ids = new Set<string>();
      for (const b of server.runtime.balancers.values()) for (const m of b.members) ids.add(m.id);
      this.pools.retain(ids);
      this.startClock();
    });
    server.on('closed', () => {
      clearInterval(this.timer);
      this.pools.destroy();
    });
    this.startClock();
  }

  /** Ticks often enough for the keep-alive timeout (a quarter of it, 50 ms to 1 s). */
  private startClock(): void {
    const ms = sweepTickMs(this.server.config.keepAliveTimeoutMs);
    if (ms === this.tickMs) return;
    this.tickMs = ms;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), ms);
    this.timer.unref();
  }

  private tick(): void {
    const now = (this.now = Date.now());
    const config = this.server.config;
    const keepAliveMs = config.keepAliveTimeoutMs;
    const headersMs = Math.min(config.timeoutMs, 60_000);
    for (const c of this.conns) c.sweep(now, keepAliveMs, headersMs, config.edge.readTimeout);
  }

  /**
   * Takes over the connections of one listener's node:http server. Call it on a server fresh from
   * http.createServer, before anyone else listens for 'connection': node:http's own connection
   * handler is then the one and only 'connection' listener, and it is found by that, not by its
   * internal function name. Throws when it cannot be found: `engine: lean` must never fall back to
   * node:http without a word.
   */
  attach(entry: ListenerEntry): void {
    const nodeListener = takeNodeHandler(entry, 'connection');
    entry.server.prependListener('connection', this.handler(entry, nodeListener));
  }

  /**
   * The engine's handler of a listener's HTTP/1.1 connections (plain, or TLS once decrypted): it
   * serves what it can and hands the rest to `nodeListener`, node:http's own handler.
   */
  handler(entry: ListenerEntry, nodeListener: (socket: Socket) => void): (socket: Socket) => void {
    return (socket: Socket) => {
      new ServerConn(this, entry, socket, nodeListener);
    };
  }

  /** The Date line, computed at most once a second. */
  dateLine(): string {
    const now = Date.now();
    if (now >= this.dateUntil) {
      this.dateText = `Date: ${new Date(now).toUTCString()}\r\n`;
      this.dateUntil = now - (now % 1000) + 1000;
    }
    return this.dateText;
  }

  /** Connection and Keep-Alive lines, as node:http writes them for keep-alive answers. */
  keepAliveLines(): string {
    const ms = this.server.config.keepAliveTimeoutMs;
    if (ms !== this.keepAliveMs) {
      this.keepAliveMs = ms;
      this.keepAliveText = ms > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(ms / 1000)}\r\n` : 'Connection: keep-alive\r\n';
    }
    return this.keepAliveText;
  }
}

/**
 * Takes node:http's connection handler off a listener's fresh server: the only listener of
 * `event` ('connection' on an http.Server, 'secureConnection' on an https.Server), found by that
 * and not by its internal function name. Throws when it is not there: `engine: lean` must never
 * fall back to node:http without a word, and the node engine needs the handler as much.
 */
export function takeNodeHandler(entry: ListenerEntry, event: 'connection' | 'secureConnection'): (socket: Socket) => void {
  const server = entry.server;
  const listeners = server.listeners(event);
  const nodeListener = listeners[0] as ((socket: Socket) => void) | undefined;
  // Exactly one, a plain function, and not a once() wrapper: anything else is not the server
  // node:http made, and taking the wrong listener would lose connections.
  if (listeners.length !== 1 || typeof nodeListener !== 'function' || server.rawListeners(event)[0] !== nodeListener) {
    const where = `${entry.listener.host ?? '*'}:${entry.listener.port}`;
    throw new Error(
      `engine: lean cannot serve the listener ${where}: node:http's connection handler was not found ` +
        `(expected exactly one '${event}' listener on a new ${event === 'connection' ? 'http' : 'https'}.Server, found ${listeners.length}) on Node.js ${process.version}. ` +
        "Something else has changed the server's connection listeners; set engine: node to serve with node:http alone.",
    );
  }
  server.removeListener(event, nodeListener);
  return nodeListener;
}

/** The lean engine of a StickyServer (one per server, made when first asked for). */
export function leanEngine(server: StickyServer): LeanEngine {
  let e = engines.get(server);
  if (!e) {
    e = new LeanEngine(server);
    engines.set(server, e);
  }
  return e;
}

const engines = new WeakMap<StickyServer, LeanEngine>();

/**
 * Puts the lean engine in front of a listener's node:http server (server.ts calls this when the
 * config says `engine: lean`, before the server listens). Throws when node:http's connection
 * handler cannot be found, so the listen fails at start with the reason (`stickylb run` prints it)
 * instead of node:http serving the listener in silence.
 */
export function attachLeanEngine(server: StickyServer, entry: ListenerEntry): void {
  leanEngine(server).attach(entry);
}
