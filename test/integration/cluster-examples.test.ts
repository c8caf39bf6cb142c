// The examples in examples/ run as they are documented: started with PORT and STICKYLB_ROUTE, they
// import `stickylb/cluster` by package name (the package's exports map, so dist/ must be built),
// issue route-suffixed sessions and answer the live-sessions endpoint.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import { findRoute } from '../../src/balancer/sticky/route-id.js';
import { ROOT, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';
import { request } from '../helpers/http.js';

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** Builds dist/cluster from src/cluster when it is missing or older than its sources. */
function ensureClusterBuilt(): void {
  const src = join(ROOT, 'src/cluster');
  const out = join(ROOT, 'dist/cluster/index.js');
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (existsSync(out) && statSync(out).mtimeMs >= newest) return;
  // The cluster library imports nothing else from src/, so it compiles on its own.
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      ...['--rootDir', 'src/cluster', '--outDir', 'dist/cluster', '--module', 'NodeNext', '--moduleResolution', 'NodeNext'],
      ...['--target', 'ES2022', '--strict', '--declaration', '--sourceMap', '--skipLibCheck', '--types', 'node'],
      'src/cluster/index.ts',
    ],
    { cwd: ROOT, stdio: 'pipe' },
  );
}

async function start(example: string, route: string): Promise<{ proc: NodeProcess; url: string }> {
  const proc = startNodeProcess([join(ROOT, 'examples', example)], { PORT: '0', STICKYLB_ROUTE: route });
  const m = await proc.waitFor(LISTENING);
  assert.match(proc.stdout, new RegExp(`route=${route} listening on`));
  return { proc, url: m[1] };
}

function cookieOf(headers: Record<string, unknown>, name: string): string | undefined {
  const line = ((headers['set-cookie'] as string[] | undefined) ?? []).find((l) => l.startsWith(`${name}=`));
  return line?.split(';')[0].slice(name.length + 1);
}

async function liveSessions(url: string, route: string): Promise<number> {
  const r = await request(`${url}/.well-known/stickylb/sessions`);
  assert.equal(r.status, 200);
  const body = r.json<{ route: string; sessions: number }>();
  assert.equal(body.route, route);
  return body.sessions;
}

describe('examples', () => {
  before(() => ensureClusterBuilt());

  test('http-node.mjs: _s by URL and by cookie', async () => {
    const { proc, url } = await start('http-node.mjs', 'ex-http');
    try {
      const r1 = await request(`${url}/`);
      const id = cookieOf(r1.headers, '_s')!;
      assert.match(id, /^[A-Za-z0-9_-]{22}\.ex-http$/);
      assert.ok(r1.body.includes(`href="/?_s=${id}"`));
      const r2 = await request(`${url}/?_s=${id}`);
      assert.match(r2.body, /id="visits">2</);
      const r3 = await request(`${url}/`, { headers: { cookie: `_s=${id}` } });
      assert.match(r3.body, /id="visits">3</);
      assert.equal(await liveSessions(url, 'ex-http'), 1);
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });

  test('express-node.mjs: express-session with a routable signed cookie', async () => {
    const { proc, url } = await start('express-node.mjs', 'ex-express');
    try {
      const r1 = await request(`${url}/`);
      assert.match(r1.json().session, /\.ex-express$/);
      const cookie = cookieOf(r1.headers, 'connect.sid')!;
      assert.equal(findRoute('/', `connect.sid=${cookie}`, { cookie: 'connect.sid' }, '.', false).route, 'ex-express');
      const r2 = await request(`${url}/`, { headers: { cookie: `connect.sid=${cookie}` } });
      assert.equal(r2.json().visits, 2);
      assert.equal(await liveSessions(url, 'ex-express'), 1);
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });

  test('fastify-node.mjs: @fastify/session with a routable signed cookie', async () => {
    const { proc, url } = await start('fastify-node.mjs', 'ex-fastify');
    try {
      const r1 = await request(`${url}/`);
      assert.match(r1.json().session, /\.ex-fastify$/);
      const cookie = cookieOf(r1.headers, 'sessionId')!;
      assert.equal(findRoute('/', `sessionId=${cookie}`, { cookie: 'sessionId' }, '.', false).route, 'ex-fastify');
      const r2 = await request(`${url}/`, { headers: { cookie: `sessionId=${cookie}` } });
      assert.equal(r2.json().visits, 2);
      assert.equal(await liveSessions(url, 'ex-fastify'), 1);
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });

  test('socketio-node.mjs: route-suffixed sids in the handshake, the io cookie and a live connection', async () => {
    const { proc, url } = await start('socketio-node.mjs', 'ex-io');
    try {
      const r = await request(`${url}/socket.io/?EIO=4&transport=polling`);
      const sid = JSON.parse(r.body.slice(1)).sid as string;
      assert.match(sid, /^[A-Za-z0-9_-]{22}\.ex-io$/);
      assert.equal(cookieOf(r.headers, 'io'), sid);
      assert.match((await request(`${url}/`)).body, /node <strong>ex-io<\/strong>/);

      const socket = connect(url, { reconnection: false, forceNew: true });
      try {
        const reply = await socket.timeout(10000).emitWithAck('hello', 1);
        assert.equal(reply.route, 'ex-io');
        assert.match(socket.io.engine.id, /\.ex-io$/);
        // The polling handshake above plus this connection.
        assert.equal(await liveSessions(url, 'ex-io'), 2);
      } finally {
        socket.disconnect();
      }
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });

  test('an example started with a bad route stops at once and says why', async () => {
    const proc = startNodeProcess([join(ROOT, 'examples/http-node.mjs')], { PORT: '0', STICKYLB_ROUTE: 'eu.first' });
    assert.equal(await proc.exited, 1);
    assert.match(proc.stderr, /STICKYLB_ROUTE "eu\.first" contains the session id separator "\."/);
    assert.match(proc.stderr, /ERR_STICKYLB_ROUTE_SEPARATOR/);
    assert.equal(proc.stdout, '');
  });
});
