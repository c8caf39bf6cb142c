// WebSocket (and any HTTP/1.1 Upgrade) through the balancer: the same sticky pick and failover
// as ordinary requests, then the two sockets are joined.
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import { pickMember } from '../balancer/pick.js';
import type { SiteModel } from '../config/model.js';
import { isConnectError, rawErrorResponse } from './errors.js';
import { downstreamResponseHeaders, memberHostHeader, upstreamRequestHeaders } from './headers.js';
import { rewriteResponseHeaders } from './reverse-rewrite.js';
import { recordOutcome, type RequestInfo } from './request-info.js';
import type { Pools } from './pools.js';

export interface UpgradeContext {
  req: IncomingMessage;
  socket: Socket;
  head: Buffer;
  info: RequestInfo;
  site: SiteModel;
  balancer: BalancerState;
  upstreamTarget: string;
  serverName: string;
  pools: Pools;
}

function headBlock(statusLine: string, headers: string[]): string {
  let s = `${statusLine}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${s}\r\n`;
}

export async function proxyUpgrade(ctx: UpgradeContext): Promise<void> {
  const { balancer, info, socket } = ctx;
  info.balancer = balancer.name;
  const maxAttempts = balancer.maxAttempts();
  let attempts = 0;
  for (;;) {
    if (socket.destroyed) return;
    const out = pickMember(balancer, { target: ctx.req.url ?? '/', cookie: ctx.req.headers.cookie });
    recordOutcome(info, out);
    if (out.kind !== 'member') {
      info.status = 503;
      socket.end(rawErrorResponse(503, out.kind === 'none' ? 'No member of the balancer is available.' : 'The server that holds this session is not available.'));
      return;
    }
    const r = await attempt(ctx, out.member);
    if (r === 'done') return;
    balancer.markFailure(out.member, r);
    if (!out.member.isUsable() && attempts++ < maxAttempts) continue;
    info.status = 503;
    socket.end(rawErrorResponse(503, 'The server could not be reached.'));
    return;
  }
}

/** Resolves 'done', or the cause of a connect failure (then nothing was sent to the client). */
function attempt(ctx: UpgradeContext, member: MemberState): Promise<'done' | string> {
  const { req, socket, head, site, info } = ctx;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (v: 'done' | string) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(v);
      }
    };
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      clientIp: req.socket.remoteAddress ?? '',
      host: req.headers.host,
      upstreamHost: site.preserveHost && req.headers.host ? req.headers.host : memberHostHeader(member),
      serverName: ctx.serverName,
      proto: 'http',
      upgrade: true,
    });
    const lib = member.protocol === 'https:' ? https : http;
    const preq = lib.request({
      host: member.hostname,
      port: member.port,
      method: req.method,
      path: member.basePath + ctx.upstreamTarget,
      headers: headers as unknown as http.OutgoingHttpHeaders,
      agent: false,
      setHost: false,
    });
    let connected = false;
    let timer = setTimeout(() => {
      if (!connected) {
        const e = new Error('connect timeout') as NodeJS.ErrnoException;
        e.code = 'ERR_CONNECT_TIMEOUT';
        preq.destroy(e);
      }
    }, member.model.connectTimeoutMs);
    member.busy++;
    let busy = true;
    const release = () => {
      if (busy) {
        busy = false;
        member.busy--;
      }
    };
    preq.on('socket', (s) =>
      s.once('connect', () => {
        connected = true;
        // The handshake answer gets the member's response timeout, as an ordinary request does;
        // without it a member that accepts and never answers would hold the client forever.
        clearTimeout(timer);
        timer = setTimeout(() => {
          const e = new Error('response timeout') as NodeJS.ErrnoException;
          e.code = 'ERR_UPSTREAM_TIMEOUT';
          preq.destroy(e);
        }, member.model.timeoutMs);
      }),
    );
    preq.on('error', (err: NodeJS.ErrnoException) => {
      release();
      if (!connected && isConnectError(err.code)) {
        settle(`${member.url}: ${err.code}`);
        return;
      }
      if (!settled) {
        if (err.code === 'ERR_UPSTREAM_TIMEOUT') {
          info.status = 504;
          socket.end(rawErrorResponse(504, 'The server did not answer in time.'));
          if (ctx.balancer.model.failontimeout) ctx.balancer.markFailure(member, 'timeout');
        } else {
          info.status = 502;
          socket.end(rawErrorResponse(502, 'The server closed the connection without a complete answer.'));
        }
      }
      settle('done');
    });
    preq.on('response', (pres) => {
      // The member refused the upgrade: pass its answer on and close.
      info.status = pres.statusCode;
      const h = downstreamResponseHeaders(pres.rawHeaders);
      rewriteResponseHeaders(site, h, req.headers.host);
      h.push('Connection', 'close');
      // The body is sent close-delimited (Transfer-Encoding was dropped with the hop-by-hop headers).
      socket.write(headBlock(`HTTP/1.1 ${pres.statusCode} ${pres.statusMessage ?? ''}`, h));
      pres.pipe(socket);
      pres.on('end', () => {
        release();
        socket.end();
      });
      settle('done');
    });
    preq.on('upgrade', (pres, usock: Socket, uhead: Buffer) => {
      info.status = 101;
      const h: string[] = [];
      for (let i = 0; i < pres.rawHeaders.length; i += 2) h.push(pres.rawHeaders[i], pres.rawHeaders[i + 1]);
      rewriteResponseHeaders(site, h, req.headers.host);
      socket.write(headBlock(`HTTP/1.1 101 ${pres.statusMessage || 'Switching Protocols'}`, h));
      if (uhead.length) socket.write(uhead);
      if (head.length) usock.write(head);
      usock.setNoDelay(true);
      socket.setNoDelay(true);
      usock.on('data', (c: Buffer) => (member.bytesFrom += c.length));
      socket.on('data', (c: Buffer) => (member.bytesTo += c.length));
      usock.pipe(socket);
      socket.pipe(usock);
      const end = () => {
        release();
        usock.destroy();
        socket.destroy();
      };
      usock.on('error', end);
      socket.on('error', end);
      usock.on('close', end);
      socket.on('close', end);
      settle('done');
    });
    preq.end();
  });
}
