// One proxied request on the lean engine: get a member connection, write the head and stream the
// body, parse the answer and stream it back. Picking, failing over, marking the member and
// settling the answer are the failover core's (core/failover.ts): this class, the coordinator,
// reports how each attempt ended and does what the core says. The client body is not read
// further until a member connection is ready, so a connect failure fails over with the body intact.
//
// The exchange is one object in three layers (see body-sender.ts): the request body with its
// replay buffer (body-sender.ts), the answer (answer-reader.ts), and this coordinator on top.
import type { BalancerState } from '../../balancer/balancer-state.js';
import type { MemberState } from '../../balancer/member-state.js';
import type { SiteModel } from '../../config/model.js';
import type { AttemptFailure } from '../core/decide.js';
import { Failover, type MemberPick, type Step } from '../core/failover.js';
import { RequestRecord } from '../core/record.js';
import { ProxyError, errorPage, reason } from '../errors.js';
import { AnswerReader } from './answer-reader.js';
import type { ClientSide } from './client-side.js';
import type { ParseError } from './parse-error.js';
import type { ConnOwner, MemberPool, UpstreamConn } from './pool.js';
import type { RequestHead } from './request-head.js';
import type { ResponseHead } from './response-head.js';
import { upstreamHead } from './upstream-head.js';

/** Header pairs of error pages (Content-Length is added per page). */
const ERROR_PAIRS = ['Content-Type', 'text/html; charset=utf-8', 'Cache-Control', 'no-store'];

function retryPick(ex: Exchange): void {
  ex.pick();
}

export class Exchange extends AnswerReader implements ConnOwner {
  readonly record = new RequestRecord('h1-lean');
  /** The answer (or an error page) was sent completely, or the exchange was abandoned. */
  finished = false;
  /** The record was published. */
  reported = false;

