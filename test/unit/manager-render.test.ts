// Pure rendering of the manager page, the XML view, server-status ?auto and the JSON view, and
// the reading of Apache's manager parameters: no sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { validateConfig } from '../../src/config/validate.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { managerView } from '../../src/manager/page/view.js';
import { renderPage, PAGE_CSP } from '../../src/manager/page/page.js';
import { PAGE_SCRIPT } from '../../src/manager/page/page-script.js';
import { PAGE_STYLE } from '../../src/manager/page/page-style.js';
import { renderXml } from '../../src/manager/page/xml.js';
import { renderAuto } from '../../src/manager/status/status-auto.js';
import { renderStatusPage } from '../../src/manager/status/status-page.js';
import { statusView } from '../../src/manager/status/status-view.js';
import { parseApacheParams } from '../../src/manager/page/apache-params.js';
import { applyChanges, ChangeError, dropRestated } from '../../src/manager/api/changes.js';
import { formatBytes, formatUptime } from '../../src/manager/format.js';

const EVIL = '<script>alert(1)</script>';

function setup(extra: Record<string, unknown> = {}) {
  const config = validateConfig({
    listen: ['127.0.0.1:0'],
    balancers: {
      cluster: {
        stickysession: 'JSESSIONID|jsessionid',
        nofailover: true,
        growth: 1,
        members: [
          { url: 'http://10.0.0.1:8080', route: 'first', health: { method: 'GET', uri: '/ping', interval: '5s' } },
          { url: 'http://10.0.0.2:8080', route: EVIL, loadfactor: 2, status: '+H' },
        ],
      },
    },
    proxyPass: [{ path: '/app', to: 'balancer://cluster/' }],
    proxyStatus: true,
    ...extra,
  });
  const runtime = new RuntimeState(config, () => 1_700_000_000_000);
  const view = () => managerView({ runtime, config, nonceOf: (b) => `nonce-of-${b}`, serverName: 'lb.example.org', version: '1.2.3', now: 1_700_000_060_000 });
  return { config, runtime, view };
}

test('page: every value is escaped (a route holding <script> stays text)', () => {
  const { view } = setup();
  const page = renderPage(view(), { path: '/balancer-manager', lbmethods: ['byrequests', 'bybusyness'] });
  assert.ok(!page.includes(EVIL), 'the raw route must not appear');
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  // The only script element is the page's own one.
  assert.equal(page.split('<script>').length - 1, 1);
  const edit = renderPage(view(), { path: '/balancer-manager', selected: { b: 'cluster', w: 'http://10.0.0.2:8080' }, lbmethods: ['byrequests'] });
  assert.ok(edit.includes('value="&lt;script&gt;alert(1)&lt;/script&gt;"'));
  assert.ok(!edit.includes(EVIL));
});

test('page: member links carry b, w and nonce as Apache\'s do, and show balancer facts', () => {
  const { view } = setup();
  const page = renderPage(view(), { path: '/balancer-manager', lbmethods: ['byrequests'] });
  assert.ok(page.includes('href="/balancer-manager?b=cluster&amp;w=http://10.0.0.1:8080&amp;nonce=nonce-of-cluster"'));
  assert.ok(page.includes('href="/balancer-manager?b=cluster&amp;nonce=nonce-of-cluster"'));
  // The nonce is what Apache-era scripts scrape.
  assert.equal(/nonce=([0-9A-Za-z-]+)/.exec(page)?.[1], 'nonce-of-cluster');
  for (const text of ['JSESSIONID | jsessionid', 'Disable failover', 'On', 'Failover attempts', 'byrequests', '/app', 'Standby', 'GET /ping every 5s', '2.00']) {
    assert.ok(page.includes(text), `page shows ${text}`);
  }
});

test('page: the CSP allows exactly the inline style and script, by hash', () => {
  const h = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  assert.ok(PAGE_CSP.includes(`style-src ${h(PAGE_STYLE)}`));
  assert.ok(PAGE_CSP.includes(`script-src ${h(PAGE_SCRIPT)}`));
  assert.ok(PAGE_CSP.includes("frame-ancestors 'none'"));
  const { view } = setup();
  const page = renderPage(view(), { path: '/m', lbmethods: [] });
  assert.ok(page.includes(`<style>${PAGE_STYLE}</style>`));
  assert.ok(page.includes(`<script>${PAGE_SCRIPT}</script>`));
  assert.ok(page.includes('<body data-api="/m/api">'));
  // A manager at the root still polls its own origin (not the protocol-relative //api).
  assert.ok(renderPage(view(), { path: '/', lbmethods: [] }).includes('<body data-api="/api">'));
});

