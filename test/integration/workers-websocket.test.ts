// WebSocket through worker processes: a real `stickylb run` with 2 workers in front of two real
// `ws` members. Upgrades from many connections at once (the kernel spreads them over both
// workers) follow their session's route, by cookie and by URL parameter; messages go both ways
// (the member's own first, text, binary and large ones); the balancer's counts (elected, busy)
// are every worker's together and busy returns to 0 when the sockets close.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startWsNode, type WsNode } from '../helpers/ws-node.js';
import { request, until } from '../helpers/http.js';
import { startWorkersBalancer, type WorkersBalancer } from '../helpers/workers.js';

let first: WsNode;
let second: WsNode;
let lb: WorkersBalancer;

before(async () => {
  first = await startWsNode('first', { greet: true });
  second = await startWsNode('second', { greet: true });
  lb = await startWorkersBalancer({
    workers: 2,
    balancers: {
      c: {
        stickysession: '_s',
        nofailover: true,
        members: [
          { url: first.url, route: 'first' },
          { url: second.url, route: 'second' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
    accessLog: [{ path: 'access.log', format: '%P %U%q %>s' }],
  });
});

after(async () => {
  await lb?.stop();
  await first?.close();
  await second?.close();
});

/** Opens a socket and collects its messages from the first on (the member's greeting). */
function open(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; inbox: { data: Buffer; binary: boolean }[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const inbox: { data: Buffer; binary: boolean }[] = [];
    ws.on('message', (data, binary) => inbox.push({ data: data as Buffer, binary }));
    ws.once('open', () => resolve({ ws, inbox }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

async function nextMessage(inbox: { data: Buffer; binary: boolean }[], index: number): Promise<{ data: Buffer; binary: boolean }> {
  await until(() => inbox.length > index, `message ${index + 1}`, 10_000);
  return inbox[index];
}

/** Which worker (pid) took each upgrade, by the access log line of its path. */
function upgradesByPid(tag: string): Map<string, number> {
  const f = join(lb.dir, 'access.log');
  const by = new Map<string, number>();
  if (!existsSync(f)) return by;
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const [pid, path, status] = line.split(' ');
    if (path?.startsWith(`/live?${tag}`) && status === '101') by.set(pid, (by.get(pid) ?? 0) + 1);
  }
  return by;
}

async function member(route: string): Promise<{ busy: number; elected: number }> {
  return (await request(`${lb.manager}/api/balancers/c/members/${route}`)).json();
}

test('websocket through 2 workers: many upgrades at once follow their route; messages both ways; busy is every worker\'s and returns to 0', async () => {
  const electedBefore = { first: (await member('first')).elected, second: (await member('second')).elected };
  let spread: Map<string, number> | undefined;
  let total = 0;
  for (let round = 0; round < 10 && !spread; round++) {
    const routes = Array.from({ length: 16 }, (_, i) => (i % 2 ? 'first' : 'second'));
    // Half by the session cookie, half by the session in the URL.
    const sockets = await Promise.all(
      routes.map((route, i) =>
        i % 4 < 2 ? open(`ws://127.0.0.1:${lb.port}/live?r${round}-${i}`, { Cookie: `_s=abc${i}.${route}` }) : open(`ws://127.0.0.1:${lb.port}/live?r${round}-${i}&_s=abc${i}.${route}`),
      ),
    );
    total += sockets.length;
    try {
      // Every socket is open at once: busy counts them on both members, over both workers.
      await until(async () => (await member('first')).busy === 8 && (await member('second')).busy === 8, 'busy 8 on each member', 10_000);
      await Promise.all(
        sockets.map(async ({ ws, inbox }, i) => {
          const route = routes[i];
          // The member speaks first.
          assert.equal((await nextMessage(inbox, 0)).data.toString(), `hello from ${route}`);
          for (let k = 0; k < 3; k++) {
            ws.send(`m${k} of ${i}`);
            assert.equal((await nextMessage(inbox, 1 + k)).data.toString(), `${route}:m${k} of ${i}`);
          }
          const payload = Buffer.from([0, 1, 2, 255, 254, i]);
          ws.send(payload, { binary: true });
          const got = await nextMessage(inbox, 4);
          assert.equal(got.binary, true);
          assert.ok(got.data.equals(payload));
          const big = String(i).repeat(100_000);
          ws.send(big);
          assert.equal((await nextMessage(inbox, 5)).data.toString(), `${route}:${big}`);
        }),
      );
    } finally {
      for (const { ws } of sockets) ws.close();
    }
    await until(async () => (await member('first')).busy === 0 && (await member('second')).busy === 0, 'busy back to 0 after the sockets closed', 10_000);
    await until(() => [...upgradesByPid(`r${round}-`).values()].reduce((a, b) => a + b, 0) === 16, 'the access log lines of the upgrades', 10_000);
    const by = upgradesByPid(`r${round}-`);
    if (by.size === 2) spread = by;
  }
  console.log(`websocket: ${total} upgrades; in the spread round, by worker: ${[...(spread ?? new Map()).values()].join(' + ')}`);
  assert.ok(spread, 'the kernel gave both workers upgrades in some round');
  // Sessions stuck to their route: each member got exactly its own, with the session it was sent.
  assert.equal(first.upgrades.length, total / 2);
  assert.equal(second.upgrades.length, total / 2);
  for (const h of [...first.upgrades, ...second.upgrades]) {
    assert.equal(h.upgrade, 'websocket');
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
  }
  for (const h of first.upgrades.filter((x) => x.cookie)) assert.match(h.cookie!, /^_s=abc\d+\.first$/);
  for (const h of second.upgrades.filter((x) => x.cookie)) assert.match(h.cookie!, /^_s=abc\d+\.second$/);
  // Sticky upgrades are not new sessions: elected counts what the workers routed, summed by the owner.
  await until(async () => (await member('first')).elected - electedBefore.first === total / 2, 'elected summed over the workers', 10_000);
  assert.equal((await member('second')).elected - electedBefore.second, total / 2);
});

test('websocket through 2 workers: an upgrade without a session goes to a member that takes new sessions; a drained member takes none, its own sessions still reach it', async () => {
  // Drain second: the answer comes once both workers applied it.
  const r = await lb.change('/balancers/c/members/second', { status: '+N' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  try {
    const before = second.upgrades.length;
    const sockets = await Promise.all(Array.from({ length: 8 }, (_, i) => open(`ws://127.0.0.1:${lb.port}/fresh?${i}`)));
    try {
      for (const { inbox } of sockets) assert.equal((await nextMessage(inbox, 0)).data.toString(), 'hello from first');
    } finally {
      for (const { ws } of sockets) ws.close();
    }
    assert.equal(second.upgrades.length, before, 'no new session reached the drained member');
    // A session of the drained member still reaches it (drain keeps sticky sessions).
    const { ws, inbox } = await open(`ws://127.0.0.1:${lb.port}/live?sticky`, { Cookie: '_s=keep.second' });
    assert.equal((await nextMessage(inbox, 0)).data.toString(), 'hello from second');
    ws.close();
  } finally {
    await lb.change('/balancers/c/members/second', { status: '-N' });
  }
});
