// The Express, Fastify and socket.io adapters against real nodes, without a balancer: the ids
// carry the route, the cookies keep it visible to the balancer's route extraction, and the
// frameworks still accept their own (signed) cookies.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect, type Socket } from 'socket.io-client';
import { findRoute } from '../../src/balancer/sticky/route-id.js';
import { request } from '../helpers/http.js';
import { startExpressNode, startFastifyNode, startSocketIoNode, type AppNode } from '../helpers/cluster-apps.js';

const nodes: AppNode[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

/** The value part of the Set-Cookie for `name`. */
function setCookieValue(headers: Record<string, unknown>, name: string): string | undefined {
  const lines = (headers['set-cookie'] as string[] | undefined) ?? [];
  const line = lines.find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

function balancerRoute(cookie: string, name: string): string | undefined {
  return findRoute('/', cookie, { cookie: name }, '.', false).route;
}

describe('express + express-session', () => {
  test('ids carry the route and the signed cookie stays routable', async () => {
    const node = await startExpressNode('first');
    nodes.push(node);
    const r1 = await request(`${node.url}/count`);
    const body = r1.json();
    assert.match(body.id, /^[A-Za-z0-9_-]{22}\.first$/);
    const value = setCookieValue(r1.headers, 'connect.sid')!;
    assert.equal(value, `${value.slice(0, 64)}~${body.id}`);
    assert.match(value, /^[0-9a-f]{64}~/);
    assert.equal(balancerRoute(`connect.sid=${value}`, 'connect.sid'), 'first');

    const r2 = await request(`${node.url}/count`, { headers: { cookie: `other=1; connect.sid=${value}` } });
    assert.deepEqual(r2.json(), { route: 'first', n: 2, id: body.id });

    // A forged signature is refused by express-session: a new session starts.
    const forged = value.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const r3 = await request(`${node.url}/count`, { headers: { cookie: `connect.sid=${forged}` } });
    assert.equal(r3.json().n, 1);
    assert.notEqual(r3.json().id, body.id);

    const live = await request(`${node.url}/.well-known/stickylb/sessions`);
    assert.deepEqual(live.json(), { route: 'first', sessions: 2 });
  });

  test("without clusterSessionCookie the balancer would read the signature as part of the route", async () => {
    const node = await startExpressNode('first', { routeLast: false });
    nodes.push(node);
    const r = await request(`${node.url}/count`);
    const value = setCookieValue(r.headers, 'connect.sid')!;
    assert.match(value, /^s%3A[A-Za-z0-9_-]{22}\.first\./);
    assert.match(balancerRoute(`connect.sid=${value}`, 'connect.sid')!, /^first\..+/);
  });
});

describe('fastify + @fastify/session', () => {
  test('ids carry the route and the signed cookie stays routable', async () => {
    const node = await startFastifyNode('second');
    nodes.push(node);
    const r1 = await request(`${node.url}/count`);
    const body = r1.json();
    assert.match(body.id, /^[A-Za-z0-9_-]{22}\.second$/);
    const value = setCookieValue(r1.headers, 'sessionId')!;
    assert.equal(value, `${value.slice(0, 64)}~${body.id}`);
    assert.equal(balancerRoute(`sessionId=${value}`, 'sessionId'), 'second');
    const r2 = await request(`${node.url}/count`, { headers: { cookie: `sessionId=${value}` } });
    assert.deepEqual(r2.json(), { route: 'second', n: 2, id: body.id });
    const forged = `${value.slice(0, 64)}~${body.id.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A'))}`;
    const r3 = await request(`${node.url}/count`, { headers: { cookie: `sessionId=${forged}` } });
    assert.equal(r3.json().n, 1);
  });
});

describe('socket.io', () => {
  test("the handshake answers with a route-suffixed sid, also in engine.io's io cookie", async () => {
    const node = await startSocketIoNode('first', { cookie: true });
    nodes.push(node);
    const r = await request(`${node.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(r.status, 200);
    // Engine.IO v4 open packet: "0" followed by JSON.
    const open = JSON.parse(r.body.slice(1));
    assert.match(open.sid, /^[A-Za-z0-9_-]{22}\.first$/);
    assert.deepEqual(r.headers['set-cookie'], [`io=${open.sid}; Path=/; HttpOnly; SameSite=Lax`]);
  });

  for (const withCookies of [false, true]) {
    test(`a client polls, upgrades to WebSocket and keeps its sid (cookies ${withCookies ? 'on' : 'off'})`, async () => {
      const node = await startSocketIoNode('first', { cookie: withCookies });
      nodes.push(node);
      const socket: Socket = connect(node.url, { withCredentials: withCookies, reconnection: false, forceNew: true });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.on('connect', resolve);
          socket.on('connect_error', reject);
        });
        const sid = socket.io.engine.id;
        assert.match(sid, /\.first$/);
        await new Promise<void>((resolve) => {
          if (socket.io.engine.transport.name === 'websocket') resolve();
          else socket.io.engine.on('upgrade', () => resolve());
        });
        for (let i = 0; i < 5; i++) {
          const reply = await socket.timeout(5000).emitWithAck('msg', { i });
          assert.deepEqual(reply, { route: 'first', sid, transport: 'websocket', i });
        }
        // After the handshake, polling requests and the upgrade carry the sid in the URL.
        assert.ok(node.seen.some((s) => s.transport === 'polling' && !s.upgrade));
        assert.equal(node.seen.filter((s) => s.transport === 'websocket' && s.upgrade).length, 1);
        assert.ok(node.seen.every((s) => s.sid === sid));
        // engine.io-client keeps cookies only with withCredentials (its cookie jar in Node).
        assert.deepEqual(new Set(node.seen.map((s) => s.cookie)), new Set([withCookies ? sid : '']));
      } finally {
        socket.disconnect();
      }
    });
  }
});
