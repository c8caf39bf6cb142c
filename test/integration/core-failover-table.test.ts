// One table of failure scenarios, run through every transport of the data path: the node:http
// engine, the lean HTTP/1.1 engine, a WebSocket upgrade, and HTTP/2 streams (h2c) on each engine
// (over the lean engine's member pools, and over node:http's member requests). All of them drive
// the one failover core (src/proxy/core/failover.ts), so each scenario must end the same way on
// each: the same status
// for the client, the same request record (status, error code, outcome, member, failures,
// aborted) and the same member state afterwards (flags, errors, busy back to 0, answer tallies,
// error cause). Where a transport differs by its nature, the row says so and why.
//
// The one difference every row shares is not repeated: a WebSocket member that takes the upgrade
// answers 101 where an HTTP member answers 200, so `OK` below stands for 200 (HTTP) or 101 (ws),
// in the client status, the record and the member's answer tallies alike.
//
// A client that "goes away" here resets its connection (over HTTP/2: resets its stream). A client that only half-closes (FIN) after
// its request is not the same on the engines: node:http's server (httpAllowHalfOpen off) takes it
// for gone, the lean engine and WebSocket upgrades still answer it, so no row uses a half-close.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { refusedPort } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { until } from '../helpers/http.js';
import { hangingPort } from '../helpers/raw.js';
import type { RawBalancer, RawConfig, RawMember } from '../../src/config/schema.js';
import type { RequestRecord } from '../../src/proxy/core/record.js';
import type { FailureCode } from '../../src/proxy/errors.js';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

// ---- Members that fail on purpose ----

/**
 * How a member treats requests and upgrades:
 * - ok: answers 200 (an upgrade: takes it and echoes WebSocket messages);
 * - dead: nothing listens on its port (connection refused);
 * - hanging: its connects never complete (see hangingPort: a listener whose accept queue is full);
 * - status-503: answers 503 (an upgrade too: refused with 503);
 * - silent: reads the request and never answers;
 * - stale: drops a keep-alive connection when a second request arrives on it, once the request's
 *   body was read (a connection the member closed while it sat idle in the pool, seen too late);
 * - stale-partial: the same, but sends the start of a status line before it closes;
 * - reset-before: drops the connection as soon as a request arrives;
 * - reset-mid: answers 200 with 10 of 1000 announced bytes (an upgrade: takes it), then drops the
 *   connection when the test says so (`cut()`), once the client has the head;
 * - reset-mid-chunked: the same with a chunked answer (no length the client could check);
 * - stall-mid: answers 200 with 10 of 1000 announced bytes, then nothing (an upgrade: takes it);
 * - garbage: answers with bytes that are no HTTP status line, and closes.
 */
type Behaviour = 'ok' | 'dead' | 'hanging' | 'status-503' | 'silent' | 'stale' | 'stale-partial' | 'reset-before' | 'reset-mid' | 'reset-mid-chunked' | 'stall-mid' | 'garbage';

interface Member {
  name: string;
  url: string;
  /** Requests and upgrades that reached the member, with their bodies. */
  seen: { method: string; upgrade: boolean; body: Buffer }[];
  /** Kept-alive connections dropped by `stale` when a request came on them. */
  dropped: number;
  /** Drops every connection held open by `reset-mid`. */
  cut(): void;
  close(): Promise<void>;
}