test('page: values set in the manager are marked with the config value', () => {
  const { view, runtime, config } = setup();
  const b = runtime.balancer('cluster')!;
  applyChanges(b, { member: { ref: 'first', changes: { lbfactor: 7 } } }, config);
  const v = view();
  assert.deepEqual(v.balancers[0].members[0].changedAtRuntime, ['lbfactor']);
  const page = renderPage(v, { path: '/m', lbmethods: [] });
  assert.ok(page.includes('title="Set in the manager; the config file says 1.00"'));
});

test('XML: Apache\'s layout with every value escaped', () => {
  const { view } = setup();
  const xml = renderXml(view());
  assert.ok(xml.startsWith("<?xml version='1.0' encoding='UTF-8' ?>\n<httpd:manager xmlns:httpd='http://httpd.apache.org'>"));
  for (const part of [
    '<httpd:name>balancer://cluster</httpd:name>',
    '<httpd:nonce>nonce-of-cluster</httpd:nonce>',
    '<httpd:stickysession>JSESSIONID</httpd:stickysession>',
    '<httpd:nofailover>On</httpd:nofailover>',
    '<httpd:lbmethod>byrequests</httpd:lbmethod>',
    '<httpd:name>http://10.0.0.1:8080</httpd:name>',
    '<httpd:loadfactor>2.00</httpd:loadfactor>',
    '<httpd:status>Init Stby Ok</httpd:status>',
    '<httpd:route>&lt;script&gt;alert(1)&lt;/script&gt;</httpd:route>',
    '<httpd:hcmethod>GET</httpd:hcmethod>',
  ]) {
    assert.ok(xml.includes(part), part);
  }
  assert.ok(!xml.includes(EVIL));
});

test('server-status ?auto: mod_status keys, then ProxyBalancer[i]Worker[j] keys', () => {
  const { runtime, config } = setup();
  const m = runtime.balancer('cluster')!.members[0];
  m.elected = 5;
  m.bytesTo = 4096;
  m.bytesFrom = 10_240;
  const stats = { startedAt: 1_700_000_000_000, requests: 120, inFlight: 2, connections: 3, bytesIn: 2048, bytesOut: 61_440 };
  const v = statusView({ runtime, config, stats, serverName: 'lb', version: '1.2.3', now: 1_700_000_060_000 });
  const auto = renderAuto(v);
  const kv = new Map(auto.trim().split('\n').slice(1).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
  assert.equal(auto.split('\n')[0], 'lb');
  assert.equal(kv.get('ServerVersion'), 'stickylb/1.2.3');
  assert.equal(kv.get('ServerUptimeSeconds'), '60');
  assert.equal(kv.get('ServerUptime'), '1 minute');
  assert.equal(kv.get('Total Accesses'), '120');
  assert.equal(kv.get('Total kBytes'), '60');
  assert.equal(kv.get('ReqPerSec'), '2');
  assert.equal(kv.get('BytesPerSec'), '1024');
  assert.equal(kv.get('BytesPerReq'), '512');
  assert.equal(kv.get('BusyWorkers'), '2');
  assert.equal(kv.get('ConnsTotal'), '3');
  assert.equal(kv.get('ProxyBalancer[0]Name'), 'balancer://cluster');
  assert.equal(kv.get('ProxyBalancer[0]Worker[0]Name'), 'http://10.0.0.1:8080');
  assert.equal(kv.get('ProxyBalancer[0]Worker[0]Status'), 'Init Ok');
  assert.equal(kv.get('ProxyBalancer[0]Worker[0]Elected'), '5');
  assert.equal(kv.get('ProxyBalancer[0]Worker[0]Sent'), '4K');
  assert.equal(kv.get('ProxyBalancer[0]Worker[0]Rcvd'), '10K');
  assert.equal(kv.get('ProxyBalancer[0]Worker[1]Status'), 'Init Stby Ok');
  // Without proxyStatus the balancer part is left out, as Apache does.
  const off = renderAuto(statusView({ runtime, config: { ...config, proxyStatus: false }, stats, serverName: 'lb', version: '1', now: 1_700_000_060_000 }));
  assert.ok(!off.includes('ProxyBalancer'));
  const html = renderStatusPage(v);
  assert.ok(html.includes('&lt;script&gt;') && !html.includes(EVIL));
});

test('Apache parameters: member, balancer and add-member forms', () => {
  const p = parseApacheParams(new URLSearchParams('b=balancer://cluster&w=http://10.0.0.1:8080&nonce=n&w_lf=2.50&w_ls=1&w_wr=r1&w_rr=&w_status_D=1&w_status_N=0'));
  assert.equal(p.b, 'cluster');
  assert.equal(p.nonce, 'n');
  assert.equal(p.hasChanges, true);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.request.member, { ref: 'http://10.0.0.1:8080', changes: { lbfactor: 2.5, lbset: 1, route: 'r1', redirect: '', status: { D: true, N: false } } });
  const b = parseApacheParams(new URLSearchParams('b=cluster&nonce=n&b_lbm=bybusyness&b_tmo=5&b_max=2&b_sforce=0&b_ss=A | a&b_nwrkr=&b_wyes='));
  assert.deepEqual(b.request.balancer, { lbmethod: 'bybusyness', timeoutMs: 5000, maxattempts: 2, nofailover: false, sticky: { cookie: 'A', url: 'a' } });
  assert.equal(b.request.add, undefined);
  assert.deepEqual(parseApacheParams(new URLSearchParams('b=c&b_ss=-')).request.balancer, { sticky: undefined });
  const add = parseApacheParams(new URLSearchParams('b=c&nonce=n&b_nwrkr=http://10.0.0.3:8080&b_wyes=1'));
  assert.deepEqual(add.request.add, { url: 'http://10.0.0.3:8080', changes: {} });
  assert.deepEqual(parseApacheParams(new URLSearchParams('b=c&b_nwrkr=http://10.0.0.3:8080')).errors, ['adding a member needs b_wyes=1 ("Are you sure?")']);
  assert.deepEqual(parseApacheParams(new URLSearchParams('b=c&w=x&w_lf=abc&w_status_D=2')).errors, ['w_lf="abc" is not a number', 'w_status_D="2" must be 0 or 1']);
  const sel = parseApacheParams(new URLSearchParams('b=c&w=x&nonce=n&xml=1'));
  assert.equal(sel.hasChanges, false);
  assert.equal(sel.xml, true);
});

