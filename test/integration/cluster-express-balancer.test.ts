// Express and Fastify session apps through the balancer. Both frameworks sign their session
// cookie (`s:<id>.<signature>` and `<id>.<signature>`), which would put the signature after the
// route; the adapters write the route-last form (`<hex signature>~<random>.<route>`) instead, so
// `stickysession=connect.sid` (or `sessionId`) finds the route.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { routeOf } from '../../src/cluster/index.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { startExpressNode, startFastifyNode, type AppNode, type ExpressNode } from '../helpers/cluster-apps.js';

interface Reply {
  route: string;
  n: number;
  id: string;
}

/** One client with a one-cookie jar, making `count` requests; returns every reply. */
async function client(url: string, cookieName: string, count: number, agent: http.Agent): Promise<Reply[]> {
  let cookie: string | undefined;
  const replies: Reply[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.get(`${url}/count`, { agent, headers: cookie ? { cookie } : {} }, (res) => {
        const set = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${cookieName}=`));
        if (set) cookie = set.split(';')[0];
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as Reply) : reject(new Error(`status ${res.statusCode}: ${body}`))));
      });
      req.on('error', reject);
    });
    replies.push(reply);
  }
  return replies;
}

async function balance(nodes: AppNode[], cookieName: string): Promise<RunningBalancer> {
  return startBalancer(
    {
      balancers: {
        app: { stickysession: cookieName, nofailover: true, members: nodes.map((n) => ({ url: n.url, route: n.route })) },
      },
      proxyPass: [{ path: '/', to: 'balancer://app/' }],
    },
    { plugins: [] },
  );
}

describe('express-session through the balancer (stickysession=connect.sid)', () => {
  let nodes: ExpressNode[];
  let balancer: RunningBalancer;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });

  before(async () => {
    nodes = [await startExpressNode('first'), await startExpressNode('second')];
    balancer = await balance(nodes, 'connect.sid');
  });

  after(async () => {
    agent.destroy();
    await balancer?.close();
    await Promise.all(nodes.map((n) => n.close()));
  });

  test('20 clients keep their counters across 100 requests each', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => client(balancer.url, 'connect.sid', 100, agent)));
    const routes = new Set<string>();
    for (const replies of all) {
      const { id } = replies[0];
      const route = routeOf(id)!;
      routes.add(route);
      replies.forEach((r, i) => assert.deepEqual(r, { route, n: i + 1, id }));
    }
    assert.deepEqual([...routes].sort(), ['first', 'second'], 'sessions are spread over both nodes');
    assert.equal(nodes[0].served + nodes[1].served, 2000);
  });
});

describe('express-session through the balancer without clusterSessionCookie', () => {
  let nodes: AppNode[];
  let balancer: RunningBalancer;
  const agent = new http.Agent({ keepAlive: true });

  before(async () => {
    nodes = [await startExpressNode('first', { routeLast: false }), await startExpressNode('second', { routeLast: false })];
    balancer = await balance(nodes, 'connect.sid');
  });

  after(async () => {
    agent.destroy();
    await balancer?.close();
    await Promise.all(nodes.map((n) => n.close()));
  });

  test('the signature hides the route and sessions are lost', async () => {
    const all = await Promise.all(Array.from({ length: 10 }, () => client(balancer.url, 'connect.sid', 10, agent)));
    const kept = all.filter((replies) => replies.every((r, i) => r.n === i + 1)).length;
    assert.ok(kept < all.length, 'without the route-last cookie some client must have lost its session');
  });
});

describe('@fastify/session through the balancer (stickysession=sessionId)', () => {
  let nodes: AppNode[];
  let balancer: RunningBalancer;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });

  before(async () => {
    nodes = [await startFastifyNode('first'), await startFastifyNode('second')];
    balancer = await balance(nodes, 'sessionId');
  });

  after(async () => {
    agent.destroy();
    await balancer?.close();
    await Promise.all(nodes.map((n) => n.close()));
  });

  test('10 clients keep their counters across 30 requests each', async () => {
    const all = await Promise.all(Array.from({ length: 10 }, () => client(balancer.url, 'sessionId', 30, agent)));
    const routes = new Set<string>();
    for (const replies of all) {
      const { id } = replies[0];
      const route = routeOf(id)!;
      routes.add(route);
      replies.forEach((r, i) => assert.deepEqual(r, { route, n: i + 1, id }));
    }
    assert.deepEqual([...routes].sort(), ['first', 'second']);
  });
});
