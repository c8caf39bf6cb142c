// server-status over real sockets: `?auto` parsed and checked against the traffic sent, the HTML
// page, and the per-balancer part only with proxyStatus on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';
import { parseAuto } from '../helpers/manager.js';
import { managerPlugins } from '../../src/manager/plugins.js';

const BODY = 'x'.repeat(3000);
let a: Backend;
let b: Backend;
let lb: RunningBalancer;

/** Answers 3000 bytes and reads whatever was posted. */
function sized(name: string) {
  return (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(BODY.length), 'X-Member': name });
    res.end(BODY);
  };
}

before(async () => {
  a = await startBackend({ name: 'first', handler: sized('first') });
  b = await startBackend({ name: 'second', handler: sized('second') });
  lb = await startBalancer(
    {
      balancers: { cluster: { stickysession: '_s', members: [{ url: a.url, route: 'first' }, { url: b.url, route: 'second', loadfactor: 2 }] } },
      proxyPass: [{ path: '/', to: 'balancer://cluster/' }],
      serverStatus: {},
      proxyStatus: true,
    },
    { plugins: managerPlugins() },
  );
});

after(async () => {
  await lb.close();
  await Promise.all([a.close(), b.close()]);
});

test('?auto: totals and per-member figures match the traffic sent', async () => {
  const sent: Record<string, { n: number; up: number; down: number }> = { first: { n: 0, up: 0, down: 0 }, second: { n: 0, up: 0, down: 0 } };
  const upload = 'y'.repeat(1500);
  for (let i = 0; i < 9; i++) {
    const r = await request(`${lb.url}/page`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: upload });
    assert.equal(r.status, 200);
    const s = sent[r.headers['x-member'] as string];
    s.n++;
    s.up += upload.length;
    s.down += r.body.length;
  }
  // byrequests with factors 1 and 2.
  assert.equal(sent.first.n, 3);
  assert.equal(sent.second.n, 6);

  const r = await request(`${lb.url}/server-status?auto`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  assert.equal(r.body.split('\n')[0], '127.0.0.1');
  const kv = parseAuto(r.body);
  // The 9 proxied requests and this one.
  assert.equal(kv.get('Total Accesses'), '10');
  assert.equal(kv.get('BusyWorkers'), '1', 'this request is in flight');
  assert.equal(kv.get('RequestsInFlight'), '1');
  assert.ok(Number(kv.get('ConnsTotal')) >= 1);
  assert.match(kv.get('ServerVersion')!, /^stickylb\/\d+\.\d+\.\d+/);
  const uptime = Number(kv.get('ServerUptimeSeconds'));
  assert.ok(uptime >= 0 && uptime < 60);
  assert.equal(kv.get('Uptime'), String(uptime));
  // Bytes out: at least the nine 3000-byte answers with their heads, all in kBytes.
  const kOut = Number(kv.get('Total kBytes'));
  assert.ok(kOut >= Math.floor((9 * BODY.length) / 1024) && kOut < 9 * BODY.length, `Total kBytes ${kOut}`);
  const kIn = Number(kv.get('Total kBytesIn'));
  assert.ok(kIn >= Math.floor((9 * upload.length) / 1024), `Total kBytesIn ${kIn}`);
  // Over the exact uptime (at least one second), printed with six significant digits.
  const rps = Number(kv.get('ReqPerSec'));
  assert.ok(rps <= 10 / Math.max(1, uptime) + 1e-3 && rps >= 10 / (uptime + 1) - 1e-3, `ReqPerSec ${rps}`);

  assert.equal(kv.get('ProxyBalancer[0]Name'), 'balancer://cluster');
  const members: [string, Backend, string][] = [
    ['0', a, 'first'],
    ['1', b, 'second'],
  ];
  for (const [i, backend, name] of members) {
    const w = `ProxyBalancer[0]Worker[${i}]`;
    assert.equal(kv.get(`${w}Name`), backend.url);
    assert.equal(kv.get(`${w}Status`), 'Init Ok');
    assert.equal(kv.get(`${w}Elected`), String(sent[name].n));
    assert.equal(kv.get(`${w}Busy`), '0');
    assert.equal(kv.get(`${w}Sent`), `${Math.floor(sent[name].up / 1024)}K`);
    assert.equal(kv.get(`${w}Rcvd`), `${Math.floor(sent[name].down / 1024)}K`);
    assert.equal(kv.get(`${w}Route`), name);
  }
});

test('the HTML page shows the figures and the balancer table', async () => {
  const r = await request(`${lb.url}/server-status`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-security-policy']), /script-src|default-src 'none'/);
  assert.ok(!String(r.headers['content-security-policy']).includes('script-src'), 'no script on the status page');
  for (const text of ['Requests in flight', 'Connections open', 'Uptime', 'balancer://cluster', a.url.replace('http://', ''), '<span class="st st-ok">Ok</span>']) {
    assert.ok(r.body.includes(text), text);
  }
  const refresh = await request(`${lb.url}/server-status?refresh=5`);
  assert.equal(refresh.headers.refresh, '5');
  assert.equal((await request(`${lb.url}/server-status`, { method: 'POST', body: '' })).status, 405);
});

test('without proxyStatus the balancer part is left out', async () => {
  const plain = await startBalancer(
    { balancers: { c: { members: [{ url: a.url }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }], serverStatus: { path: '/status' } },
    { plugins: managerPlugins() },
  );
  try {
    const r = await request(`${plain.url}/status?auto`);
    assert.equal(r.status, 200);
    const kv = parseAuto(r.body);
    assert.equal(kv.get('Total Accesses'), '1');
    assert.ok(![...kv.keys()].some((k) => k.startsWith('ProxyBalancer')));
    assert.match((await request(`${plain.url}/status`)).body, /Per-balancer status is off/);
  } finally {
    await plain.close();
  }
});
