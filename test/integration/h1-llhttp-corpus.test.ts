// A differential test against llhttp's own request corpus (test/fixtures/llhttp/requests.json,
// made by scripts/extract-llhttp-corpus.mjs): every case is sent byte for byte over a raw socket
// to a lean-engine balancer whose one member is a node:http server that records the method,
// target, header fields and body bytes it receives, and what got through is held against what
// llhttp reported for the same bytes.
//
// The rules:
// - llhttp accepts: stickylb forwards exactly llhttp's framing (same method, target, header field
//   values, body bytes; the header changes a proxy makes are left out of the comparison, see
//   CHANGED_BY_PROXY), or refuses with 4xx for the reason written in REFUSED below.
// - llhttp refuses: stickylb refuses too (4xx, or the connection closed), and the refused
//   message never reaches the member as a complete request. The messages llhttp completed before
//   the error are held to the first rule. When the error lies in the body, the head may already
//   have gone to the member (bodies are streamed): the member must then never see the body end.
//   Where the corpus cuts a bad head off before its blank line, stickylb waits for the rest
//   (TRUNCATED_HEAD) and must refuse once CRLF CRLF follows. Otherwise stickylb forwards only
//   for a reason written in FORWARDED.
// - llhttp waits for more bytes (an unfinished message): stickylb waits too, nothing complete
//   reaches the member for that message.
// - llhttp stops after an accepted head to switch protocols (CONNECT, Upgrade, the HTTP/2
//   preface): the head must reach the member as llhttp parsed it (what follows is tunnel data,
//   not compared), or stickylb refuses for a reason in REFUSED.
// An HTTP/1.1 message without Host is refused by stickylb as RFC 9112 §3.2 requires, which would
// hide how the rest of it is parsed: such cases also run with `Host: example` added to each
// message that lacks one ("+Host" subtests), and a refusal for the missing Host alone never
// counts as agreeing with llhttp.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';

// ---- The fixture ----

interface LlhttpMessage {
  method: string;
  url: string;
  protocol: string;
  version: string | null;
  headers: [string, string][];
  trailers: [string, string][];
  body: string;
  headersComplete: boolean;
  complete: boolean;
  begin: number;
  headEnd?: number;
  hostInsertAt?: number;
}

interface LlhttpCase {
  name: string;
  raw: string;
  result: 'accepted' | 'refused' | 'upgrade' | 'incomplete';
  messages: LlhttpMessage[];
  error: { code: number; name: string; reason: string; offset: number } | null;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/llhttp/requests.json', import.meta.url), 'utf8')) as {
  source: { commit: string };
  counts: Record<string, unknown>;
  cases: LlhttpCase[];
};

// ---- Where stickylb refuses what llhttp accepts, and why ----

const HTTP09 = 'HTTP/0.9 (a request line without a version) is refused; only HTTP/1.0 and HTTP/1.1 are served';
const NOT_HTTP = 'RTSP/ and ICE/ request lines are llhttp extensions for other protocols, not HTTP; refused as a bad version';
const CONNECT = 'CONNECT is refused with 405: stickylb is a gateway, not a forward proxy';
const ASTERISK = 'asterisk-form is only valid with OPTIONS (RFC 9112 §3.2.4); refused as a bad target';
const TE_CODINGS =
  'transfer codings other than chunked are not supported: refused with 400 (RFC 9112 §6.1 suggests 501) rather than forwarded with a coding stickylb cannot frame anew';
const H2_PREFACE =
  'PRI * … SM is the HTTP/2 connection preface, which llhttp hands over like an upgrade; stickylb does not speak cleartext HTTP/2 and refuses it (asterisk-form without OPTIONS)';
const FORWARD_PROXY = 'an absolute-form target for another host is answered 403: stickylb is not a forward proxy (like Apache with ProxyRequests Off)';

/**
 * Cases (by fixture name; "+Host" marks the variant with Host added) where llhttp accepts and
 * stickylb answers 4xx instead, with the reason. Messages before the refused one must still
 * match llhttp.
 */
