// The demo in a real headless Chromium over HTTPS: the page arrives over HTTP/2 (ALPN h2), the
// session sticks to its node across clicks, and the route cookie the balancer sets is Secure.
// Chromium ignores the test CA's certificate errors (--ignore-certificate-errors).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { certDir, makeCa, makeCert, writeCert } from '../helpers/certs.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--ignore-certificate-errors'];
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const LINE = /^demo node route=(\S+) listening on (http:\/\/127\.0\.0\.1:\d+) pid=(\d+)$/;
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;

const nodes: { route: string; url: string; proc: NodeProcess }[] = [];
let lb: RunningBalancer;
let profile: string;
let ctx: BrowserContext | undefined;
let page: Page;
const problems: string[] = [];

before(async () => {
  if (skip) return;
  for (const route of ['first', 'second']) {
    const proc = startCli(['demo-node'], { PORT: '0', STICKYLB_ROUTE: route });
    const m = await proc.waitFor(LINE);
    nodes.push({ route, url: m[2], proc });
  }
  const ca = await makeCa();
  const files = writeCert(certDir(), 'demo', await makeCert(ca, ['localhost']));
  lb = await startBalancer(
    {
      listen: [{ host: '127.0.0.1', port: 0, tls: true }],
      serverName: 'localhost',
      tls: files,
      hsts: true,
      balancers: { seaside: { stickysession: '_s|_s', nofailover: true, routecookie: 'ROUTEID', members: nodes.map((n) => ({ url: n.url, route: n.route })) } },
      proxyPass: [{ path: '/', to: 'balancer://seaside/' }],
      proxyPassReverse: [{ path: '/', to: 'balancer://seaside/' }],
    },
    { plugins: [] },
  );
  profile = mkdtempSync(join(tmpdir(), 'stickylb-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  if (skip) return;
  await ctx?.close();
  rmSync(profile, { recursive: true, force: true });
  await lb?.close();
  await Promise.all(nodes.map((n) => n.proc.stop()));
});

test('Chromium loads the demo over HTTPS with HTTP/2; the session sticks across clicks; the route cookie is Secure', { skip }, async () => {
  const origin = `https://localhost:${lb.port}`;
  const res = await page.goto(`${origin}/counter`);
  assert.equal(res?.status(), 200);
  assert.equal(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol), 'h2');
  assert.equal(res?.headers()['strict-transport-security'], 'max-age=31536000');
  const route = await page.evaluate(() => document.body.dataset.route);
  assert.ok(route === 'first' || route === 'second');
  for (let i = 0; i < 5; i++) {
    await Promise.all([page.waitForLoadState('load'), page.click('#increment')]);
    assert.equal(await page.evaluate(() => document.body.dataset.route), route);
  }
  assert.equal(await page.textContent('#count'), '5');
  const cookies = await ctx!.cookies(origin);
  const routeCookie = cookies.find((c) => c.name === 'ROUTEID');
  assert.ok(routeCookie, 'the route cookie was set');
  assert.equal(routeCookie.value, `.${route}`);
  assert.equal(routeCookie.secure, true);
  await page.screenshot({ path: join(ARTIFACTS, 'tls-demo-h2.png') });
  assert.deepEqual(problems, []);
});
