// One attempt on a member over node:http: http.request through the member's keep-alive agent
// (or a fresh connection), the connect and response timeouts, the request body streamed (and
// replayable) with backpressure, the answer relayed to the client through a ClientAnswer, and how
// the attempt ended as the failover core's five outcomes. The node:http transport (forward.ts)
// and the HTTP/2 transport (h2/stream.ts, for members it does not reach over the lean pools) both
// send their member requests here; they differ only in how they write to their client.
import http from 'node:http';
import https from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { SiteModel } from '../config/model.js';
import type { AttemptFailure } from './core/decide.js';
import type { Failover, Step } from './core/failover.js';
import type { AnswerFields } from './core/issued-ids.js';
import type { RequestRecord } from './core/record.js';
import { DONE, type AttemptResult } from './core/run.js';
import { ProxyError } from './errors.js';
import { downstreamResponseHeaders } from './headers.js';
import type { Pools } from './pools.js';
import type { Body } from './request-body.js';
import { rewriteResponseHeaders } from './reverse-rewrite.js';

/** The client's side of the answer, as the transport writes it (node:http response, HTTP/2 stream). */
export interface ClientAnswer {
  /** The client can no longer take an answer (went away, reset the stream). */
  readonly gone: boolean;
  /** The whole answer went out: the client closing now aborts nothing. */
  readonly finished: boolean;
  onClose(fn: () => void): void;
  offClose(fn: () => void): void;
  /** The client's body broke off (a bad chunk, a reset): the member must not take it as complete. */
  onBodyError?(fn: () => void): void;
  /** 100 Continue from the member. */
  continue(): void;
  /** 102 Processing, or 103 Early Hints with its Link values, before the answer head. */
  interim(status: 102 | 103, links: string[]): void;
  /**
   * Writes the answer head; throws when the client side refuses it (the answer is then a 502).
   * `trailers`: the answer is chunked, so trailers may follow its body.
   */
  head(status: number, message: string | undefined, pairs: string[], trailers: boolean): void;
  /** Body bytes; false when the client wants the next ones to wait for onceDrain. */
  write(chunk: Buffer): boolean;
  onceDrain(fn: () => void): void;
  /** The end of the answer, with the member's raw trailer pairs. */
  end(rawTrailers: string[]): void;
  /** The answer broke off after its head: the client must not take it as complete. */
  cut(): void;
}

/** What an attempt on a member needs, whichever way it goes (node:http, the lean pools). */
export interface AttemptOptions {
  fo: Failover;
  step: Step & { kind: 'attempt' };
  record: RequestRecord;
  site: SiteModel;
  method: string;
  /** The member's base path and the upstream target. */
  path: string;
  /** Request header pairs, framing included (headers.ts memberHeaders, addBodyFraming). */
  headers: string[];
  body: Body;
  /** The client's Host, for ProxyPassReverse. */
  host: string | undefined;
  /** Add the site's Strict-Transport-Security to answers over TLS that have none. */
  hsts?: boolean;
}

export interface MemberRequestOptions extends AttemptOptions {
  pools: Pools;
}

/**
 * The answer's header pairs for the client: hop-by-hop fields dropped, ProxyPassReverse applied,
 * the route cookie added. Settles the answer with the failover core on the way (`fields`: the
 * answer's fields as the transport keeps them, for route verification).
 */
export function answerPairs(fo: Failover, site: SiteModel, status: number, raw: string[], host: string | undefined, fields: AnswerFields = raw): string[] {
  const cookie = fo.answered(status, fields);
  const h = downstreamResponseHeaders(raw);
  rewriteResponseHeaders(site, h, host, fo.record.scheme);
  if (cookie) h.push('Set-Cookie', cookie);
  return h;
}