const REFUSED: Record<string, string> = {
  'sample.md › No HTTP version': HTTP09,
  'method.md › SOURCE request with ICE': NOT_HTTP,
  'method.md › OPTIONS request with RTSP': NOT_HTTP,
  'method.md › ANNOUNCE request with RTSP': NOT_HTTP,
  'method.md › CONNECT request': CONNECT,
  'method.md › CONNECT request with CAPS': CONNECT,
  'method.md › CONNECT with body': CONNECT,
  'uri.md › Underscore in hostname': CONNECT,
  'method.md › M-SEARCH request': ASTERISK,
  'method.md › PRI request HTTP2': H2_PREFACE,
  'method.md › PRI request HTTP2 +Host': H2_PREFACE,
  'transfer-encoding.md › POST with `chunked` as last transfer-encoding': TE_CODINGS,
  'transfer-encoding.md › POST with `chunked` as last transfer-encoding (multiple headers)': TE_CODINGS,
  'transfer-encoding.md › POST with `chunked` as last transfer-encoding +Host': TE_CODINGS,
  'transfer-encoding.md › POST with `chunked` as last transfer-encoding (multiple headers) +Host': TE_CODINGS,
  'uri.md › Host terminated by a query string +Host': FORWARD_PROXY,
  'uri.md › `host:port` terminated by a query string +Host': FORWARD_PROXY,
  'uri.md › `host:port` terminated by a space +Host': FORWARD_PROXY,
  'uri.md › `host:port` and basic auth +Host': FORWARD_PROXY,
};

/**
 * Cases llhttp refuses and stickylb forwards, with the reason it may: none of them changes where
 * a message ends. The member (node:http, llhttp again) may refuse them in turn.
 */
const FORWARDED: Record<string, string> = {
  'invalid.md › HTTP protocol and ANNOUNCE method':
    'llhttp knows a fixed list of methods and ties ANNOUNCE to RTSP; any token is a method (RFC 9110 §9.1), so stickylb forwards it and leaves it to the member, which answers 501 (node:http refuses it, the client gets 502)',
  'invalid.md › Invalid method +Host':
    'llhttp refuses MKCOLA as a method it does not know; any token is a method (RFC 9110 §9.1), so stickylb forwards it and leaves it to the member (node:http refuses it, the client gets 502)',
};

/**
 * llhttp reads byte by byte and refuses at the first bad one, even in a head the corpus never
 * finishes; stickylb judges a head once it has all of it (up to the blank line). For a case
 * whose refused head has no blank line, stickylb just waits (and answers 408 after its headers
 * timeout), which is checked, and the same bytes followed by CRLF CRLF must then be refused.
 */
const TRUNCATED_HEAD = 'the head never ends (no blank line): stickylb waits for the rest before judging it; with CRLF CRLF added it refuses';

/** Reason for stickylb's refusal of an HTTP/1.1 message that has no Host header. */
const MISSING_HOST = 'an HTTP/1.1 request without Host is refused with 400 (RFC 9112 §3.2)';

/**
 * Header fields a proxy legitimately changes, left out of the comparison on both sides: Host
 * (the member's), the X-Forwarded-* and X-Stickylb-* fields stickylb sets, hop-by-hop fields
 * (RFC 9110 §7.6.1) and the framing fields written anew (the body bytes are compared instead).
 * Fields named in the request's Connection header are hop-by-hop too.
 */
const CHANGED_BY_PROXY = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'transfer-encoding',
  'content-length',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-server',
  'x-forwarded-proto',
]);

// ---- The member: a node:http server that records what it receives ----

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  rawTrailers: string[];
  body: Buffer[];
  /** The whole message arrived (the body ended). */
  complete: boolean;
  /** It came as an upgrade (or CONNECT): the head only. */
  upgrade: boolean;
}

const seen: Seen[] = [];
const memberErrors: { code: string; packet: string }[] = [];
let member: http.Server;
let memberUrl: string;
let lb: RunningBalancer;

