// The manager over real sockets: Apache-style scripts (nonce scraped from the page, form POSTs
// with a Referer, ?xml=1), adding members into growth slots, and the JSON API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';
import { apiGet, apiSend, MANAGER, parseXmlBalancers, parseXmlWorkers, postForm, scrapeNonce } from '../helpers/manager.js';
import { managerPlugins } from '../../src/manager/plugins.js';

let a: Backend;
let b: Backend;
let spare: Backend;
let lb: RunningBalancer;

before(async () => {
  a = await startBackend({ name: 'first' });
  b = await startBackend({ name: 'second' });
  spare = await startBackend({ name: 'third' });
  lb = await startBalancer(
    {
      balancers: {
        cluster: { stickysession: '_s', nofailover: true, growth: 1, members: [{ url: a.url, route: 'first' }, { url: b.url, route: 'second' }] },
        empty: { growth: 2, members: [] },
      },
      proxyPass: [
        { path: '/empty', to: 'balancer://empty/' },
        { path: '/', to: 'balancer://cluster/' },
      ],
      manager: {},
    },
    { plugins: managerPlugins() },
  );
});

after(async () => {
  await lb.close();
  await Promise.all([a.close(), b.close(), spare.close()]);
});

const memberOf = async (path = '/x', cookie?: string) => {
  const r = await request(`${lb.url}${path}`, { headers: cookie ? { Cookie: cookie } : {} });
  return { status: r.status, member: r.headers['x-member'] as string | undefined };
};

test('an Apache-style script: scrape the nonce, POST with a Referer, read ?xml=1', async () => {
  const page = await request(`${lb.url}${MANAGER}`);
  assert.equal(page.status, 200);
  const nonce = scrapeNonce(page.body);
  // Scripts written for Apache send a Referer (curl -e), not an Origin.
  const r = await postForm(lb.url, { b: 'cluster', w: a.url, nonce, w_status_D: '1', w_lf: '2' }, { Origin: '', Referer: `${lb.url}${MANAGER}` });
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, /Saved\./);

  const xml = await request(`${lb.url}${MANAGER}?xml=1`);
  assert.equal(xml.status, 200);
  assert.match(String(xml.headers['content-type']), /^text\/xml/);
  const [bal] = parseXmlBalancers(xml.body);
  assert.equal(bal.name, 'balancer://cluster');
  assert.equal(bal.nonce, nonce);
  assert.equal(bal.stickysession, '_s');
  assert.equal(bal.nofailover, 'On');
  const workers = parseXmlWorkers(xml.body);
  const first = workers.find((w) => w.name === a.url)!;
  assert.equal(first.status, 'Init Dis');
  assert.equal(first.loadfactor, '2.00');
  assert.equal(first.route, 'first');

  // Traffic follows at once: new sessions avoid the disabled member.
  for (let i = 0; i < 4; i++) assert.equal((await memberOf()).member, 'second');
  const r2 = await postForm(lb.url, { b: 'cluster', w: a.url, nonce, w_status_D: '0', w_lf: '1' }, { Origin: '', Referer: `${lb.url}${MANAGER}?b=cluster` });
  assert.equal(r2.status, 200);
  assert.equal(lb.app.runtime.balancer('cluster')!.members[0].flags.D, false);
});

test('?xml=1 counts match the traffic sent', async () => {
  const before = parseXmlWorkers((await request(`${lb.url}${MANAGER}?xml=1`)).body);
  const seen: Record<string, number> = {};
  for (let i = 0; i < 10; i++) {
    const m = (await memberOf('/count')).member!;
    seen[m] = (seen[m] ?? 0) + 1;
  }
  const after = parseXmlWorkers((await request(`${lb.url}${MANAGER}?xml=1`)).body);
  const delta = (url: string) => Number(after.find((w) => w.name === url)!.elected) - Number(before.find((w) => w.name === url)!.elected);
  assert.equal(delta(a.url), seen.first ?? 0);
  assert.equal(delta(b.url), seen.second ?? 0);
  assert.equal(delta(a.url) + delta(b.url), 10);
  for (const w of after) assert.equal(w.busy, '0');
});

