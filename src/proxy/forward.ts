// Forwarding one request to a balancer: pick (sticky first), connect, stream both ways, and fail
// over as Apache does: a member that cannot be connected to is put in error and the whole pick
// runs again while attempts remain.
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse, ClientRequest } from 'node:http';
import type { BalancerState } from '../balancer/balancer-state.js';
import type { MemberState } from '../balancer/member-state.js';
import { pickMember, type PickOutcome } from '../balancer/pick.js';
import type { SiteModel } from '../config/model.js';
import { ProxyError, errorPage, isConnectError, reason } from './errors.js';
import { balancerHeaders, upstreamRequestHeaders, downstreamResponseHeaders, memberHostHeader } from './headers.js';
import { rewriteResponseHeaders } from './reverse-rewrite.js';
import { RequestBody } from './request-body.js';
import type { Pools } from './pools.js';
import { recordOutcome, type RequestInfo } from './request-info.js';

export interface ForwardContext {
  req: IncomingMessage;
  res: ServerResponse;
  info: RequestInfo;
  site: SiteModel;
  balancer: BalancerState;
  /** Path (normalised) and query to send upstream, before the member's base path. */
  upstreamTarget: string;
  serverName: string;
  replayBuffer: number;
  pools: Pools;
}

type AttemptResult =
  | { kind: 'done' }
  /** The member could not be connected to; the body was not touched. */
  | { kind: 'connect-failed'; error: ProxyError }
  /** A pooled connection died before the answer; the body can be sent again. */
  | { kind: 'stale-connection'; error: ProxyError }
  | { kind: 'failed'; error: ProxyError };

const NO_BODY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

export async function forward(ctx: ForwardContext): Promise<void> {
  const { req, res, info, balancer } = ctx;
  const body = new RequestBody(req, ctx.replayBuffer);
  const maxAttempts = balancer.maxAttempts();
  const deadline = balancer.timeoutMs > 0 ? Date.now() + balancer.timeoutMs : 0;
  let attempts = 0;
  info.balancer = balancer.name;
  // Giving up on a request also reads and drops the rest of its body: a body left paused half-way
  // would leave the client's connection hanging for its next request.
  const fail = (err: ProxyError) => {
    body.discard();
    sendError(res, info, err);
  };

  for (;;) {
    if (res.destroyed) return;
    const canWait = deadline > 0 && Date.now() < deadline;
    const out = pickMember(balancer, { target: ctx.req.url ?? '/', cookie: req.headers.cookie, waiting: canWait });
    recordOutcome(info, out);
    if (out.kind !== 'member') {
      if (out.kind === 'none' && canWait) {
        // Apache's balancer timeout: wait for a member to become usable.
        await new Promise((r) => setTimeout(r, Math.min(100, deadline - Date.now())));
        continue;
      }
      fail(new ProxyError(out.kind === 'none' ? 'ERR_NO_MEMBER' : 'ERR_NOFAILOVER', out.sticky.route ? `route ${out.sticky.route}` : undefined));
      return;
    }
    const member = out.member;
    let result = await attempt(ctx, out, member, body, false);
    if (result.kind === 'stale-connection') {
      if (body.replayable) result = await attempt(ctx, out, member, body, true);
      else result = { kind: 'failed', error: result.error };
    }
    if (result.kind === 'done') return;
    if (result.kind === 'connect-failed') {
      balancer.markFailure(member, result.error.detail ?? result.error.code);
      info.failures.push(`${member.url}: ${result.error.detail ?? result.error.code}`);
      // Apache: try again while the member is now unusable and attempts remain.
      if (!member.isUsable() && attempts++ < maxAttempts && (body.bytes === 0 || body.replayable)) continue;
      fail(result.error);
      return;
    }
    if (result.error.code === 'ERR_UPSTREAM_TIMEOUT' && balancer.model.failontimeout) balancer.markFailure(member, 'timeout');
    fail(result.error);
    return;
  }
}