before(async () => {
  member = http.createServer();
  member.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const r: Seen = { method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, rawTrailers: [], body: [], complete: false, upgrade: false };
    seen.push(r);
    req.on('data', (c: Buffer) => r.body.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      r.complete = true;
      r.rawTrailers = req.rawTrailers;
      res.writeHead(200, { 'Content-Length': '2' });
      res.end('ok');
    });
  });
  const head = (req: http.IncomingMessage, socket: import('node:stream').Duplex, rest: Buffer) => {
    seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, rawTrailers: [], body: [rest], complete: true, upgrade: true });
    socket.on('error', () => undefined);
    // Not switching: a plain answer (any 4xx the client gets is then stickylb's own).
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
  };
  member.on('upgrade', head);
  member.on('connect', head);
  member.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: net.Socket) => {
    memberErrors.push({ code: err.code ?? String(err), packet: err.rawPacket?.toString('latin1') ?? '' });
    socket.destroy();
  });
  await new Promise<void>((r) => member.listen(0, '127.0.0.1', () => r()));
  memberUrl = `http://127.0.0.1:${(member.address() as AddressInfo).port}`;
  lb = await startBalancer({
    engine: 'lean',
    // +I: a member answer broken by a test case must not take the member out of service.
    balancers: { c: { members: [{ url: memberUrl, route: 'm', status: '+I' }] } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
});

after(async () => {
  await lb.close();
  member.closeAllConnections();
  await new Promise<void>((r) => member.close(() => r()));
});

// ---- Sending a case ----

interface Reply {
  text: string;
  statuses: number[];
  /** stickylb closed the connection. */
  closed: boolean;
}

/**
 * Writes `data` on a fresh connection and reads until stickylb closes it, or `answers` answers
 * came and then nothing for a moment, or `maxMs` passed (a message stickylb waits on).
 */
function send(port: number, data: Buffer, answers: number, maxMs = 1500): Promise<Reply> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    let text = '';
    let quiet: NodeJS.Timeout | undefined;
    const statuses = () => [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
    const done = (closed: boolean) => {
      clearTimeout(timer);
      clearTimeout(quiet);
      s.destroy();
      resolve({ text, statuses: statuses(), closed });
    };
    const timer = setTimeout(() => done(false), maxMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      text += d;
      clearTimeout(quiet);
      if (answers > 0 && statuses().length >= answers) quiet = setTimeout(() => done(false), 150);
    });
    s.on('end', () => done(true));
    s.on('error', () => done(true));
  });
}

const settle = () => new Promise((r) => setTimeout(r, 60));

// ---- Comparing ----

const lower = (s: string) => s.toLowerCase();

/** The Connection header's tokens of a message (the fields they name are hop-by-hop). */
function connectionTokens(m: LlhttpMessage): Set<string> {
  const out = new Set<string>();
  for (const [n, v] of m.headers) if (lower(n) === 'connection') for (const t of v.split(',')) if (t.trim()) out.add(lower(t.trim()));
  return out;
}

/** Field name/value pairs as compared: proxy-changed fields out, trailing white space off the value. */
function comparable(pairs: [string, string][], hop: Set<string>): [string, string][] {
  return pairs
    .filter(([n]) => !CHANGED_BY_PROXY.has(lower(n)) && !lower(n).startsWith('x-stickylb-') && !hop.has(lower(n)))
    .map(([n, v]) => [n, v.replace(/[ \t]+$/, '')]);
}

const pairsOf = (flat: string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
};