test('adding a member (Apache: b_nwrkr + b_wyes): added disabled, enabled with w_status_D=0', async () => {
  assert.equal((await memberOf('/empty/x')).status, 503);
  // Each balancer has its own nonce: the one in the empty balancer's links.
  const page = (await request(`${lb.url}${MANAGER}`)).body;
  const emptyNonce = scrapeNonce(page.slice(page.indexOf('data-b="empty"')));
  assert.notEqual(emptyNonce, scrapeNonce(page));
  const add = await postForm(lb.url, { b: 'empty', nonce: emptyNonce, b_nwrkr: spare.url, b_wyes: '1' });
  assert.equal(add.status, 200, add.body);
  const m = lb.app.runtime.balancer('empty')!.members[0];
  assert.equal(m.url, spare.url);
  assert.equal(m.flags.D, true);
  assert.equal((await memberOf('/empty/x')).status, 503);
  const enable = await postForm(lb.url, { b: 'empty', w: spare.url, nonce: emptyNonce, w_status_D: '0' });
  assert.equal(enable.status, 200);
  const r = await memberOf('/empty/x');
  assert.equal(r.status, 200);
  assert.equal(r.member, 'third');
});

test('the balancer form changes lbmethod, timeout, failover attempts, nofailover and sticky names', async () => {
  const { balancers } = await apiGet(lb.url);
  const nonce = balancers[0].nonce;
  // The form as the page posts it: every field, most unchanged.
  const r = await postForm(lb.url, { b: 'cluster', nonce, b_lbm: 'bybusyness', b_tmo: '3', b_max: '1', b_sforce: '0', b_ss: 'JSESSIONID|jsessionid', b_nwrkr: '' });
  assert.equal(r.status, 200, r.body);
  const st = lb.app.runtime.balancer('cluster')!;
  assert.equal(st.lbmethod, 'bybusyness');
  assert.equal(st.timeoutMs, 3000);
  assert.equal(st.maxattempts, undefined, 'restating the shown failover attempts is no change');
  assert.equal(st.nofailover, false);
  assert.deepEqual(st.sticky, { cookie: 'JSESSIONID', url: 'jsessionid' });
  assert.deepEqual([...st.changedAtRuntime].sort(), ['lbmethod', 'nofailover', 'stickysession', 'timeout']);
  const back = await postForm(lb.url, { b: 'cluster', nonce, b_lbm: 'byrequests', b_tmo: '0', b_sforce: '1', b_ss: '_s' });
  assert.equal(back.status, 200);
  assert.equal(st.lbmethod, 'byrequests');
  assert.deepEqual(st.sticky, { cookie: '_s', url: '_s' });
  const bad = await postForm(lb.url, { b: 'cluster', nonce, b_lbm: 'roundrobin', b_tmo: '5' });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /lbmethod &quot;roundrobin&quot; is unknown/);
  assert.equal(st.timeoutMs, 0, 'a refused request changes nothing');
});