/** Sends the request to the step's member; resolves when the attempt ended. */
export function memberRequest(o: MemberRequestOptions, client: ClientAnswer): Promise<AttemptResult> {
  const { fo, record, site, body } = o;
  const { member, fresh } = o.step;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let ready = false;
    let responded = false;
    let bytesFrom = 0;
    let connectTimer: NodeJS.Timeout | undefined;
    // The member connection and its read count when this request got it: a pooled connection
    // that closes after sending part of an answer did not die while idle.
    let sock: Socket | undefined;
    let readAtStart = 0;
    let timedOut = false;
    const finish = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      if (connectTimer) clearTimeout(connectTimer);
      client.offClose(onClientClose);
      if (r.kind === 'done') fo.done(responded ? body.bytes : 0, bytesFrom);
      resolve(r);
    };
    const failed = (failure: AttemptFailure) => finish({ kind: 'failed', failure });

    const lib = member.protocol === 'https:' ? https : http;
    let preq: ClientRequest;
    try {
      preq = lib.request({
        host: member.hostname,
        port: member.port,
        method: o.method,
        path: o.path,
        headers: o.headers as unknown as http.OutgoingHttpHeaders,
        agent: fresh ? false : o.pools.agent(member),
        setHost: false,
      });
    } catch (e) {
      failed({ kind: 'bad-answer', detail: (e as Error).message });
      return;
    }

    function onClientClose(): void {
      // The client went away: stop talking to the member.
      if (!responded || !client.finished) {
        record.aborted = true;
        preq.destroy();
      }
      finish(DONE);
    }
    client.onClose(onClientClose);

    /** The member broke off or went quiet mid-answer: the client cannot get a whole response. */
    const answerBroke = () => {
      if (settled) return;
      record.error = new ProxyError('ERR_UPSTREAM_RESET', `${member.url}: ${timedOut ? 'no traffic within the member timeout' : 'connection lost while streaming the answer'}`);
      record.aborted = true;
      client.cut();
      finish(DONE);
    };

    const onReady = () => {
      ready = true;
      if (connectTimer) clearTimeout(connectTimer);
      body.pipeTo(preq);
    };

    preq.on('socket', (s: Socket) => {
      sock = s;
      readAtStart = s.bytesRead;
      if ((s as Socket & { connecting?: boolean }).connecting) {
        connectTimer = setTimeout(() => {
          const e = new Error('connect timeout') as NodeJS.ErrnoException;
          e.code = 'ERR_CONNECT_TIMEOUT';
          preq.destroy(e);
        }, member.model.connectTimeoutMs);
        s.once(member.protocol === 'https:' ? 'secureConnect' : 'connect', onReady);
      } else {
        onReady();
      }
    });

    preq.setTimeout(member.model.timeoutMs, () => {
      timedOut = true;
      const e = new Error('response timeout') as NodeJS.ErrnoException;
      e.code = 'ERR_UPSTREAM_TIMEOUT';
      preq.destroy(e);
    });

    preq.on('continue', () => client.continue());
    preq.on('information', (i) => {
      // 102 and 103 pass on (103 with its Link fields); other 1xx are the member's business.
      if (i.statusCode === 102) client.interim(102, []);
      else if (i.statusCode === 103) {
        const links: string[] = [];
        for (let k = 0; k < i.rawHeaders.length; k += 2) if (i.rawHeaders[k].toLowerCase() === 'link') links.push(i.rawHeaders[k + 1]);
        if (links.length) client.interim(103, links);
      }
    });

    preq.on('response', (pres: IncomingMessage) => {
      responded = true;
      const status = pres.statusCode ?? 502;
      const h = answerPairs(fo, site, status, pres.rawHeaders, o.host);
      if (o.hsts && record.scheme === 'https' && site.hsts !== undefined && pres.headers['strict-transport-security'] === undefined) h.push('Strict-Transport-Security', site.hsts);
      record.responsePairs = h;
      if (client.gone) {
        pres.destroy();
        record.aborted = true;
        finish(DONE);
        return;
      }
      const te = pres.headers['transfer-encoding'];
      try {
        client.head(status, pres.statusMessage, h, typeof te === 'string' && /chunked/i.test(te));
      } catch (e) {
        pres.destroy();
        record.status = undefined;
        failed({ kind: 'bad-answer', detail: (e as Error).message });
        return;
      }
      pres.on('data', (chunk: Buffer) => {
        bytesFrom += chunk.length;
        if (!client.write(chunk)) {
          pres.pause();
          client.onceDrain(() => pres.resume());
        }
      });
      pres.on('end', () => {
        client.end(pres.rawTrailers);
        if (!body.complete) {
          // The member answered before taking the whole body: stop sending it, drop the rest, and
          // close the member connection, which still expects the unfinished request body.
          body.discard();
          preq.destroy();
        }
        finish(DONE);
      });
      pres.on('error', answerBroke);
    });

    preq.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      if (body.overLimit || body.tooSlow) {
        // Cut by us (LimitRequestBody, RequestReadTimeout): not the member's failure.
        finish(DONE);
        return;
      }
      body.detach();
      if (responded) {
        answerBroke();
        return;
      }
      const code = err.code;
      if (!ready) {
        failed({ kind: 'connect-failed', code: code ?? err.message });
        return;
      }
      if (code === 'ERR_UPSTREAM_TIMEOUT') {
        failed({ kind: 'timed-out' });
        return;
      }
      const nothingRead = sock === undefined || sock.bytesRead === readAtStart;
      if (!fresh && preq.reusedSocket && nothingRead && (code === 'ECONNRESET' || code === 'EPIPE' || err.message === 'socket hang up')) {
        failed({ kind: 'stale' });
        return;
      }
      if (code?.startsWith('HPE_')) failed({ kind: 'bad-answer', detail: code });
      else failed({ kind: 'reset', detail: code ?? err.message });
    });

    client.onBodyError?.(() => preq.destroy());
  });
}