test('changes: checked as a whole, so a refused request changes nothing', () => {
  const { runtime, config } = setup();
  const b = runtime.balancer('cluster')!;
  const m = b.members[0];
  assert.throws(() => applyChanges(b, { member: { ref: 'first', changes: { lbfactor: 5, route: 'has space' } } }, config), ChangeError);
  assert.equal(m.lbfactor, 1);
  assert.equal(m.route, 'first');
  assert.throws(() => applyChanges(b, { member: { ref: 'first', changes: { lbfactor: 5 } }, balancer: { lbmethod: 'nonsense' as never } }, config), /lbmethod "nonsense" is unknown/);
  assert.equal(m.lbfactor, 1);
  assert.throws(() => applyChanges(b, { member: { ref: 'nobody', changes: { lbset: 1 } } }, config), (e: unknown) => e instanceof ChangeError && e.status === 404);
  assert.throws(() => applyChanges(b, { member: { ref: 'first', changes: { status: { E: true } } } }, config), /cannot be set here/);
  const done = applyChanges(b, { member: { ref: 'http://10.0.0.1:8080/', changes: { lbfactor: 5, status: { N: true } } } }, config);
  assert.deepEqual(done.summary, ['member http://10.0.0.1:8080: lbfactor 1 → 5', 'member http://10.0.0.1:8080: status.N false → true']);
  assert.equal(m.lbfactor, 5);
  assert.equal(m.flags.N, true);
});

test('changes: adding members uses growth slots and starts disabled', () => {
  const { runtime, config } = setup();
  const b = runtime.balancer('cluster')!;
  const r = applyChanges(b, { add: { url: 'http://10.0.0.3:8080', changes: { route: 'third' } } }, config);
  assert.equal(r.added?.flags.D, true);
  assert.equal(r.added?.route, 'third');
  assert.throws(() => applyChanges(b, { add: { url: 'http://10.0.0.4:8080', changes: {} } }, config), /no free slot/);
  assert.throws(() => applyChanges(b, { add: { url: 'ftp://x', changes: {} } }, config), /must be an http/);
});

test('changes: restating the balancer form\'s shown values is not a change', () => {
  const { runtime } = setup();
  const b = runtime.balancer('cluster')!;
  const req = dropRestated(b, { balancer: { maxattempts: 1, sticky: { cookie: 'JSESSIONID', url: 'jsessionid' }, timeoutMs: 0 } });
  assert.deepEqual(req.balancer, { timeoutMs: 0 });
});

test('formats', () => {
  assert.equal(formatBytes(0), '0');
  assert.equal(formatBytes(1536), '1.5K');
  assert.equal(formatBytes(50 * 1024 * 1024), '50M');
  assert.equal(formatUptime(0), '0 seconds');
  assert.equal(formatUptime(90061), '1 day 1 hour 1 minute 1 second');
});
