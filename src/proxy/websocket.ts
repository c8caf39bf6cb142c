// The WebSocket transport: an HTTP/1.1 Upgrade request through the balancer. The failover core
// (core/failover.ts) picks, waits out the balancer timeout, fails over and settles, exactly as for
// any other request; this file makes the handshake request, relays a refusal, or joins the two
// sockets once the member switched protocols.
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { SiteModel } from '../config/model.js';
import { Failover, type Step } from './core/failover.js';
import type { RequestRecord } from './core/record.js';
import { DONE, runFailover, type AttemptResult } from './core/run.js';
import { type ProxyError, rawErrorResponse } from './errors.js';
import { memberHeaders } from './headers.js';
import { answerPairs } from './member-request.js';
import { rewriteResponseHeaders } from './reverse-rewrite.js';

export interface UpgradeContext {
  req: IncomingMessage;
  socket: Socket;
  head: Buffer;
  record: RequestRecord;
  site: SiteModel;
  balancer: BalancerState;
  upstreamTarget: string;
  serverName: string;
}

function headBlock(statusLine: string, headers: string[]): string {
  let s = `${statusLine}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${s}\r\n`;
}

function refuse(ctx: UpgradeContext, err: ProxyError): void {
  ctx.record.error = err;
  ctx.record.status = err.status;
  ctx.socket.end(rawErrorResponse(err.status, err.text));
}

/** Resolves once the tunnel is set up, the member's refusal relayed, or the request failed. */
export async function proxyUpgrade(ctx: UpgradeContext): Promise<void> {
  const { req, socket } = ctx;
  const fo = new Failover(ctx.balancer, ctx.record, { target: req.url ?? '/', cookie: req.headers.cookie });
  await runFailover(fo, {
    gone: () => socket.destroyed,
    fail: (error) => refuse(ctx, error),
    attempt: (step) => attempt(ctx, fo, step),
    // Nothing of the client's went to the member before it switched protocols: always replayable.
    replayable: () => true,
  });
}

function attempt(ctx: UpgradeContext, fo: Failover, step: Step & { kind: 'attempt' }): Promise<AttemptResult> {
  const { req, socket, head, site, record } = ctx;
  const member = step.member;
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    const settle = (v: AttemptResult) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        socket.off('close', onClientClose);
        resolve(v);
      }
    };
    // The client went away before the member answered: stop talking to the member at once
    // instead of holding its connection (and its busy count) until the member's timeout.
    const onClientClose = () => {
      if (settled) return;
      record.aborted = true;
      preq.destroy();
      fo.done(0, 0);
      settle(DONE);
    };
    const headers = memberHeaders(req.rawHeaders, { record, site, balancer: ctx.balancer, pick: step.pick, host: req.headers.host, serverName: ctx.serverName, upgrade: true });
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
    socket.once('close', onClientClose);
    let timer = setTimeout(() => {
      if (!connected) {
        const e = new Error('connect timeout') as NodeJS.ErrnoException;
        e.code = 'ERR_CONNECT_TIMEOUT';
        preq.destroy(e);
      }
    }, member.model.connectTimeoutMs);
    preq.on('socket', (s) =>
      s.once(member.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
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
      if (settled) {
        // A refusal being relayed broke off.
        record.aborted = true;
        socket.destroy();
        fo.done(0, 0);
        return;
      }
      if (!connected) settle({ kind: 'failed', failure: { kind: 'connect-failed', code: err.code ?? err.message } });
      else if (err.code === 'ERR_UPSTREAM_TIMEOUT') settle({ kind: 'failed', failure: { kind: 'timed-out' } });
      else if (err.code?.startsWith('HPE_')) settle({ kind: 'failed', failure: { kind: 'bad-answer', detail: err.code } });
      else settle({ kind: 'failed', failure: { kind: 'reset', detail: err.code ?? err.message } });
    });
    preq.on('response', (pres) => {
      // The member refused the upgrade: pass its answer on and close.
      const status = pres.statusCode ?? 502;
      const h = answerPairs(fo, site, status, pres.rawHeaders, req.headers.host);
      record.responsePairs = h.slice();
      h.push('Connection', 'close');
      // The body is sent close-delimited (Transfer-Encoding was dropped with the hop-by-hop headers).
      const block = headBlock(`HTTP/1.1 ${status} ${pres.statusMessage ?? ''}`, h);
      record.headBytesOut = Buffer.byteLength(block, 'latin1');
      socket.write(block);
      let from = 0;
      pres.on('data', (c: Buffer) => {
        from += c.length;
        record.bodyBytesOut += c.length;
      });
      pres.pipe(socket);
      pres.on('end', () => {
        fo.done(0, from);
        socket.end();
      });
      settle(DONE);
    });
    preq.on('upgrade', (pres, usock: Socket, uhead: Buffer) => {
      const cookie = fo.answered(101, pres.rawHeaders);
      const h: string[] = [];
      for (let i = 0; i < pres.rawHeaders.length; i += 2) h.push(pres.rawHeaders[i], pres.rawHeaders[i + 1]);
      rewriteResponseHeaders(site, h, req.headers.host, record.scheme);
      if (cookie) h.push('Set-Cookie', cookie);
      record.responsePairs = h;
      record.keepAlive = true;
      const block = headBlock(`HTTP/1.1 101 ${pres.statusMessage || 'Switching Protocols'}`, h);
      record.headBytesOut = Buffer.byteLength(block, 'latin1');
      socket.write(block);
      if (uhead.length) socket.write(uhead);
      if (head.length) usock.write(head);
      fo.traffic(head.length, uhead.length);
      usock.setNoDelay(true);
      socket.setNoDelay(true);
      usock.on('data', (c: Buffer) => fo.traffic(0, c.length));
      socket.on('data', (c: Buffer) => fo.traffic(c.length, 0));
      usock.pipe(socket);
      socket.pipe(usock);
      const end = () => {
        fo.done(0, 0);
        usock.destroy();
        socket.destroy();
      };
      usock.on('error', end);
      socket.on('error', end);
      usock.on('close', end);
      socket.on('close', end);
      settle(DONE);
    });
    preq.end();
  });
}