async function startMember(name: string, behaviour: Behaviour): Promise<Member> {
  if (behaviour === 'dead') {
    const url = `http://127.0.0.1:${await refusedPort()}`;
    return { name, url, seen: [], dropped: 0, cut: () => undefined, close: async () => undefined };
  }
  if (behaviour === 'hanging') {
    const h = await hangingPort();
    return { name, url: `http://127.0.0.1:${h.port}`, seen: [], dropped: 0, cut: () => undefined, close: h.close };
  }
  const seen: Member['seen'] = [];
  let dropped = 0;
  const held = new Set<Socket>();
  const answered = new WeakMap<Socket, number>();
  const server = http.createServer({ keepAliveTimeout: 30_000 });
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(binary ? data : `${name}:${data.toString()}`)));
  server.on('request', (req, res) => {
    if (behaviour === 'reset-before') {
      seen.push({ method: req.method!, upgrade: false, body: Buffer.alloc(0) });
      req.socket.destroy();
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const n = answered.get(req.socket) ?? 0;
      if (behaviour === 'stale' && n > 0) {
        dropped++;
        req.socket.destroy();
        return;
      }
      if (behaviour === 'stale-partial' && n > 0) {
        dropped++;
        req.socket.end('HTTP/1.1 200 O');
        return;
      }
      seen.push({ method: req.method!, upgrade: false, body });
      answered.set(req.socket, n + 1);
      if (behaviour === 'silent') return;
      if (behaviour === 'garbage') req.socket.end('HELLO THERE\r\n\r\n');
      else if (behaviour === 'status-503') {
        res.writeHead(503, { 'Content-Type': 'text/plain', 'X-Member': name });
        res.end('busy');
      } else if (behaviour === 'stall-mid') {
        res.writeHead(200, { 'Content-Length': '1000', 'X-Member': name });
        res.write('x'.repeat(10));
      } else if (behaviour === 'reset-mid' || behaviour === 'reset-mid-chunked') {
        res.writeHead(200, behaviour === 'reset-mid' ? { 'Content-Length': '1000', 'X-Member': name } : { 'X-Member': name });
        res.write('x'.repeat(10));
        held.add(req.socket);
      } else {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Member': name });
        res.end(body);
      }
    });
  });
  server.on('upgrade', (req, socket: Socket, head) => {
    seen.push({ method: req.method!, upgrade: true, body: Buffer.alloc(0) });
    socket.on('error', () => undefined);
    if (behaviour === 'reset-before') socket.destroy();
    else if (behaviour === 'silent') held.add(socket);
    else if (behaviour === 'garbage') socket.end('HELLO THERE\r\n\r\n');
    else if (behaviour === 'status-503') socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy');
    else {
      if (behaviour === 'reset-mid' || behaviour === 'reset-mid-chunked') held.add(socket);
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    name,
    url,
    seen,
    get dropped() {
      return dropped;
    },
    cut: () => {
      for (const s of held) s.destroy();
      held.clear();
    },
    close: async () => {
      for (const s of held) s.destroy();
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---- The table ----

type Transport = 'node' | 'lean' | 'ws' | 'h2-lean' | 'h2-node';
const TRANSPORTS: Transport[] = ['node', 'lean', 'ws', 'h2-lean', 'h2-node'];

/** 200 for HTTP, 101 for a WebSocket upgrade (see the head of the file). */
const OK = 'OK';
type Status = number | typeof OK;

interface MemberExpect {
  E: boolean;
  errors: number;
  /** Answers counted per status class; `OK` is 2xx for HTTP, 1xx for ws. Classes not named are 0. */
  responses: Partial<Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx' | typeof OK, number>>;
  /** `@name` stands for that member's URL. */
  errorCause: string;
}

interface Expect {
  /** What the client gets (the status of the answer head, even when the body is cut later). */
  status: Status;
  /** The client's answer was cut short (HTTP: body incomplete; ws: the tunnel closed by the member). */
  cut: boolean;
  record: {
    status: Status | undefined;
    error: FailureCode | undefined;
    outcome: RequestRecord['outcome'];
    /** The member the record names, by name. */
    member: string | undefined;
    /** `@name` stands for that member's URL. */
    failures: string[];
    aborted: boolean;
    /** What the error's detail (for the log, never shown) must say, where the rows pin it. */
    detail?: RegExp;
  };
  members: Record<string, MemberExpect>;
  /** The balancer's count of requests refused for want of a usable member. */
  refused: number;
  /** Pooled connections the `stale` member dropped under a request (0 when not named). */
  dropped?: number;
}

interface Scenario {
  name: string;
  members: [string, Behaviour, Partial<RawMember>?][];
  balancer?: Partial<Omit<RawBalancer, 'members'>>;
  /** A request body (ws: none, a handshake has no body). */
  body?: number;
  cookie?: string;
  /** One plain GET first, through the same balancer, so the member has a pooled connection. */
  warm?: boolean;
  /** Done to the running balancer before the request. */
  before?: (lb: RunningBalancer) => void;
  /** Done while the request is in flight; `leave` resets the client's connection. */
  during?: (lb: RunningBalancer, leave: () => void, members: Member[]) => Promise<void>;
  expect: Expect;
  /** Where the WebSocket transport differs: what it gets instead, and why. */
  ws?: { why: string; expect?: Partial<Omit<Expect, 'record'>> & { record?: Partial<Expect['record']> }; skip?: boolean };
}

const untouched: MemberExpect = { E: false, errors: 0, responses: {}, errorCause: '' };

const SCENARIOS: Scenario[] = [
  {
    name: 'connection refused: the member is put in error and the next one answers',
    members: [
      ['dead', 'dead'],
      ['alive', 'ok'],
    ],
    body: 2048,
    expect: {
      status: OK,
      cut: false,
      record: { status: OK, error: undefined, outcome: 'new', member: 'alive', failures: ['@dead: ECONNREFUSED'], aborted: false },
      members: {
        dead: { E: true, errors: 1, responses: {}, errorCause: '@dead: ECONNREFUSED' },
        alive: { E: false, errors: 0, responses: { OK: 1 }, errorCause: '' },
      },
      refused: 0,
    },
  },
  {
    name: 'connect timeout: 503, the member is put in error',
    members: [['hang', 'hanging', { connectiontimeout: '150ms' }]],
    expect: {
      status: 503,
      cut: false,
      record: { status: 503, error: 'ERR_CONNECT_TIMEOUT', detail: /connect timeout/, outcome: 'new', member: 'hang', failures: ['@hang: connect timeout'], aborted: false },
      members: { hang: { E: true, errors: 1, responses: {}, errorCause: '@hang: connect timeout' } },
      refused: 0,
    },
  },
  {
    name: 'connect timeout, then failover to a member that answers',
    members: [
      ['hang', 'hanging', { connectiontimeout: '150ms' }],
      ['alive', 'ok'],
    ],
    expect: {
      status: OK,
      cut: false,
      record: { status: OK, error: undefined, outcome: 'new', member: 'alive', failures: ['@hang: connect timeout'], aborted: false },
      members: {
        hang: { E: true, errors: 1, responses: {}, errorCause: '@hang: connect timeout' },
        alive: { E: false, errors: 0, responses: { OK: 1 }, errorCause: '' },
      },
      refused: 0,
    },
  },
  {
    name: 'stale pooled connection, no body: sent once more on a fresh connection, no member failure',
    members: [['flaky', 'stale']],
    warm: true,
    expect: {
      status: OK,
      cut: false,
      record: { status: OK, error: undefined, outcome: 'new', member: 'flaky', failures: [], aborted: false },
      members: { flaky: { E: false, errors: 0, responses: { '2xx': 1, OK: 1 }, errorCause: '' } },
      refused: 0,
      dropped: 1,
    },
    ws: {
      expect: { dropped: 0 },
      why: 'an upgrade never takes a pooled connection (the tunnel keeps the connection it opens), so the handshake goes on a fresh one and meets no stale connection; it ends as the retried request does',
    },
  },
  {
    name: 'stale pooled connection with a body: the body is replayed on a fresh connection',
    members: [['flaky', 'stale']],
    warm: true,
    body: 4096,
    expect: {
      status: OK,
      cut: false,
      record: { status: OK, error: undefined, outcome: 'new', member: 'flaky', failures: [], aborted: false },
      members: { flaky: { E: false, errors: 0, responses: { '2xx': 2 }, errorCause: '' } },
      refused: 0,
      dropped: 1,
    },
    ws: {
      skip: true,
      why: 'a handshake that carries a body is no WebSocket upgrade: it goes on as a plain request (the node and lean rows), and upgrades never use pooled connections',
    },
  },
  {
    name: 'failonstatus: the 503 reaches the client, then the member is in error',
    members: [
      ['a', 'status-503'],
      ['b', 'ok'],
    ],
    balancer: { failonstatus: [503] },
    expect: {
      status: 503,
      cut: false,
      record: { status: 503, error: undefined, outcome: 'new', member: 'a', failures: [], aborted: false },
      members: { a: { E: true, errors: 1, responses: { '5xx': 1 }, errorCause: 'status 503' }, b: untouched },
      refused: 0,
    },
  },
  {
    name: 'failontimeout On: 504, the member is put in error',
    members: [
      ['slow', 'silent', { timeout: '150ms' }],
      ['b', 'ok'],
    ],
    balancer: { failontimeout: true },
    expect: {
      status: 504,
      cut: false,
      record: { status: 504, error: 'ERR_UPSTREAM_TIMEOUT', detail: /no answer in 150 ms/, outcome: 'new', member: 'slow', failures: [], aborted: false },
      members: { slow: { E: true, errors: 1, responses: {}, errorCause: 'timeout' }, b: untouched },
      refused: 0,
    },
  },
  {
    name: 'failontimeout Off (the default): 504, the member stays in service',
    members: [
      ['slow', 'silent', { timeout: '150ms' }],
      ['b', 'ok'],
    ],
    expect: {
      status: 504,
      cut: false,
      record: { status: 504, error: 'ERR_UPSTREAM_TIMEOUT', detail: /no answer in 150 ms/, outcome: 'new', member: 'slow', failures: [], aborted: false },
      members: { slow: untouched, b: untouched },
      refused: 0,
    },
  },
  {
    name: 'nofailover On: the session\'s member is refused, 503, no other member is tried',
    members: [
      ['dead', 'dead'],
      ['alive', 'ok'],
    ],
    balancer: { stickysession: '_s', nofailover: true },
    cookie: '_s=abc.dead',
    expect: {
      status: 503,
      cut: false,
      record: { status: 503, error: 'ERR_NOFAILOVER', outcome: 'refused-nofailover', member: undefined, failures: ['@dead: ECONNREFUSED'], aborted: false },
      members: { dead: { E: true, errors: 1, responses: {}, errorCause: '@dead: ECONNREFUSED' }, alive: untouched },
      refused: 1,
    },
  },
  {
    name: 'nofailover Off: the session moves to a member that answers',
    members: [
      ['dead', 'dead'],
      ['alive', 'ok'],
    ],
    balancer: { stickysession: '_s', nofailover: false },
    cookie: '_s=abc.dead',
    expect: {
      status: OK,
      cut: false,
      record: { status: OK, error: undefined, outcome: 'route-changed', member: 'alive', failures: ['@dead: ECONNREFUSED'], aborted: false },
      members: {
        dead: { E: true, errors: 1, responses: {}, errorCause: '@dead: ECONNREFUSED' },
        alive: { E: false, errors: 0, responses: { OK: 1 }, errorCause: '' },
      },
      refused: 0,
    },
  },
  {
    // Apache's balancer timeout waits for a usable member ("busy" in its docs: every member in
    // error, disabled or otherwise out); a member at its connection limit is waited for by the
    // connection pool, not here.
    name: 'balancer timeout, every member in error or disabled: 503 once it passes, refused once',
    members: [
      ['a', 'ok'],
      ['b', 'ok', { status: '+D' }],
    ],
    balancer: { timeout: '300ms', forcerecovery: false },
    before: (lb) => {
      const b = lb.app.runtime.balancer('c')!;
      b.markFailure(b.member('a')!, 'an earlier failure');
    },
    expect: {
      status: 503,
      cut: false,
      record: { status: 503, error: 'ERR_NO_MEMBER', outcome: 'no-member', member: undefined, failures: [], aborted: false },
      members: { a: { E: true, errors: 1, responses: {}, errorCause: 'an earlier failure' }, b: untouched },
      refused: 1,
    },
  },
  {
    name: 'balancer timeout: a member that comes back during the wait answers',
    members: [['a', 'ok', { status: '+D' }]],
    balancer: { timeout: '5s' },
    during: async (lb) => {
      await until(() => lb.app.server.stats().inFlight === 1, 'the request to wait');
      const b = lb.app.runtime.balancer('c')!;
      b.setFlag(b.member('a')!, 'D', false, 'test');
    },
    expect: {
      status: OK,
      cut: false,
      record: { status: OK, error: undefined, outcome: 'new', member: 'a', failures: [], aborted: false },
      members: { a: { E: false, errors: 0, responses: { OK: 1 }, errorCause: '' } },
      refused: 0,
    },
  },
  {
    name: 'the client goes away while its request waits for a member: no answer, no refusal',
    members: [['a', 'ok', { status: '+D' }]],
    balancer: { timeout: '5s' },
    during: async (lb, leave) => {
      await until(() => lb.app.server.stats().inFlight === 1, 'the request to wait');
      leave();
    },
    expect: {
      status: 0,
      cut: true,
      record: { status: undefined, error: undefined, outcome: 'no-member', member: undefined, failures: [], aborted: true },
      members: { a: untouched },
      refused: 0,
    },
  },
  {
    name: 'the client goes away while the member works on its request: the member connection is dropped at once',
    members: [['slow', 'silent', { timeout: '60s' }]],
    during: async (_lb, leave, members) => {
      await until(() => members[0].seen.length === 1, 'the member to have the request');
      leave();
    },
    expect: {
      status: 0,
      cut: true,
      record: { status: undefined, error: undefined, outcome: 'new', member: 'slow', failures: [], aborted: true },
      members: { slow: untouched },
      refused: 0,
    },
  },
  {
    name: 'maxattempts exhausted: two refused members, 503, the live one is never tried',
    members: [
      ['dead0', 'dead'],
      ['dead1', 'dead'],
      ['live', 'ok'],
    ],
    balancer: { maxattempts: 1 },
    body: 100,
    expect: {
      status: 503,
      cut: false,
      record: { status: 503, error: 'ERR_CONNECT', outcome: 'new', member: 'dead1', failures: ['@dead0: ECONNREFUSED', '@dead1: ECONNREFUSED'], aborted: false },
      members: {
        dead0: { E: true, errors: 1, responses: {}, errorCause: '@dead0: ECONNREFUSED' },
        dead1: { E: true, errors: 1, responses: {}, errorCause: '@dead1: ECONNREFUSED' },
        live: untouched,
      },
      refused: 0,
    },
  },
  {
    name: 'member reset before answering (fresh connection): 502, not retried, no member failure',
    members: [
      ['rst', 'reset-before'],
      ['b', 'ok'],
    ],
    expect: {
      status: 502,
      cut: false,
      record: { status: 502, error: 'ERR_UPSTREAM_RESET', outcome: 'new', member: 'rst', failures: [], aborted: false },
      members: { rst: untouched, b: untouched },
      refused: 0,
    },
  },
  {
    name: 'a pooled connection that closes after part of an answer is no stale one: 502, not sent again',
    members: [['flaky', 'stale-partial']],
    warm: true,
    body: 100,
    expect: {
      status: 502,
      cut: false,
      record: { status: 502, error: 'ERR_UPSTREAM_RESET', outcome: 'new', member: 'flaky', failures: [], aborted: false },
      members: { flaky: { E: false, errors: 0, responses: { '2xx': 1 }, errorCause: '' } },
      refused: 0,
      dropped: 1,
    },
    ws: {
      skip: true,
      why: 'a handshake that carries a body is no WebSocket upgrade, and upgrades never use pooled connections (see the stale rows)',
    },
  },
  {
    name: 'a malformed answer head: 502, not retried, no member failure',
    members: [
      ['bad', 'garbage'],
      ['b', 'ok'],
    ],
    expect: {
      status: 502,
      cut: false,
      record: { status: 502, error: 'ERR_UPSTREAM_BAD_RESPONSE', outcome: 'new', member: 'bad', failures: [], aborted: false },
      members: { bad: untouched, b: untouched },
      refused: 0,
    },
  },
  {
    name: 'member reset mid-answer: the client\'s answer is cut, the member stays in service',
    members: [['mid', 'reset-mid']],
    expect: {
      status: 200,
      cut: true,
      record: { status: 200, error: 'ERR_UPSTREAM_RESET', outcome: 'new', member: 'mid', failures: [], aborted: true },
      members: { mid: { E: false, errors: 0, responses: { '2xx': 1 }, errorCause: '' } },
      refused: 0,
    },
    ws: {
      why: 'after the 101 the connection is a tunnel, not an answer: the member closing it closes the WebSocket (1006), no HTTP answer is cut, and the record (published once the tunnel opened) has no error',
      expect: {
        status: 101,
        record: { status: 101, error: undefined, aborted: false },
        members: { mid: { E: false, errors: 0, responses: { '1xx': 1 }, errorCause: '' } },
      },
    },
  },
  {
    name: 'member reset mid-answer without a length (chunked): the client\'s answer is still cut, never ended as if whole',
    members: [['mid', 'reset-mid-chunked']],
    expect: {
      status: 200,
      cut: true,
      record: { status: 200, error: 'ERR_UPSTREAM_RESET', outcome: 'new', member: 'mid', failures: [], aborted: true },
      members: { mid: { E: false, errors: 0, responses: { '2xx': 1 }, errorCause: '' } },
      refused: 0,
    },
    ws: {
      skip: true,
      why: 'an upgrade has no answer body, chunked or not: the reset-mid row covers the tunnel',
    },
  },
  {
    name: 'member stalls mid-answer past its timeout: the answer is cut; failontimeout covers only the wait for the head',
    members: [['mid', 'stall-mid', { timeout: '150ms' }]],
    balancer: { failontimeout: true },
    expect: {
      status: 200,
      cut: true,
      record: { status: 200, error: 'ERR_UPSTREAM_RESET', detail: /no traffic within the member timeout/, outcome: 'new', member: 'mid', failures: [], aborted: true },
      members: { mid: { E: false, errors: 0, responses: { '2xx': 1 }, errorCause: '' } },
      refused: 0,
    },
    ws: {
      why: 'after the 101 there is no answer to wait for: a quiet WebSocket is no timeout (the member timeout covers the handshake), the tunnel stays open until the client closes it',
      expect: {
        status: 101,
        cut: false,
        record: { status: 101, error: undefined, detail: undefined, aborted: false },
        members: { mid: { E: false, errors: 0, responses: { '1xx': 1 }, errorCause: '' } },
      },
    },
  },
];

// ---- Running a row through a transport ----

/** A request under way: what the client will see, and a way for the client to go away. */
interface Call {
  seen: Promise<Seen>;
  leave(): void;
}

interface Seen {
  status: number;
  /** The answer body as received (HTTP only). */
  body: Buffer;
  cut: boolean;
}

/** One HTTP request on a fresh client connection; `onHead` runs once the head and first bytes came. */
function httpCall(port: number, s: Scenario, body: Buffer | undefined, onHead: () => void): Call {
  let req!: http.ClientRequest;
  const seen = new Promise<Seen>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (s.cookie) headers.Cookie = s.cookie;
    if (body) headers['Content-Length'] = String(body.length);
    req = http.request({ host: '127.0.0.1', port, path: '/t', method: body ? 'POST' : 'GET', headers, agent: false });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let told = false;
      res.on('data', (c: Buffer) => {
        parts.push(c);
        if (!told) {
          told = true;
          onHead();
        }
      });
      const done = (cut: boolean) => resolve({ status: res.statusCode!, body: Buffer.concat(parts), cut });
      res.on('end', () => done(!res.complete));
      res.on('error', () => done(true));
      res.on('aborted', () => done(true));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (req.socket?.destroyed && e.code === 'ECONNRESET') resolve({ status: 0, body: Buffer.alloc(0), cut: true });
      else reject(e);
    });
    req.end(body);
  });
  // A reset, not a FIN: a client that half-closes after its request may still want the answer.
  return { seen, leave: () => req.socket?.resetAndDestroy() };
}

