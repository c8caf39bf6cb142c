// What happens to a connection before any byte of it is read as HTTP (or TLS): its PROXY header
// is read on listeners that take the PROXY protocol, and the connection limits (in total and per
// client address) are applied to the address it gives. Installed on a listener's server last,
// just before it listens: every 'connection' listener it has then (node:http's, the lean
// engine's, the server's own bookkeeping) runs only for the connections let through.
import type { Server, Socket } from 'node:net';
import { inNet, parseIp, parseNet, type Net } from '../edge/ip-match.js';
import type { ConfigModel, ListenerModel } from '../config/model.js';
import type { Edge } from '../edge/gate.js';
import { LogThrottle } from '../edge/conn-limit.js';
import type { Logger } from '../log/logger.js';
import { rawErrorResponse } from './errors.js';
import { plainAddress } from './node-record.js';
import { preReadProxyHeader, proxiedAddressOf } from './proxy-protocol.js';

export interface GuardOptions {
  config(): ConfigModel;
  edge: Edge;
  logger(): Logger;
  listener: ListenerModel;
  /** Plain-HTTP listeners answer a refused connection with a 503; others only close it. */
  plainHttp: boolean;
}

const listCache = new WeakMap<readonly string[], Net[]>();

function inList(nets: readonly string[], addr: string): boolean {
  if (!nets.length) return false;
  let l = listCache.get(nets);
  if (!l) listCache.set(nets, (l = nets.map((n) => parseNet(n)).filter((n): n is Net => n !== undefined)));
  const ip = parseIp(addr);
  return ip !== undefined && l.some((n) => inNet(ip, n));
}

/** True when the listener reads a PROXY header first. */
export function speaksProxyProtocol(config: ConfigModel, l: ListenerModel): boolean {
  const pp = config.edge.proxyProtocol;
  return pp.all || pp.listeners.some((x) => x.port === l.port && (x.host === undefined || l.host === undefined || x.host === l.host));
}

/** Puts the PROXY header reader and the connection limits in front of `server`'s connections. */
export function guardConnections(server: Server, o: GuardOptions): void {
  const inner = server.listeners('connection') as ((s: Socket) => void)[];
  server.removeAllListeners('connection');
  const seen = new WeakSet<Socket>();
  const throttle = new LogThrottle();
  const pass = (s: Socket, preRead: boolean) => {
    seen.add(s);
    for (const l of inner) l.call(server, s);
    // The PROXY reader paused the socket (with what followed the header put back): the
    // listeners read on from there.
    if (preRead) s.resume();
  };
  const counters = o.edge.counters;

  const refuse = (s: Socket, addr: string, verdict: 'total' | 'client') => {
    const e = o.config().edge;
    if (verdict === 'total') counters.connectionsRefusedTotal++;
    else counters.connectionsRefusedPerClient++;
    if (throttle.due(`${verdict}:${verdict === 'total' ? '' : addr}`, Date.now())) {
      const what = verdict === 'total' ? `all ${e.maxConnections} connections (maxConnections) are in use` : `${addr} has ${e.maxConnectionsPerClient} connections open already (maxConnectionsPerClient)`;
      o.logger().warn({ client: addr, limit: verdict }, `refused a connection from ${addr}: ${what}; said once a minute per client`);
    }
    s.on('error', () => s.destroy());
    if (o.plainHttp && s.writable) {
      s.end(rawErrorResponse(503, 'Too many connections; try again later.'));
      s.destroySoon();
    } else s.destroy();
  };

  const admit = (s: Socket, addr: string, preRead: boolean) => {
    const e = o.config().edge;
    if (e.maxConnections > 0 || e.maxConnectionsPerClient > 0) {
      const verdict = o.edge.connections.tryOpen(addr, e.maxConnections, e.maxConnectionsPerClient, inList(e.declaredProxies, addr));
      if (verdict instanceof Promise) {
        // Worker processes: the limit is near and the owner decides. Nothing is read meanwhile.
        s.pause();
        s.on('error', () => s.destroy());
        void verdict.then((v) => {
          if (v !== 'ok') return refuse(s, addr, v);
          // The client may have gone while it waited: its count goes with it.
          if (s.closed) return o.edge.connections.close(addr);
          s.once('close', () => o.edge.connections.close(addr));
          if (!s.destroyed) pass(s, true);
        });
        return;
      }
      if (verdict !== 'ok') return refuse(s, addr, verdict);
      s.once('close', () => o.edge.connections.close(addr));
    }
    pass(s, preRead);
  };

  server.on('connection', (s: Socket) => {
    // A connection handed back to the server (an Upgrade sent on as a plain request) is let
    // through as it is.
    if (seen.has(s)) {
      for (const l of inner) l.call(server, s);
      return;
    }
    const config = o.config();
    const peer = plainAddress(s.remoteAddress) ?? '';
    if (!speaksProxyProtocol(config, o.listener) || inList(config.edge.proxyProtocolExceptions, peer)) {
      admit(s, peer, false);
      return;
    }
    preReadProxyHeader(s, {
      timeoutMs: config.edge.proxyProtocolTimeoutMs,
      done: (err) => {
        if (err !== undefined) {
          counters.proxyProtocolRefused++;
          if (throttle.due(`pp:${peer}`, Date.now())) o.logger().warn({ client: peer }, `closed a connection from ${peer} without reading it: ${err}; said once a minute per address`);
          return;
        }
        admit(s, proxiedAddressOf(s)?.address ?? peer, true);
      },
    });
  });
}
