// Route verification through real sockets: a node started with the wrong route (it issues
// `_s=….second` while the config says route=first) is reported in the error log, badged in the
// manager and server-status, and counted in the JSON API and metrics, on both HTTP engines and
// with an Apache config; `stickylb check --probe` finds it with one request per member.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http2 from 'node:http2';
import pino from 'pino';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { apiGet, MANAGER, parseProm, sumOf } from '../helpers/manager.js';
import { stickylb } from '../helpers/stickylb-cli.js';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { RawConfig } from '../../src/config/schema.js';

const backends: Backend[] = [];
const running: RunningBalancer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'stickylb-routes-'));

after(async () => {
  for (const lb of running) await lb.close();
  for (const b of backends) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Node `a` is configured as route first but issues ids of route second; node `b` is right. */
async function nodes(): Promise<{ a: Backend; b: Backend }> {
  if (!backends.length) backends.push(await startBackend({ name: 'a', route: 'second' }), await startBackend({ name: 'b', route: 'second' }));
  return { a: backends[0], b: backends[1] };
}

function memoryLogger() {
  const lines: { level: number; msg: string; issuedRoute?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function yamlConfig(engine: 'lean' | 'node'): Promise<RawConfig> {
  const { a, b } = await nodes();
  return {
    engine,
    proxyStatus: true,
    balancers: {
      cluster: {
        stickysession: '_s',
        members: [
          { url: a.url, route: 'first' },
          { url: b.url, route: 'second' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://cluster/' }],
    manager: {},
    serverStatus: {},
    metrics: {},
  };
}

async function apacheConfig(): Promise<RawConfig> {
  const { a, b } = await nodes();
  const text = `ProxyStatus On
<Proxy balancer://cluster>
    BalancerMember ${a.url} route=first
    BalancerMember ${b.url} route=second
</Proxy>
ProxyPass /balancer-manager !
ProxyPass / balancer://cluster/ stickysession=_s
<Location /balancer-manager>
    SetHandler balancer-manager
    Require local
</Location>
<Location /server-status>
    SetHandler server-status
    Require local
</Location>
`;
  const r = parseApacheConfig(text, 'site.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  return { ...(r.raw as RawConfig), metrics: {} };
}

async function verify(raw: RawConfig) {
  const { a } = await nodes();
  const { logger, lines } = memoryLogger();
  const lb = await startBalancer(raw, { logger });
  running.push(lb);
  // Two new sessions: round robin sends one to each node.
  for (let i = 0; i < 2; i++) assert.equal((await request(`${lb.url}/`)).status, 200);

  const member = (await apiGet(lb.url)).balancers[0].members.find((m: { url: string }) => m.url === a.url);
  assert.equal(member.routeMismatches, 1);
  assert.deepEqual({ ...member.lastRouteMismatch, at: 0 }, { issued: 'second', expected: 'first', where: 'cookie', name: '_s', at: 0, active: true });
  const other = (await apiGet(lb.url)).balancers[0].members.find((m: { url: string }) => m.url !== a.url);
  assert.equal(other.routeMismatches, 0);

  await until(() => lines.some((l) => l.issuedRoute === 'second'), 'the warning in the error log');
  const warning = lines.find((l) => l.issuedRoute === 'second')!;
  assert.equal(warning.level, 40);
  assert.match(warning.msg, new RegExp(`^member ${a.url} route=first: issues session ids with route "second" \\(cookie _s in Set-Cookie\\), not its own "first"`));
  assert.match(warning.msg, /WAAdmin makeAllClusteredWith: 'first', Tomcat jvmRoute="first", stickylb\/cluster STICKYLB_ROUTE=first/);

  const rowOf = (page: string) => new RegExp(`<tr data-m="${a.url.replace(/[.]/g, '\\.')}"[\\s\\S]*?</tr>`).exec(page)?.[0] ?? '';
  const page = (await request(`${lb.url}${MANAGER}`)).body;
  assert.match(rowOf(page), /<span class="st st-route" title="This member issues session ids with route &quot;second&quot; \(cookie _s\), not its own &quot;first&quot;: 1 so far\./);
  assert.equal(page.split('class="st st-route"').length - 1, 1, 'only the wrong node has the badge');
  const status = (await request(`${lb.url}/server-status`)).body;
  assert.match(rowOf(status), /class="st st-route"/);
  assert.equal(status.split('class="st st-route"').length - 1, 1);

  const metrics = parseProm((await request(`${lb.url}/metrics`)).body);
  assert.equal(sumOf(metrics, 'stickylb_member_route_mismatch_total', { member: a.url, route: 'first' }), 1);
  assert.equal(sumOf(metrics, 'stickylb_member_route_mismatch_total'), 1);
  await lb.close();
  running.splice(running.indexOf(lb), 1);
}

test('route verification with the lean engine: log, badge, API and metrics', async () => {
  await verify(await yamlConfig('lean'));
});

test('route verification with node:http: log, badge, API and metrics', async () => {
  await verify(await yamlConfig('node'));
});

test('route verification is on under Apache syntax too [route-verification]', async () => {
  await verify(await apacheConfig());
});

test('route verification over HTTP/2 (h2c): the stream transport reports the ids as the others do', async () => {
  const { a } = await nodes();
  const lb = await startBalancer({
    ...(await yamlConfig('lean')),
    listen: [{ host: '127.0.0.1', port: 0, protocols: ['h2c', 'http/1.1'] }],
  } as RawConfig);
  running.push(lb);
  const session = http2.connect(`http://127.0.0.1:${lb.port}`);
  try {
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = session.request({ ':path': '/' });
        req.on('response', (h) => (h[':status'] === 200 ? undefined : reject(new Error(`status ${h[':status']}`))));
        req.on('error', reject);
        req.on('end', () => resolve());
        req.resume();
        req.end();
      });
    }
  } finally {
    session.close();
  }
  const member = (await apiGet(lb.url)).balancers[0].members.find((m: { url: string }) => m.url === a.url);
  assert.equal(member.routeMismatches, 1);
  assert.equal(member.lastRouteMismatch.issued, 'second');
});

test('stickylb check --probe: one request to each member reports the route of the session id it issues', async () => {
  const { a, b } = await nodes();
  const file = join(dir, 'site.yaml');
  writeFileSync(
    file,
    `balancers:\n  cluster:\n    stickysession: _s\n    members:\n      - { url: "${a.url}", route: first }\n      - { url: "${b.url}", route: second }\n      - { url: "http://127.0.0.1:1", route: third }\nproxyPass:\n  - { path: /, to: "balancer://cluster/" }\n`,
  );
  const before = a.seen.length;
  const r = await stickylb(['check', file, '--probe', '--quiet']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(a.seen.length, before + 1, 'one request to the member');
  assert.match(r.stdout, /loads, but 1 member issues session ids without their route/);
  assert.match(r.stdout, new RegExp(`\\n    ${a.url} \\(route first\\): WRONG ROUTE: GET / answered 200 with a session id \\(cookie _s\\) of route "second", not its own "first": give the node its route: Seaside WAAdmin makeAllClusteredWith: 'first'`));
  assert.match(r.stdout, new RegExp(`\\n    ${b.url} \\(route second\\): ok: GET / answered 200 with a session id \\(cookie _s\\) of route "second", its own\\n`));
  assert.match(r.stdout, /\n {4}http:\/\/127\.0\.0\.1:1 \(route third\): unreachable: GET \/: ECONNREFUSED\n/);

  const json = JSON.parse((await stickylb(['check', file, '--probe', '--json'])).stdout);
  assert.deepEqual(
    json.probes.map((p: { verdict: string; issued?: { route: string } }) => [p.verdict, p.issued?.route]),
    [
      ['mismatch', 'second'],
      ['ok', 'second'],
      ['unreachable', undefined],
    ],
  );
  assert.equal(json.ok, false);
});