test('JSON API: read everything, change a member and a balancer, drain and undrain, add a member', async () => {
  const all = await apiGet(lb.url);
  assert.equal(all.balancers[0].name, 'cluster');
  assert.equal(typeof all.balancers[0].nonce, 'string');
  assert.deepEqual(Object.keys(all.balancers[0].members[0]).slice(0, 6), ['id', 'url', 'scheme', 'hostname', 'port', 'route']);
  const nonce = all.balancers[0].nonce;
  const h = { 'X-Stickylb-Nonce': nonce };

  const p = await apiSend(lb.url, 'PATCH', '/balancers/cluster/members/second', { lbfactor: 3, lbset: 0, status: '+H' }, h);
  assert.equal(p.status, 200, p.body);
  assert.deepEqual(p.json().changed, [`member ${b.url}: lbfactor 1 → 3`, `member ${b.url}: status.H false → true`]);
  assert.equal(p.json().member.lbfactor, 3);
  const undo = await apiSend(lb.url, 'PATCH', `/balancers/cluster/members/${encodeURIComponent(b.url)}`, { status: { H: false }, nonce });
  assert.equal(undo.status, 200, undo.body);

  // What a rolling restart needs: drain, watch busy and elected, undrain.
  const d = await apiSend(lb.url, 'POST', '/balancers/cluster/members/first/drain', undefined, h);
  assert.equal(d.status, 200, d.body);
  assert.equal(d.json().member.flags.N, true);
  for (let i = 0; i < 4; i++) assert.equal((await memberOf('/drain')).member, 'second');
  const one = await apiGet(lb.url, '/balancers/cluster/members/first');
  assert.equal(one.busy, 0);
  assert.equal(typeof one.elected, 'number');
  assert.deepEqual(one.status, ['Drain']);
  const u = await apiSend(lb.url, 'POST', '/balancers/cluster/members/first/undrain', undefined, h);
  assert.equal(u.json().member.flags.N, false);

  const bal = await apiSend(lb.url, 'PATCH', '/balancers/cluster', { maxattempts: 0, timeout: 2 }, h);
  assert.equal(bal.status, 200, bal.body);
  assert.equal(bal.json().balancer.maxattempts, 0);
  assert.equal(bal.json().balancer.timeout, 2);
  const reset = await apiSend(lb.url, 'PATCH', '/balancers/cluster', { maxattempts: null, timeout: 0 }, h);
  assert.equal(reset.json().balancer.maxattemptsSet, false);

  const emptyNonce = all.balancers.find((x: any) => x.name === 'empty').nonce;
  const add = await apiSend(lb.url, 'POST', '/balancers/empty/members', { url: 'http://127.0.0.1:9/', route: 'nine', lbfactor: 2 }, { 'X-Stickylb-Nonce': emptyNonce });
  assert.equal(add.status, 201, add.body);
  assert.equal(add.json().member.flags.D, true);
  assert.equal(add.json().member.route, 'nine');
  const full = await apiSend(lb.url, 'POST', '/balancers/empty/members', { url: 'http://127.0.0.1:10/' }, { 'X-Stickylb-Nonce': emptyNonce });
  assert.equal(full.status, 400);
  assert.match(full.json().error, /no free slot/);
});

test('JSON API: bad requests say why and change nothing', async () => {
  const nonce = (await apiGet(lb.url)).balancers[0].nonce;
  const h = { 'X-Stickylb-Nonce': nonce };
  const st = lb.app.runtime.balancer('cluster')!;
  const cases: [string, string, unknown, number, RegExp][] = [
    ['PATCH', '/balancers/cluster/members/first', { lbfactor: 500 }, 400, /out of range 1\.\.100/],
    ['PATCH', '/balancers/cluster/members/first', { lbfactor: 2, weight: 3 }, 400, /unknown field weight/],
    ['PATCH', '/balancers/cluster/members/first', { route: 'a b' }, 400, /spaces/],
    ['PATCH', '/balancers/cluster/members/nobody', { lbfactor: 2 }, 404, /no member nobody/],
    ['PATCH', '/balancers/nothing', { lbmethod: 'byrequests' }, 404, /no balancer named nothing/],
    ['PATCH', '/balancers/cluster', { lbmethod: 'fastest' }, 400, /unknown/],
    ['DELETE', '/balancers/cluster', undefined, 405, /GET to read/],
    ['POST', '/balancers/cluster/members/first/reboot', undefined, 404, /no action reboot/],
  ];
  for (const [method, path, body, status, msg] of cases) {
    const r = await apiSend(lb.url, method, path, body, h);
    assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
    assert.match(r.json().error, msg);
  }
  assert.equal(st.members[0].lbfactor, 1);
  const form = await request(`${lb.url}${MANAGER}/api/balancers/cluster/members/first`, {
    method: 'PATCH',
    headers: { Origin: lb.url, 'X-Stickylb-Nonce': nonce, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'lbfactor=5',
  });
  assert.equal(form.status, 415);
  assert.equal(st.members[0].lbfactor, 1);
});