/** Node's rawHeaders are latin1 strings of the bytes, as the fixture's are. */
function sameMessage(got: Seen, want: LlhttpMessage, what: string, withBody: boolean): void {
  assert.equal(got.method, want.method, `${what}: method`);
  assert.equal(got.url, want.url, `${what}: request target`);
  const hop = connectionTokens(want);
  assert.deepEqual(comparable(pairsOf(got.rawHeaders), hop), comparable(want.headers, hop), `${what}: header fields`);
  if (!withBody) return;
  assert.equal(Buffer.concat(got.body).toString('latin1'), Buffer.from(want.body, 'base64').toString('latin1'), `${what}: body`);
  assert.deepEqual(comparable(pairsOf(got.rawTrailers), hop), comparable(want.trailers, hop), `${what}: trailer fields`);
}

/**
 * The case's bytes with `Host: example` added to each HTTP/1.1 message that lacks Host: before
 * the blank line where llhttp read the whole head, else (llhttp stopped inside the head) right
 * after an HTTP/1.1 request line, so that stickylb's verdict on the rest can be seen.
 */
function withHost(c: LlhttpCase): { raw: Buffer; messages: LlhttpMessage[] } | undefined {
  const raw = Buffer.from(c.raw, 'base64');
  const at = new Map<LlhttpMessage, number>();
  for (const m of c.messages) {
    if (m.hostInsertAt !== undefined && m.version === '1.1') at.set(m, m.hostInsertAt);
    else if (!m.headersComplete) {
      const eol = raw.indexOf('\r\n', m.begin);
      const rest = raw.toString('latin1', m.begin);
      if (eol >= 0 && raw.toString('latin1', m.begin, eol).endsWith(' HTTP/1.1') && !/\r\nhost[ \t]*:/i.test(rest)) at.set(m, eol + 2);
    }
  }
  if (at.size === 0) return undefined;
  const line = Buffer.from('Host: example\r\n', 'latin1');
  const parts: Buffer[] = [];
  let from = 0;
  for (const pos of at.values()) {
    parts.push(raw.subarray(from, pos), line);
    from = pos;
  }
  parts.push(raw.subarray(from));
  const messages = c.messages.map((m) => (at.has(m) ? { ...m, headers: [...m.headers, ['Host', 'example'] as [string, string]] } : m));
  return { raw: Buffer.concat(parts), messages };
}

/** stickylb's refusal was for the missing Host header (its error page says so). */
const refusedForHost = (text: string) => text.includes('An HTTP/1.1 request needs a Host header.');

const hasHost = (m: LlhttpMessage) => m.headers.some(([n]) => lower(n) === 'host');

// ---- The cases ----

/** How each run ended (by subtest name), for the summary printed at the end. */
const outcomes = new Map<string, string>();
const SAME = 'forwarded with llhttp framing';
const BOTH_REFUSE = 'refused by both';
const BOTH_WAIT = 'both wait for more';
const REFUSED_ONCE_ENDED = 'refused by both (stickylb once the head ends)';
const REFUSED_WITH_REASON = 'refused by stickylb for a written reason';
const FORWARDED_WITH_REASON = 'forwarded by stickylb for a written reason';
const NO_HOST = 'refused by stickylb: no Host (see the +Host run)';

/** The request and the member's view of it. */
async function exchange(raw: Buffer, answers: number, maxMs?: number) {
  const from = seen.length;
  const errorsFrom = memberErrors.length;
  const r = await send(lb.port, raw, answers, maxMs);
  await settle();
  const got = seen.slice(from);
  // A connection cut in the middle of a message (stickylb aborting what it will not complete)
  // is not a parse error.
  const parseErrors = memberErrors.slice(errorsFrom).filter((e) => e.code !== 'HPE_INVALID_EOF_STATE' && e.code !== 'ECONNRESET');
  const diag = () =>
    `stickylb answered ${JSON.stringify(r.text.slice(0, 300))}; the member got ${JSON.stringify(got.map((g) => ({ method: g.method, url: g.url, headers: g.rawHeaders, body: Buffer.concat(g.body).toString('latin1'), complete: g.complete })))}` +
    (parseErrors.length ? ` and refused ${JSON.stringify(parseErrors)}` : '');
  return { r, got, parseErrors, diag, refusal: r.statuses.find((s) => s >= 400 && s < 500) };
}

