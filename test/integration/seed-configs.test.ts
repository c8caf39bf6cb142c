// The thread's two Apache configs, repaired (test/fixtures/apache/philippe.conf, sven.conf), run by
// stickylb against two Seaside-like nodes: sessions stick to the node whose route ends their id,
// Sven's nofailover=on gives 503 for a stopped node's sessions, Philippe's (no nofailover in his
// final config) moves them, and both ProxyPassReverse forms rewrite member redirects.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { RawConfig } from '../../src/config/schema.js';

const FIX = 'test/fixtures/apache';
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A Seaside-like node: issues `_s=<id>.<route>` (cookie), says who answered, redirects on /go. */
async function seasideNode(name: string, route: string): Promise<Backend> {
  const b = await startBackend({
    name,
    route,
    handler: (req, res, _body, self) => {
      if (req.url?.startsWith('/go')) {
        res.writeHead(302, { Location: `${self.url}/landing` });
        res.end();
        return;
      }
      const has = /(^|[?&;])_s=/.test(req.url ?? '') || /(^|;\s*)_s=/.test(req.headers.cookie ?? '');
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      let session: string | undefined;
      if (!has) {
        session = `${randomBytes(8).toString('hex')}.${route}`;
        headers['Set-Cookie'] = `_s=${session}; Path=/`;
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify({ member: name, session }));
    },
  });
  cleanup.push(() => b.close());
  return b;
}

/**
 * Loads a repaired seed with the member ports replaced by the test nodes' ports and Sven's home
 * directory replaced by a temporary one; listens on 127.0.0.1 port 0 instead of 80/8080.
 */
async function startSeed(file: string, ports: Record<string, number>, home?: string): Promise<RunningBalancer> {
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of Object.entries(ports)) text = text.replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${to}`);
  if (home) text = text.replaceAll('/home/sven', home);
  const r = parseApacheConfig(text, file);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const raw = r.raw as RawConfig;
  delete raw.listen;
  for (const vh of raw.virtualHosts ?? []) delete vh.listen;
  const lb = await startBalancer(raw);
  cleanup.push(() => lb.close());
  return lb;
}

/** New sessions until both routes were issued; their ids by route. */
async function sessions(lb: RunningBalancer, agent: http.Agent, routes: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let i = 0; i < 8 && Object.keys(out).length < routes.length; i++) {
    const r = await request(`${lb.url}/`, { agent });
    assert.equal(r.status, 200);
    const s = r.json().session as string;
    out[s.slice(s.indexOf('.') + 1)] = s;
  }
  assert.deepEqual(Object.keys(out).sort(), [...routes].sort());
  return out;
}

test("seed configs: Philippe's config sticks sessions to first and second; failover when a node stops", async () => {
  const agent = new http.Agent({ keepAlive: true });
  cleanup.push(() => agent.destroy());
  const first = await seasideNode('node1', 'first');
  const second = await seasideNode('node2', 'second');
  const lb = await startSeed(`${FIX}/philippe.conf`, { 8080: first.port, 9090: second.port });

  const s = await sessions(lb, agent, ['first', 'second']);
  for (const [route, node] of [
    ['first', 'node1'],
    ['second', 'node2'],
  ]) {
    for (let i = 0; i < 10; i++) {
      const byCookie = await request(`${lb.url}/app?_k=${i}`, { agent, headers: { Cookie: `_s=${s[route]}` } });
      assert.equal(byCookie.json().member, node);
      const byUrl = await request(`${lb.url}/app?_s=${s[route]}&_k=${i}`, { agent });
      assert.equal(byUrl.json().member, node);
    }
  }

  // ProxyPassReverse / http://127.0.0.1:<port>/ per member: both members' redirects come back to us.
  for (const route of ['first', 'second']) {
    const r = await request(`${lb.url}/go`, { agent, headers: { Cookie: `_s=${s[route]}` } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, `${lb.url}/landing`);
  }

  // The manager answers this machine (Allow from 127.0.0.1 / localhost).
  const m = await request(`${lb.url}/balancer-manager`, { agent });
  assert.equal(m.status, 200);

  // No nofailover in Philippe's final config: a stopped node's sessions go to the other node.
  await first.kill();
  const moved = await request(`${lb.url}/app`, { agent, headers: { Cookie: `_s=${s.first}` } });
  assert.equal(moved.status, 200);
  assert.equal(moved.json().member, 'node2');
});

test("seed configs: Sven's config sticks R1/R2 sessions; nofailover=on gives 503 for a stopped node's sessions", async () => {
  const agent = new http.Agent({ keepAlive: true });
  cleanup.push(() => agent.destroy());
  const home = mkdtempSync(join(tmpdir(), 'stickylb-sven-'));
  cleanup.push(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(join(home, 'logs'));
  mkdirSync(join(home, 'html', 'files', 'RedditFileLibrary'), { recursive: true });
  writeFileSync(join(home, 'html', 'files', 'RedditFileLibrary', 'main.css'), 'body { color: red }\n');

  const r1 = await seasideNode('node1', 'R1');
  const r2 = await seasideNode('node2', 'R2');
  const lb = await startSeed(`${FIX}/sven.conf`, { 8081: r1.port, 8082: r2.port }, home);

  const s = await sessions(lb, agent, ['R1', 'R2']);
  for (const [route, node] of [
    ['R1', 'node1'],
    ['R2', 'node2'],
  ]) {
    for (let i = 0; i < 10; i++) {
      const byCookie = await request(`${lb.url}/app?_k=${i}`, { agent, headers: { Cookie: `_s=${s[route]}` } });
      assert.equal(byCookie.json().member, node);
      const byUrl = await request(`${lb.url}/app?_s=${s[route]}&_k=${i}`, { agent });
      assert.equal(byUrl.json().member, node);
    }
  }

  // ProxyPassReverse / balancer://seaside-cluster/ covers both members.
  for (const route of ['R1', 'R2']) {
    const r = await request(`${lb.url}/go`, { agent, headers: { Cookie: `_s=${s[route]}` } });
    assert.equal(r.headers.location, `${lb.url}/landing`);
  }

  // ProxyPass /files/RedditFileLibrary ! with DocumentRoot: served from the files, not the nodes.
  const css = await request(`${lb.url}/files/RedditFileLibrary/main.css`, { agent });
  assert.equal(css.status, 200);
  assert.equal(css.body, 'body { color: red }\n');

  // Allow from all: the manager and server-status answer (check warns about it).
  assert.equal((await request(`${lb.url}/balancer-manager`, { agent })).status, 200);
  assert.equal((await request(`${lb.url}/server-status`, { agent })).status, 200);

  // nofailover=on: once R1 is stopped, its sessions get 503 and never reach node2.
  await r1.kill();
  const seenBefore = r2.seen.length;
  for (let i = 0; i < 5; i++) {
    const dead = await request(`${lb.url}/app?_k=${i}`, { agent, headers: { Cookie: `_s=${s.R1}` } });
    assert.equal(dead.status, 503);
    const other = await request(`${lb.url}/app?_k=${i}`, { agent, headers: { Cookie: `_s=${s.R2}` } });
    assert.equal(other.json().member, 'node2');
  }
  assert.equal(r2.seen.slice(seenBefore).filter((q) => q.headers.cookie === `_s=${s.R1}`).length, 0);
  const fresh = await request(`${lb.url}/`, { agent });
  assert.match(fresh.json().session, /\.R2$/);
});
