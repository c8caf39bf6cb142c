// Protection of the manager: refused changes (no nonce, wrong nonce, foreign Origin or Referer,
// a link instead of a POST, a client outside the allowed addresses, wrong basic-auth credentials)
// answer with the reason and change nothing; every value on the page is escaped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';
import { apiGet, apiSend, MANAGER, postForm } from '../helpers/manager.js';
import { managerPlugins, type ManagerPlugin } from '../../src/manager/plugins.js';
import type { Nonces } from '../../src/manager/access/nonce.js';
import type { RawConfig } from '../../src/config/schema.js';

const EVIL = '<script>alert(1)</script>';
let a: Backend;
let b: Backend;
let dir: string;

before(async () => {
  a = await startBackend({ name: 'first' });
  b = await startBackend({ name: 'second' });
  dir = mkdtempSync(join(tmpdir(), 'stickylb-protection-'));
});

after(async () => {
  await Promise.all([a.close(), b.close()]);
});

function config(manager: RawConfig['manager'] = {}): RawConfig {
  return {
    balancers: { cluster: { stickysession: '_s', nofailover: true, members: [{ url: a.url, route: 'first' }, { url: b.url, route: EVIL }] } },
    proxyPass: [{ path: '/', to: 'balancer://cluster/' }],
    manager,
    serverStatus: {},
    metrics: {},
    proxyStatus: true,
  };
}

async function withBalancer(manager: RawConfig['manager'], fn: (lb: RunningBalancer, nonces: Nonces) => Promise<void>) {
  const plugins = managerPlugins();
  const lb = await startBalancer(config(manager), { plugins });
  try {
    await fn(lb, (plugins.find((p) => p.name === 'balancer-manager') as ManagerPlugin).nonces);
  } finally {
    await lb.close();
  }
}

/** Everything a change could touch, to compare before and after a refused request. */
function stateOf(lb: RunningBalancer) {
  const bal = lb.app.runtime.balancer('cluster')!;
  return JSON.stringify({
    lbmethod: bal.lbmethod,
    nofailover: bal.nofailover,
    timeout: bal.timeoutMs,
    members: bal.members.map((m) => [m.url, m.route, m.lbfactor, m.lbset, m.flags, [...m.changedAtRuntime]]),
  });
}

