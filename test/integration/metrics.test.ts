// /metrics over real sockets: Prometheus text parsed and checked against the traffic sent
// (requests by member, status class and sticky outcome; latency; bytes), member state gauges,
// health-check results, and one registry per app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';
import { apiGet, apiSend, parseProm, sumOf } from '../helpers/manager.js';
import { managerPlugins } from '../../src/manager/plugins.js';

let a: Backend;
let b: Backend;
let lb: RunningBalancer;

before(async () => {
  a = await startBackend({ name: 'first' });
  b = await startBackend({ name: 'second' });
  lb = await startBalancer(
    {
      balancers: {
        cluster: {
          stickysession: '_s',
          nofailover: true,
          members: [
            { url: a.url, route: 'first', health: { method: 'GET', uri: '/health', interval: '1h' } },
            { url: b.url, route: 'second' },
          ],
        },
      },
      proxyPass: [{ path: '/', to: 'balancer://cluster/' }],
      manager: {},
      metrics: {},
    },
    { plugins: managerPlugins() },
  );
});

after(async () => {
  await lb.close();
  await Promise.all([a.close(), b.close()]);
});

async function scrape() {
  const r = await request(`${lb.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseProm(r.body);
}

test('requests by member, status class and sticky outcome, with latency and bytes', async () => {
  // 4 new sessions (2 per member), then 3 sticky requests to the first member's session.
  const sessions: Record<string, string> = {};
  for (let i = 0; i < 4; i++) {
    const r = await request(`${lb.url}/new`);
    const cookie = String(r.headers['set-cookie']).split(';')[0];
    sessions[r.headers['x-member'] as string] = cookie;
  }
  for (let i = 0; i < 3; i++) assert.equal((await request(`${lb.url}/again`, { headers: { Cookie: sessions.first } })).headers['x-member'], 'first');
  // A session whose route is unknown gets a member by the scheduler (route-changed).
  assert.equal((await request(`${lb.url}/lost`, { headers: { Cookie: '_s=abc.gone' } })).status, 200);
  // Disable the first member: its session is refused (nofailover), 503.
  const nonce = (await apiGet(lb.url)).balancers[0].nonce;
  assert.equal((await apiSend(lb.url, 'POST', '/balancers/cluster/members/first/disable', undefined, { 'X-Stickylb-Nonce': nonce })).status, 200);
  const refused = await request(`${lb.url}/again`, { headers: { Cookie: sessions.first } });
  assert.equal(refused.status, 503);

  const s = await scrape();
  const req = 'stickylb_balancer_requests_total';
  assert.equal(sumOf(s, req, { balancer: 'cluster', member: a.url, route: 'first', outcome: 'new', status_class: '2xx' }), 2);
  assert.equal(sumOf(s, req, { balancer: 'cluster', member: b.url, outcome: 'new', status_class: '2xx' }), 2);
  assert.equal(sumOf(s, req, { member: a.url, outcome: 'sticky', status_class: '2xx' }), 3);
  assert.equal(sumOf(s, req, { outcome: 'route-changed', status_class: '2xx' }), 1);
  assert.equal(sumOf(s, req, { member: '', outcome: 'refused-nofailover', status_class: '5xx' }), 1);
  assert.equal(sumOf(s, req), 9);
  // Every proxied request is counted by kind too; the API call is a handler request.
  assert.equal(sumOf(s, 'stickylb_http_requests_total', { kind: 'proxy' }), 9);
  assert.ok(sumOf(s, 'stickylb_http_requests_total', { kind: 'handler' }) >= 2);
  // Latency: one observation per answered request, per member.
  assert.equal(sumOf(s, 'stickylb_balancer_request_duration_seconds_count', { member: a.url }), 5);
  assert.equal(sumOf(s, 'stickylb_balancer_request_duration_seconds_count'), 9);
  assert.equal(sumOf(s, 'stickylb_balancer_request_duration_seconds_bucket', { member: a.url, le: '+Inf' }), 5);
  assert.ok(sumOf(s, 'stickylb_balancer_request_duration_seconds_sum') > 0);
  // Elected and bytes match the runtime state the manager shows.
  const st = lb.app.runtime.balancer('cluster')!;
  assert.equal(sumOf(s, 'stickylb_member_elected_total', { member: a.url }), st.members[0].elected);
  assert.equal(sumOf(s, 'stickylb_member_elected_total', { member: a.url }), 5);
  assert.equal(sumOf(s, 'stickylb_member_received_bytes_total', { member: b.url }), st.members[1].bytesFrom);
  assert.ok(st.members[1].bytesFrom > 0);
  assert.equal(sumOf(s, 'stickylb_balancer_refused_total', { balancer: 'cluster' }), 1);
  assert.ok(sumOf(s, 'stickylb_sent_bytes_total') > 0);
  assert.ok(sumOf(s, 'stickylb_connections_open') >= 1);
  assert.equal(sumOf(s, 'stickylb_requests_in_flight'), 1);
});

test('member state gauges, one per flag, elected and busy, and health-check results', async () => {
  const st = lb.app.runtime.balancer('cluster')!;
  const [m1, m2] = st.members;
  st.setFlag(m2, 'N', true, 'test');
  // A health check result, as the checker hands it over.
  st.recordHealth(m1, { ok: false, detail: 'status 500', status: 500, durationMs: 12 });
  const s = await scrape();
  const flag = (m: string, f: string) => s.find((x) => x.name === 'stickylb_member_status' && x.labels.member === m && x.labels.flag === f)!;
  assert.equal(flag(a.url, 'D').value, 1);
  assert.equal(flag(a.url, 'D').labels.state, 'Disabled');
  assert.equal(flag(a.url, 'C').value, 1, 'the failed check set C');
  assert.equal(flag(b.url, 'N').value, 1);
  assert.equal(flag(b.url, 'D').value, 0);
  assert.equal(s.filter((x) => x.name === 'stickylb_member_status' && x.labels.member === a.url).length, 8);
  assert.equal(sumOf(s, 'stickylb_member_usable', { member: a.url }), 0);
  assert.equal(sumOf(s, 'stickylb_member_usable', { member: b.url }), 1);
  assert.equal(sumOf(s, 'stickylb_member_busy', { member: b.url }), 0);
  assert.equal(sumOf(s, 'stickylb_member_lbfactor', { member: b.url }), 1);
  assert.equal(sumOf(s, 'stickylb_member_health_check_up', { member: a.url }), 0);
  assert.equal(sumOf(s, 'stickylb_member_health_checks_total', { member: a.url }), 1);
  assert.equal(sumOf(s, 'stickylb_member_health_check_duration_seconds', { member: a.url }), 0.012);
  assert.equal(sumOf(s, 'stickylb_member_health_check_consecutive_failures', { member: a.url }), 1);
  assert.ok(!s.some((x) => x.name === 'stickylb_member_health_check_up' && x.labels.member === b.url), 'no result for a member without checks');
  st.recordHealth(m1, { ok: true, detail: 'status 200', status: 200, durationMs: 3 });
  assert.equal(sumOf(await scrape(), 'stickylb_member_health_check_up', { member: a.url }), 1);
  st.setFlag(m2, 'N', false, 'test');
});

test('each app has its own registry: two apps in one process count apart', async () => {
  const other = await startBalancer(
    { balancers: { c: { members: [{ url: b.url }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }], metrics: {} },
    { plugins: managerPlugins() },
  );
  try {
    await request(`${other.url}/x`);
    const mine = parseProm((await request(`${other.url}/metrics`)).body);
    assert.equal(sumOf(mine, 'stickylb_balancer_requests_total'), 1);
    assert.equal(sumOf(mine, 'stickylb_balancer_requests_total', { balancer: 'cluster' }), 0);
    assert.ok(sumOf(await scrape(), 'stickylb_balancer_requests_total', { balancer: 'cluster' }) >= 9);
  } finally {
    await other.close();
  }
});