function runCase(name: string, c: LlhttpCase, raw: Buffer, messages: LlhttpMessage[], hostRun: boolean) {
  return async () => {
    const complete = messages.filter((m) => m.complete);
    const what = (i: number) => `message ${i + 1} (${messages[i].method} ${messages[i].url})`;
    const failing = c.result === 'refused' ? messages[complete.length] : undefined;
    const truncated = failing !== undefined && !failing.headersComplete && raw.indexOf('\r\n\r\n', failing.begin) < 0;
    const { r, got, parseErrors, diag, refusal } = await exchange(raw, Math.max(complete.length, 1), truncated ? 600 : undefined);

    if (FORWARDED[name] !== undefined) {
      assert.equal(refusal, undefined, `listed as forwarded (${FORWARDED[name]}), but stickylb refused; ${diag()}`);
      assert.ok(got.length + parseErrors.length > complete.length, `listed as forwarded, but nothing reached the member; ${diag()}`);
      outcomes.set(name, FORWARDED_WITH_REASON);
      return;
    }
    assert.deepEqual(parseErrors, [], `the member's parser refused what stickylb forwarded; ${diag()}`);

    if (truncated && refusal === undefined) {
      // Waiting (where stickylb refuses early, as for a bare LF, the usual rules below hold):
      // the complete messages before it went through, nothing of it did.
      assert.equal(got.length, complete.length, `${TRUNCATED_HEAD}; ${diag()}`);
      got.forEach((g, i) => sameMessage(g, messages[i], what(i), true));
      const ended = await exchange(Buffer.concat([raw, Buffer.from('\r\n\r\n', 'latin1')]), complete.length + 1);
      assert.ok(ended.refusal !== undefined, `with the head ended, stickylb still did not refuse it (${c.error!.name}: ${c.error!.reason}); ${ended.diag()}`);
      assert.ok(hostRun || !refusedForHost(ended.r.text), `with the head ended, stickylb refused it only for the missing Host; ${ended.diag()}`);
      assert.equal(ended.got.length, complete.length, `with the head ended, it reached the member; ${ended.diag()}`);
      outcomes.set(name, REFUSED_ONCE_ENDED);
      return;
    }

    // Where stickylb stops: the first message it refuses, for a written reason.
    let reason = REFUSED[name];
    const noHost = messages.findIndex((m) => m.version === '1.1' && m.headersComplete && !hasHost(m));
    // (Where it is the message llhttp refuses, the usual rules below hold.)
    if (reason === undefined && noHost >= 0 && (c.result !== 'refused' || noHost < complete.length)) reason = MISSING_HOST;
    if (reason !== undefined) {
      assert.ok(refusal !== undefined, `refused for a reason (${reason}), but stickylb answered ${r.statuses.join(', ') || 'nothing'}; ${diag()}`);
      if (reason === MISSING_HOST) assert.ok(refusedForHost(r.text), `llhttp accepts; stickylb refused, not for the missing Host; ${diag()}`);
      // What went through before the refusal is llhttp's framing, message by message.
      got.forEach((g, i) => {
        assert.ok(i < complete.length, `more messages forwarded than llhttp completed; ${diag()}`);
        sameMessage(g, messages[i], what(i), true);
        assert.ok(g.complete, `${what(i)} did not reach the member whole; ${diag()}`);
      });
      outcomes.set(name, reason === MISSING_HOST ? NO_HOST : REFUSED_WITH_REASON);
      return;
    }

    // The messages llhttp completed reach the member whole, with the same framing.
    const upgrade = c.result === 'upgrade';
    for (let i = 0; i < complete.length; i++) {
      assert.ok(i < got.length, `${what(i)}: accepted by llhttp, not forwarded (stickylb answered ${r.statuses.join(', ') || 'nothing'}); ${diag()}`);
      const lastUpgrade = upgrade && i === complete.length - 1;
      sameMessage(got[i], messages[i], what(i), !lastUpgrade);
      assert.ok(got[i].complete, `${what(i)} did not reach the member whole; ${diag()}`);
    }
    // Nothing complete beyond them: an unfinished or refused message may have had its head
    // streamed to the member, never its end.
    const extra = got.slice(complete.length);
    assert.ok(extra.length <= 1 && extra.every((g) => !g.complete), `the member got more than llhttp accepted; ${diag()}`);
    const unfinished = messages[complete.length];
    if (extra.length === 1) {
      assert.ok(unfinished?.headersComplete, `a head llhttp did not accept reached the member; ${diag()}`);
      if (c.result === 'incomplete' || (c.error !== null && c.error.offset >= unfinished.headEnd!)) sameMessage(extra[0], unfinished, `unfinished ${what(complete.length)}`, false);
      else assert.fail(`a head llhttp refused reached the member; ${diag()}`);
    }

    if (c.result === 'refused') {
      // llhttp refused the message after the complete ones: stickylb answers 4xx or closes
      // (after `Connection: close` or HTTP/1.0, what follows is never read).
      assert.ok(refusal !== undefined || r.closed, `llhttp refused (${c.error!.name}: ${c.error!.reason}); stickylb neither answered 4xx nor closed; ${diag()}`);
      if (c.error!.name !== 'HPE_CLOSED_CONNECTION' && !(unfinished?.headersComplete && c.error!.offset >= unfinished.headEnd!)) {
        assert.ok(refusal !== undefined, `llhttp refused the head (${c.error!.name}: ${c.error!.reason}); stickylb did not answer 4xx; ${diag()}`);
      }
      // A refusal for the missing Host says nothing about what llhttp objected to: the run with
      // Host added must show it.
      if (refusedForHost(r.text)) {
        assert.ok(hostRun, `stickylb refused only for the missing Host (llhttp: ${c.error!.name}: ${c.error!.reason}), and there is no run with Host added; ${diag()}`);
        outcomes.set(name, NO_HOST);
        return;
      }
      outcomes.set(name, BOTH_REFUSE);
    } else {
      assert.equal(refusal, undefined, `llhttp ${c.result === 'incomplete' ? 'waits for more' : 'accepts'}, stickylb answered ${refusal}; ${diag()}`);
      assert.ok(r.statuses.length >= complete.length, `${complete.length} answers expected, got ${r.statuses.join(', ') || 'none'}; ${diag()}`);
      outcomes.set(name, c.result === 'incomplete' ? BOTH_WAIT : SAME);
    }
  };
}