export function sendError(res: ServerResponse, info: RequestInfo, err: ProxyError): void {
  info.error = err;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorPage(err.status, err.message.split(' (')[0]);
  res.writeHead(err.status, reason(err.status), {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

function attempt(
  ctx: ForwardContext,
  out: PickOutcome & { kind: 'member' },
  member: MemberState,
  body: RequestBody,
  fresh: boolean,
): Promise<AttemptResult> {
  const { req, res, info, site } = ctx;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let ready = false;
    let responded = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const finish = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      if (connectTimer) clearTimeout(connectTimer);
      member.busy--;
      res.off('close', onClientClose);
      resolve(r);
    };

    const raw = req.rawHeaders;
    const headers = upstreamRequestHeaders(raw, {
      clientIp: req.socket.remoteAddress ?? '',
      host: req.headers.host,
      upstreamHost: site.preserveHost && req.headers.host ? req.headers.host : memberHostHeader(member),
      serverName: ctx.serverName,
      proto: 'http',
      extra: balancerHeaders(ctx.balancer, out),
    });
    const te = req.headers['transfer-encoding'];
    if (te !== undefined) headers.push('Transfer-Encoding', 'chunked');
    else if (req.headers['content-length'] === undefined && !NO_BODY_DEFAULT.has(req.method ?? 'GET')) headers.push('Content-Length', '0');

    const lib = member.protocol === 'https:' ? https : http;
    let preq: ClientRequest;
    member.busy++;
    try {
      preq = lib.request({
        host: member.hostname,
        port: member.port,
        method: req.method,
        path: member.basePath + ctx.upstreamTarget,
        headers: headers as unknown as http.OutgoingHttpHeaders,
        agent: fresh ? false : ctx.pools.agent(member),
        setHost: false,
      });
    } catch (e) {
      finish({ kind: 'failed', error: new ProxyError('ERR_UPSTREAM_BAD_RESPONSE', (e as Error).message) });
      return;
    }

    const onClientClose = () => {
      // The client went away: stop talking to the member.
      if (!res.writableFinished) preq.destroy();
      finish({ kind: 'done' });
    };
    res.on('close', onClientClose);

    const onReady = () => {
      ready = true;
      if (connectTimer) clearTimeout(connectTimer);
      body.pipeTo(preq);
    };

    preq.on('socket', (sock) => {
      if ((sock as any).connecting) {
        connectTimer = setTimeout(() => {
          const e = new Error('connect timeout') as NodeJS.ErrnoException;
          e.code = 'ERR_CONNECT_TIMEOUT';
          preq.destroy(e);
        }, member.model.connectTimeoutMs);
        sock.once(member.protocol === 'https:' ? 'secureConnect' : 'connect', onReady);
      } else {
        onReady();
      }
    });

    preq.setTimeout(member.model.timeoutMs, () => {
      const e = new Error('response timeout') as NodeJS.ErrnoException;
      e.code = 'ERR_UPSTREAM_TIMEOUT';
      preq.destroy(e);
    });

    preq.on('continue', () => {
      if (!res.headersSent) res.writeContinue();
    });
    preq.on('information', (i) => {
      if (res.headersSent) return;
      if (i.statusCode === 102) res.writeProcessing();
      else if (i.statusCode === 103) {
        const hints: Record<string, string | string[]> = {};
        for (let k = 0; k < i.rawHeaders.length; k += 2) {
          const name = i.rawHeaders[k].toLowerCase();
          if (name === 'link') hints.link = [...((hints.link as string[]) ?? []), i.rawHeaders[k + 1]];
        }
        if (hints.link) res.writeEarlyHints(hints);
      }
    });

    preq.on('response', (pres) => {
      responded = true;
      ctx.balancer.markSuccess(member);
      const status = pres.statusCode ?? 502;
      if (ctx.balancer.model.failonstatus.includes(status)) ctx.balancer.markFailure(member, `status ${status}`);
      member.responses[`${Math.floor(status / 100)}xx`] = (member.responses[`${Math.floor(status / 100)}xx`] ?? 0) + 1;
      const h = downstreamResponseHeaders(pres.rawHeaders);
      rewriteResponseHeaders(site, h, req.headers.host);
      const rc = ctx.balancer.model.routeCookie;
      if (rc && out.routeChanged && member.route) h.push('Set-Cookie', `${rc}=.${member.route}; Path=/; HttpOnly`);
      info.status = status;
      try {
        res.writeHead(status, pres.statusMessage, h);
      } catch (e) {
        pres.destroy();
        finish({ kind: 'failed', error: new ProxyError('ERR_UPSTREAM_BAD_RESPONSE', (e as Error).message) });
        return;
      }
      pres.on('data', (chunk: Buffer) => {
        member.bytesFrom += chunk.length;
        if (!res.write(chunk)) {
          pres.pause();
          res.once('drain', () => pres.resume());
        }
      });
      pres.on('end', () => {
        const t = pres.rawTrailers;
        if (t.length) {
          const pairs: [string, string][] = [];
          for (let k = 0; k < t.length; k += 2) pairs.push([t[k], t[k + 1]]);
          res.addTrailers(pairs);
        }
        res.end();
        member.bytesTo += body.bytes;
        if (!body.complete) {
          // The member answered before taking the whole body: stop sending it, drop the rest, and
          // close the member connection, which still expects the unfinished request body.
          body.discard();
          preq.destroy();
        }
        finish({ kind: 'done' });
      });
      pres.on('error', () => {
        // The member broke off mid-answer: the client cannot get a whole response.
        info.error = new ProxyError('ERR_UPSTREAM_RESET', 'connection lost while streaming the answer');
        res.destroy();
        finish({ kind: 'done' });
      });
    });

    preq.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      body.detach();
      if (responded) {
        res.destroy();
        finish({ kind: 'done' });
        return;
      }
      const code = err.code;
      if (!ready) {
        if (code === 'ERR_CONNECT_TIMEOUT') finish({ kind: 'connect-failed', error: new ProxyError('ERR_CONNECT_TIMEOUT', `${member.url}: connect timeout`) });
        else if (isConnectError(code)) finish({ kind: 'connect-failed', error: new ProxyError('ERR_CONNECT', `${member.url}: ${code}`) });
        else finish({ kind: 'failed', error: new ProxyError('ERR_UPSTREAM_BAD_RESPONSE', `${member.url}: ${code ?? err.message}`) });
        return;
      }
      if (code === 'ERR_UPSTREAM_TIMEOUT') {
        finish({ kind: 'failed', error: new ProxyError('ERR_UPSTREAM_TIMEOUT', `${member.url}: no answer in ${member.model.timeoutMs} ms`) });
        return;
      }
      if (!fresh && preq.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE' || err.message === 'socket hang up')) {
        finish({ kind: 'stale-connection', error: new ProxyError('ERR_UPSTREAM_RESET', `${member.url}: pooled connection closed`) });
        return;
      }
      const bad = code?.startsWith('HPE_');
      finish({ kind: 'failed', error: new ProxyError(bad ? 'ERR_UPSTREAM_BAD_RESPONSE' : 'ERR_UPSTREAM_RESET', `${member.url}: ${code ?? err.message}`) });
    });

    // The client's body broke off (bad chunk, reset): never let a partial request through.
    req.once('error', () => preq.destroy());
  });
}