  private readonly fo: Failover;
  private member: MemberState | undefined = undefined;
  private outcome: MemberPick | undefined = undefined;
  private pool: MemberPool | undefined = undefined;
  private fresh = false;
  /** The connection in use was taken from the idle list (it may have died while idle). */
  private usedReused = false;
  private headText = '';
  private headFor: MemberState | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    client: ClientSide,
    head: RequestHead,
    site: SiteModel,
    private readonly balancer: BalancerState,
    private readonly upstreamTarget: string,
  ) {
    super(client, head, site);
    const r = this.record;
    r.method = head.method;
    r.target = head.target;
    r.httpVersion = head.minor === 1 ? '1.1' : '1.0';
    r.clientAddress = r.peerAddress = client.peerAddress;
    r.clientPort = client.peerPort;
    r.localAddress = client.localAddress();
    r.localPort = client.localPort();
    r.requestPairs = head.fields;
    r.requestContentLength = head.contentLength;
    r.requestChunked = head.chunked;
    r.headBytesIn = head.length;
    r.site = site;
    r.responsePairs = this;
    this.fo = new Failover(balancer, r, { target: head.target, cookie: head.cookie });
  }

  // ---- Choosing a member and connecting ----

  pick(): void {
    this.timer = undefined;
    if (this.finished) return;
    this.run(this.fo.pick());
  }

  /** Does what the failover core decided. */
  private run(step: Step): void {
    if (step.kind === 'attempt') {
      this.outcome = step.pick;
      this.member = step.member;
      this.attempt(step.fresh);
    } else if (step.kind === 'wait') this.timer = setTimeout(retryPick, step.ms, this);
    else this.fail(step.error);
  }

  /** The attempt ended without an answer head: the core decides what comes next. */
  private failed(failure: AttemptFailure): void {
    this.dropUpstream();
    this.run(this.fo.failed(failure, this.replayable));
  }

  private attempt(fresh: boolean): void {
    const m = this.member!;
    this.rewindBody();
    this.fresh = fresh;
    this.awaitAnswer();
    this.pool = this.client.pools.get(m);
    const c = this.pool.acquire(this, m, fresh);
    if (c) this.onUpstreamReady(c);
    else if (!this.bodyDone) this.client.pauseReading();
  }

  /** The exchange with the member is over: its traffic is counted and the attempt ends. */
  protected endAttempt(): void {
    if (!this.fo.attempting) return;
    this.fo.done(this.answerState === 'head' ? 0 : this.bodyBytesIn, this.bytesFrom);
    this.bytesFrom = 0;
  }

  private cancelWait(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.up && this.fo.attempting) this.pool?.cancel(this);
  }

  onUpstreamReady(c: UpstreamConn): void {
    if (this.finished) {
      // The client went away while we connected: keep the connection for someone else.
      c.pool.release(c, true);
      return;
    }
    this.up = c;
    this.usedReused = c.reused;
    const m = this.member!;
    if (this.headFor !== m) {
      this.headText = upstreamHead({
        head: this.head,
        balancer: this.balancer,
        out: this.outcome!,
        upstreamTarget: this.upstreamTarget,
        clientIp: this.client.peerAddress,
        viaProxy: this.record.viaProxy,
        forwarded: this.site.forwarded,
        serverName: this.client.serverName(this.site),
        preserveHost: this.site.preserveHost,
        keepAlive: c.pool.reuse,
      });
      this.headFor = m;
    }
    const o = c.out;
    o.add(this.headText);
    this.sendBody(o);
  }

  onUpstreamConnectFailed(_c: UpstreamConn, code: string): void {
    if (this.finished) return;
    this.up = undefined;
    this.failed({ kind: 'connect-failed', code });
  }

  onUpstreamTimeout(): void {
    if (this.finished) return;
    if (this.answerState === 'head') {
      this.failed({ kind: 'timed-out' });
      return;
    }
    this.brokenAnswer('no traffic within the member timeout');
  }

  onUpstreamLost(code: string): void {
    if (this.finished) return;
    this.up = undefined;
    if (this.answerState === 'head') {
      // A pooled connection that closed before any byte of an answer: the member dropped it while
      // it was idle (its keep-alive timeout), not because of this request.
      const stale = !this.fresh && this.usedReused && !this.headBegun && (code === 'end' || code === 'close' || code === 'ECONNRESET' || code === 'EPIPE');
      this.failed(stale ? { kind: 'stale' } : { kind: 'reset', detail: code === 'end' || code === 'close' ? 'socket hang up' : code });
      return;
    }
    if (this.endsWithClose && code === 'end') {
      this.answerEnd();
      return;
    }
    this.brokenAnswer('connection lost while streaming the answer');
  }

  onInternalError(e: unknown): void {
    this.client.crashed(e);
  }

  // ---- What the body and the answer report ----

  protected bodyError(err: ParseError): void {
    this.record.error = new ProxyError('ERR_BAD_REQUEST', err.text);
    this.record.status = err.status;
    if (this.up) {
      this.up.destroy();
      this.up = undefined;
    }
    this.cancelWait();
    this.endAttempt();
    this.keepAlive = false;
    const answered = this.headSent;
    this.finished = true;
    this.answerState = 'done';
    this.client.refuseBody(this, err, answered);
  }

  protected bodyDiscarded(): void {
    if (this.finished) this.client.bodyFinished(this);
  }

  protected answered(status: number, fields: ResponseHead['fields']): string | undefined {
    // Nothing will be replayed once the member answered.
    this.forgetSent();
    return this.fo.answered(status, fields);
  }

  protected badAnswer(why: string): void {
    this.failed({ kind: 'bad-answer', detail: why });
  }

  protected brokenAnswer(why: string): void {
    if (!this.answerFlushed) {
      // Nothing of the answer left yet (it broke off within the read that brought its head):
      // the client can still get a clean 502 instead of a cut connection.
      this.retractHead();
      this.badAnswer(why);
      return;
    }
    this.record.error = new ProxyError('ERR_UPSTREAM_RESET', `${this.member!.url}: ${why}`);
    this.dropUpstream();
    this.endAttempt();
    this.keepAlive = false;
    this.finished = true;
    this.answerState = 'done';
    this.record.aborted = true;
    this.client.out.clear();
    this.client.abandon(this);
  }

  // ---- Ending ----

  private dropUpstream(): void {
    const up = this.up;
    this.up = undefined;
    if (up) up.pool.release(up, false);
  }

  /** Answers with an error page (or cuts the connection when the answer already began). */
  fail(err: ProxyError): void {
    this.record.error = err;
    this.dropUpstream();
    this.cancelWait();
    this.endAttempt();
    if (this.headSent) {
      this.brokenAnswer(err.message);
      return;
    }
    const page = Buffer.from(errorPage(err.status, err.text));
    this.keepAlive = this.keepAlive && this.client.mayKeepAlive();
    const h = `HTTP/1.1 ${err.status} ${reason(err.status)}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${page.length}\r\nCache-Control: no-store\r\n${this.client.dateLine()}${this.keepAlive ? this.client.keepAliveLines() : 'Connection: close\r\n'}\r\n`;
    const r = this.record;
    r.status = err.status;
    r.headBytesOut = h.length;
    r.bodyBytesOut = page.length;
    this.answerPairs = [...ERROR_PAIRS, 'Content-Length', String(page.length)];
    this.headSent = true;
    const o = this.client.out;
    o.add(h);
    o.addBytes(page);
    o.flush();
    this.answerState = 'done';
    this.complete();
  }

  protected complete(): void {
    this.finished = true;
    this.record.keepAlive = this.keepAlive;
    this.dropBody();
    this.client.exchangeFinished(this);
  }

  /** The client went away: stop talking to the member. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.answerState = 'done';
    this.record.aborted = true;
    this.cancelWait();
    this.dropUpstream();
    this.endAttempt();
  }
}