/** One request on a new HTTP/2 (h2c) connection; `onHead` runs once the head and first bytes came. */
function h2Call(port: number, s: Scenario, body: Buffer | undefined, onHead: () => void): Call {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const headers: http2.OutgoingHttpHeaders = { ':method': body ? 'POST' : 'GET', ':path': '/t' };
  if (s.cookie) headers.cookie = s.cookie;
  if (body) headers['content-length'] = String(body.length);
  const req = session.request(headers, { endStream: body === undefined });
  const seen = new Promise<Seen>((resolve) => {
    let status = 0;
    let ended = false;
    const parts: Buffer[] = [];
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => {
      if (parts.push(c) === 1) onHead();
    });
    req.on('end', () => (ended = true));
    req.on('error', () => undefined);
    // A stream reset (by the balancer cutting the answer, or by us leaving) is a cut answer.
    req.on('close', () => {
      session.close();
      resolve({ status, body: Buffer.concat(parts), cut: !ended || req.rstCode !== http2.constants.NGHTTP2_NO_ERROR });
    });
  });
  if (body) req.end(body);
  return { seen, leave: () => req.close(http2.constants.NGHTTP2_CANCEL) };
}

/** One WebSocket handshake; once open, one message round trip, then `onHead`, then waits for the close. */
function wsCall(port: number, s: Scenario, onHead: () => void): Call {
  const headers: Record<string, string> = {};
  if (s.cookie) headers.Cookie = s.cookie;
  let socket: Socket | undefined;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/t`, {
    headers,
    createConnection: ((o: net.NetConnectOpts) => (socket = net.connect(o))) as typeof net.createConnection,
  });
  let left = false;
  const seen = new Promise<Seen>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts), cut: false }));
      res.on('error', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts), cut: true }));
    });
    ws.once('open', () => {
      ws.once('message', () => {
        let closedByUs = false;
        ws.once('close', (code) => resolve({ status: 101, body: Buffer.alloc(0), cut: !closedByUs && code === 1006 }));
        onHead();
        // A member that drops its connections on `cut()` closes the tunnel itself.
        if (s.members.some(([, b]) => b === 'reset-mid' || b === 'reset-mid-chunked')) return;
        closedByUs = true;
        ws.close();
      });
      ws.send('ping');
    });
    ws.once('error', (e) => {
      // A handshake refused with a status is reported through unexpected-response.
      if (left) resolve({ status: 0, body: Buffer.alloc(0), cut: true });
      else if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
  return {
    seen,
    leave: () => {
      left = true;
      socket?.resetAndDestroy();
    },
  };
}

function configFor(s: Scenario, transport: Transport, members: Member[]): RawConfig {
  const raw: RawConfig = {
    balancers: {
      c: {
        ...s.balancer,
        members: s.members.map(([name, , extra], i) => ({ url: members[i].url, route: name, ...extra })),
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  };
  // The WebSocket rows run on whichever engine the run uses (the lean engine by default, which
  // hands upgrades to node:http; STICKYLB_ENGINE=node runs them on the node engine).
  if (transport === 'node' || transport === 'lean') raw.engine = transport;
  else if (transport !== 'ws') {
    raw.engine = transport === 'h2-lean' ? 'lean' : 'node';
    raw.listen = [{ host: '127.0.0.1', port: 0, protocols: ['h2c', 'http/1.1'] }];
  }
  return raw;
}

/** The row's expectation for a transport, with `OK` and `@name` resolved. */
function expected(s: Scenario, transport: Transport, members: Member[]): Expect {
  const over = transport === 'ws' ? s.ws?.expect : undefined;
  const e: Expect = { ...s.expect, ...over, record: { ...s.expect.record, ...over?.record } } as Expect;
  const ok = transport === 'ws' ? 101 : 200;
  const st = (v: Status | undefined) => (v === OK ? ok : v);
  const url = (t: string) => t.replace(/@(\w+)/g, (_, n: string) => members[s.members.findIndex(([name]) => name === n)].url);
  const out: Expect = {
    status: st(e.status)!,
    cut: e.cut,
    record: { ...e.record, status: st(e.record.status), failures: e.record.failures.map(url) },
    members: {},
    refused: e.refused,
    dropped: e.dropped ?? 0,
  };
  for (const [name, m] of Object.entries(e.members)) {
    const responses: Record<string, number> = {};
    for (const [cls, n] of Object.entries(m.responses)) {
      const k = cls === OK ? (transport === 'ws' ? '1xx' : '2xx') : cls;
      responses[k] = (responses[k] ?? 0) + n!;
    }
    out.members[name] = { ...m, responses, errorCause: url(m.errorCause) };
  }
  return out;
}

function memberState(lb: RunningBalancer, name: string): MemberExpect {
  const m = lb.app.runtime.balancer('c')!.member(name)!;
  const responses: Record<string, number> = {};
  for (const [cls, n] of Object.entries(m.responses)) if (n) responses[cls] = n;
  return { E: m.flags.E, errors: m.errors, responses, errorCause: m.errorCause };
}

async function runRow(s: Scenario, transport: Transport): Promise<void> {
  const members: Member[] = [];
  for (const [name, behaviour] of s.members) {
    const m = await startMember(name, behaviour);
    members.push(m);
    cleanup.push(() => m.close());
  }
  const lb = await startBalancer(configFor(s, transport, members));
  cleanup.push(() => lb.close());
  const records: RequestRecord[] = [];
  lb.app.server.records.subscribe((r) => {
    if (r.target === '/t') records.push(r);
  });
  if (s.warm) {
    const warm = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: lb.port, path: '/warm', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      }).on('error', reject);
    });
    assert.equal(warm, 200, 'the warm-up request');
  }
  s.before?.(lb);
  const body = s.body && transport !== 'ws' ? randomBytes(s.body) : undefined;
  const cut = () => {
    for (const m of members) m.cut();
  };
  const call = transport === 'ws' ? wsCall(lb.port, s, cut) : transport === 'h2-lean' || transport === 'h2-node' ? h2Call(lb.port, s, body, cut) : httpCall(lb.port, s, body, cut);
  if (s.during) await s.during(lb, call.leave, members);
  const got = await call.seen;
  const want = expected(s, transport, members);

  assert.deepEqual({ status: got.status, cut: got.cut }, { status: want.status, cut: want.cut }, 'what the client got');
  if (body && got.status === 200 && !got.cut) assert.ok(got.body.equals(body), 'the member echoed the whole body');

  await until(() => records.length > 0, 'the request record');
  // Give a late second record no chance to hide: wait for the request to be over everywhere.
  await until(() => lb.app.server.stats().inFlight === 0, 'nothing in flight');
  assert.equal(records.length, 1, 'one record');
  const r = records[0];
  const { detail, ...wantRecord } = want.record;
  if (detail) assert.match(r.error?.detail ?? '', detail, 'the error detail');
  assert.equal(r.transport, { ws: 'ws', lean: 'h1-lean', node: 'h1-node', 'h2-lean': 'h2', 'h2-node': 'h2' }[transport]);
  assert.deepEqual(
    { status: r.status, error: r.error?.code, outcome: r.outcome, member: r.member?.route, failures: [...r.failures], aborted: r.aborted },
    wantRecord,
    'the request record',
  );

  const state = lb.app.runtime.balancer('c')!;
  await until(() => state.members.every((m) => m.busy === 0), 'busy back to 0 on every member');
  const names = s.members.map(([name]) => name);
  assert.deepEqual(Object.fromEntries(names.map((n) => [n, memberState(lb, n)])), want.members, 'member state');
  assert.equal(state.refused, want.refused, 'requests refused by the balancer');
  assert.equal(
    members.reduce((n, m) => n + m.dropped, 0),
    want.dropped,
    'pooled connections found dead under a request',
  );
}

for (const s of SCENARIOS) {
  describe(s.name, () => {
    for (const transport of TRANSPORTS) {
      const skip = transport === 'ws' && s.ws?.skip ? s.ws.why : false;
      test(transport, { skip }, () => runRow(s, transport));
    }
  });
}