test('changes without nonce, with a wrong nonce, or from a foreign origin are refused with the reason [manager-nonce] [manager-post-origin]', async () => {
  await withBalancer({}, async (lb) => {
    const nonce = (await apiGet(lb.url)).balancers[0].nonce as string;
    const before = stateOf(lb);
    const change = { b: 'cluster', w: a.url, w_status_D: '1', w_lf: '9' };
    const cases: [string, Record<string, string>, Record<string, string>, RegExp][] = [
      ['no nonce', change, {}, /changes need balancer cluster&#39;s nonce/],
      ['wrong nonce', { ...change, nonce: 'not-the-nonce' }, {}, /the nonce does not match balancer cluster&#39;s/],
      ["another balancer's nonce shape", { ...change, nonce: nonce.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, {}, /does not match/],
      ['foreign Origin', { ...change, nonce }, { Origin: 'http://evil.example' }, /cross-site request refused: Origin http:\/\/evil\.example is not this server/],
      ['foreign Referer', { ...change, nonce }, { Origin: '', Referer: 'http://evil.example/page' }, /Referer http:\/\/evil\.example\/page is not this server/],
      ['neither Origin nor Referer', { ...change, nonce }, { Origin: '' }, /need an Origin or Referer/],
      ['Origin with another port', { ...change, nonce }, { Origin: `http://127.0.0.1:${lb.port + 1}` }, /cross-site/],
    ];
    for (const [what, params, headers, reason] of cases) {
      const r = await postForm(lb.url, params, headers);
      assert.equal(r.status, 403, what);
      assert.match(r.body, reason, what);
      assert.match(r.body, /Nothing was changed\./, what);
      assert.equal(stateOf(lb), before, `${what}: state unchanged`);
    }
    // A link cannot change anything, even with the right nonce.
    const get = await request(`${lb.url}${MANAGER}?b=cluster&w=${encodeURIComponent(a.url)}&nonce=${nonce}&w_status_D=1`);
    assert.equal(get.status, 403);
    assert.match(get.body, /changes must be sent with POST/);
    assert.equal(stateOf(lb), before);
    // The JSON API has the same rules.
    const api: [Record<string, string>, RegExp][] = [
      [{}, /changes need balancer cluster's nonce/],
      [{ 'X-Stickylb-Nonce': 'wrong' }, /does not match/],
      [{ 'X-Stickylb-Nonce': nonce, Origin: 'http://evil.example' }, /cross-site/],
      [{ 'X-Stickylb-Nonce': nonce, Origin: '' }, /Origin or Referer/],
    ];
    for (const [headers, reason] of api) {
      const r = await apiSend(lb.url, 'PATCH', '/balancers/cluster/members/first', { status: '+D' }, headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.match(r.json().error, reason);
      assert.equal(stateOf(lb), before);
    }
    // And the right request goes through, to show the refusals were not for another reason.
    const ok = await postForm(lb.url, { ...change, nonce });
    assert.equal(ok.status, 200);
    assert.notEqual(stateOf(lb), before);
  });
});

test('clients outside the allowed addresses are refused on every handler, and change nothing', async () => {
  await withBalancer({ allow: ['10.0.0.0/8'] }, async (lb, nonces) => {
    const before = stateOf(lb);
    const page = await request(`${lb.url}${MANAGER}`);
    assert.equal(page.status, 403);
    assert.match(page.body, /127\.0\.0\.1 may not use \/balancer-manager/);
    // Even with the right nonce (read from the server's side here).
    const nonce = nonces.of('cluster');
    const post = await postForm(lb.url, { b: 'cluster', w: a.url, nonce, w_status_D: '1' });
    assert.equal(post.status, 403);
    const api = await apiSend(lb.url, 'PATCH', '/balancers/cluster/members/first', { status: '+D', nonce });
    assert.equal(api.status, 403);
    assert.equal(stateOf(lb), before);
    // server-status and metrics keep their own (default: loopback) rules.
    assert.equal((await request(`${lb.url}/server-status?auto`)).status, 200);
    assert.equal((await request(`${lb.url}/metrics`)).status, 200);
  });
  await withBalancer({ allow: ['all'], deny: ['127.0.0.0/8', '::1'] }, async (lb) => {
    assert.equal((await request(`${lb.url}${MANAGER}`)).status, 403);
  });
  await withBalancer({ allow: ['127.0'] }, async (lb) => {
    assert.equal((await request(`${lb.url}${MANAGER}`)).status, 200);
  });
});

test('basic auth from an htpasswd file: wrong or missing credentials are refused and change nothing', async () => {
  const file = join(dir, 'manager.htpasswd');
  writeFileSync(file, `admin:${bcrypt.hashSync('s3cret', 4).replace(/^\$2b\$/, '$2y$')}\nlegacy:$apr1$xyz$abcdefghijklmnopqrstuv\n`);
  await withBalancer({ htpasswd: file, realm: 'Cluster "ops"' }, async (lb) => {
    const auth = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    const none = await request(`${lb.url}${MANAGER}`);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Basic realm="Cluster ops", charset="UTF-8"');
    assert.equal((await request(`${lb.url}${MANAGER}`, { headers: auth('admin', 'wrong') })).status, 401);
    assert.equal((await request(`${lb.url}${MANAGER}`, { headers: auth('legacy', 'anything') })).status, 401);
    const good = await request(`${lb.url}${MANAGER}/api`, { headers: auth('admin', 's3cret') });
    assert.equal(good.status, 200);
    const nonce = good.json().balancers[0].nonce;
    const before = stateOf(lb);
    const bad = await postForm(lb.url, { b: 'cluster', w: a.url, nonce, w_status_D: '1' }, auth('admin', 'guess'));
    assert.equal(bad.status, 401);
    assert.equal(stateOf(lb), before);
    const ok = await postForm(lb.url, { b: 'cluster', w: a.url, nonce, w_status_D: '1' }, auth('admin', 's3cret'));
    assert.equal(ok.status, 200);
    assert.equal(lb.app.runtime.balancer('cluster')!.members[0].flags.D, true);
  });
});

test('a member route holding <script> is shown escaped on every page, and the page forbids framing and foreign scripts', async () => {
  await withBalancer({}, async (lb) => {
    const page = await request(`${lb.url}${MANAGER}`);
    assert.equal(page.status, 200);
    assert.ok(!page.body.includes(EVIL));
    assert.ok(page.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['cache-control'], 'no-store');
    const edit = await request(`${lb.url}${MANAGER}?b=cluster&w=${encodeURIComponent(b.url)}`);
    assert.ok(!edit.body.includes(EVIL));
    // A route set through the manager is escaped too.
    const nonce = (await apiGet(lb.url)).balancers[0].nonce;
    const img = '"><img src=x onerror=alert(2)>';
    const r = await postForm(lb.url, { b: 'cluster', w: a.url, nonce, w_wr: img.replace(/ /g, '') });
    assert.equal(r.status, 200, r.body);
    for (const url of [MANAGER, `${MANAGER}?b=cluster&w=${encodeURIComponent(a.url)}`, '/server-status', `${MANAGER}?xml=1`]) {
      const body = (await request(`${lb.url}${url}`)).body;
      assert.ok(!body.includes('<img'), url);
      assert.ok(!body.includes(EVIL), url);
    }
    // Sticky names set in the manager are escaped as well.
    const ss = await postForm(lb.url, { b: 'cluster', nonce, b_ss: '<b>x</b>' });
    assert.equal(ss.status, 200, ss.body);
    assert.ok(!(await request(`${lb.url}${MANAGER}`)).body.includes('<b>x</b>'));
  });
});