test(`llhttp request corpus (llhttp ${fixture.source.commit.slice(0, 12)})`, async (t) => {
  for (const c of fixture.cases) {
    const h = withHost(c);
    await t.test(c.name, runCase(c.name, c, Buffer.from(c.raw, 'base64'), c.messages, h !== undefined));
    if (h) await t.test(`${c.name} +Host`, runCase(`${c.name} +Host`, c, h.raw, h.messages, false));
  }
  t.diagnostic(`fixture: ${JSON.stringify(fixture.counts)}`);
  // Per case, the run that decides: the one with Host added where there is one.
  const count = (names: string[]) => {
    const out: Record<string, number> = {};
    for (const n of names) {
      const o = outcomes.get(n) ?? 'failed';
      out[o] = (out[o] ?? 0) + 1;
    }
    return JSON.stringify(out);
  };
  t.diagnostic(`runs: ${count([...outcomes.keys()])}`);
  t.diagnostic(`cases: ${count(fixture.cases.map((c) => (withHost(c) ? `${c.name} +Host` : c.name)))}`);
  // Every written reason belongs to a run of this fixture (a renamed case must not leave a stale one).
  const names = new Set(fixture.cases.flatMap((c) => (withHost(c) ? [c.name, `${c.name} +Host`] : [c.name])));
  assert.deepEqual([...Object.keys(REFUSED), ...Object.keys(FORWARDED)].filter((n) => !names.has(n)), [], 'reasons written for runs that do not exist');
});
