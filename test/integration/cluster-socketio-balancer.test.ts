// socket.io through the balancer: engine.io sids carry the route (clusterGenerateId), so the
// balancer sticks every polling request and the WebSocket upgrade to the node that issued the sid,
// with `stickysession=io|sid` (cookie `io`, URL parameter `sid`) and without any table of its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect, type Socket } from 'socket.io-client';
import { routeOf } from '../../src/cluster/index.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { startSocketIoNode, type SocketIoNode } from '../helpers/cluster-apps.js';

const MESSAGES = 50;
const CLIENTS = 4;

async function runClient(url: string, withCookies: boolean) {
  const socket: Socket = connect(url, { withCredentials: withCookies, reconnection: false, forceNew: true, timeout: 10000 });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('connect', resolve);
      socket.on('connect_error', reject);
    });
    // The handshake went by polling; wait for the upgrade to WebSocket.
    await new Promise<void>((resolve, reject) => {
      if (socket.io.engine.transport.name === 'websocket') return resolve();
      socket.io.engine.once('upgrade', () => resolve());
      socket.io.engine.once('upgradeError', reject);
    });
    const sid = socket.io.engine.id;
    const replies: { route: string; sid: string; transport: string; i: number }[] = [];
    for (let i = 0; i < MESSAGES; i++) replies.push(await socket.timeout(10000).emitWithAck('msg', { i }));
    return { sid, replies };
  } finally {
    socket.disconnect();
  }
}

const variants = [
  { title: 'cookies off, stickysession=io|sid', cookies: false, stickysession: 'io|sid' as const },
  { title: 'cookies on, stickysession=io|sid', cookies: true, stickysession: 'io|sid' as const },
  // The cookie alone carries the route here: there is no `io=` URL parameter.
  { title: 'cookies on, stickysession=io (the cookie alone)', cookies: true, stickysession: { cookie: 'io' } },
];

for (const v of variants) {
  describe(`socket.io through the balancer (${v.title})`, () => {
    let nodes: SocketIoNode[];
    let balancer: RunningBalancer;

    before(async () => {
      nodes = [await startSocketIoNode('first', { cookie: v.cookies }), await startSocketIoNode('second', { cookie: v.cookies })];
      balancer = await startBalancer(
        {
          balancers: {
            chat: {
              stickysession: v.stickysession,
              nofailover: true,
              members: nodes.map((n) => ({ url: n.url, route: n.route })),
            },
          },
          proxyPass: [{ path: '/', to: 'balancer://chat/' }],
        },
        { plugins: [] },
      );
    });

    after(async () => {
      await balancer?.close();
      await Promise.all(nodes.map((n) => n.close()));
    });

    test(`${CLIENTS} clients: handshake by polling, upgrade, ${MESSAGES} messages each, all on the node that issued the sid`, async () => {
      const results = [];
      for (let c = 0; c < CLIENTS; c++) results.push(await runClient(balancer.url, v.cookies));
      const routes = new Set<string>();
      for (const { sid, replies } of results) {
        const route = routeOf(sid)!;
        routes.add(route);
        assert.equal(replies.length, MESSAGES);
        for (const [i, r] of replies.entries()) assert.deepEqual(r, { route, sid, transport: 'websocket', i });
        const home = nodes.find((n) => n.route === route)!;
        const other = nodes.find((n) => n.route !== route)!;
        assert.equal(home.handled.filter((h) => h.sid === sid).length, MESSAGES);
        const mine = home.seen.filter((s) => s.sid === sid);
        assert.ok(mine.some((s) => s.transport === 'polling' && !s.upgrade), 'polling requests reached the home node');
        assert.equal(mine.filter((s) => s.transport === 'websocket' && s.upgrade).length, 1, 'the upgrade reached the home node');
        assert.equal(other.seen.filter((s) => s.sid === sid).length, 0, 'nothing of this sid reached the other node');
        if (v.cookies) assert.ok(mine.every((s) => s.cookie === sid), 'every request after the handshake carried the io cookie');
        assert.equal(other.handled.filter((h) => h.sid === sid).length, 0);
      }
      assert.deepEqual([...routes].sort(), ['first', 'second'], 'new connections are spread over both nodes');
    });
  });
}
