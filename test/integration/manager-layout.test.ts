// The manager page in a real headless Chromium at 1280, 1200, 1024 and 800 px and a phone's 390:
// nothing is cut off (every element's box lies inside the viewport, no table scrolls sideways),
// the live charts are drawn from the JSON API (live sessions too, where the nodes report them),
// the rolling-restart card follows a rollout without a reload, and the page's CSP is unchanged.
// Screenshots go to test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';
import { apiGet, MANAGER } from '../helpers/manager.js';
import { managerPlugins } from '../../src/manager/plugins.js';
import { rollingPlugin } from '../../src/rolling/plugin.js';
import { healthPlugin } from '../../src/health/plugin.js';
import { PAGE_CSP } from '../../src/manager/page/page.js';
import { LIVE_SESSIONS_PATH } from '../../src/cluster/live-sessions.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;

let nodes: Backend[] = [];
let lb: RunningBalancer;
let browser: Browser;
let profile: string;
let traffic: NodeJS.Timeout | undefined;
const problems: string[] = [];

/** A node that issues `_s=….route` sessions and reports how many it holds at the live-sessions path. */
async function node(name: string): Promise<Backend> {
  let sessions = 0;
  return startBackend({
    name,
    handler: (req, res, _body, b) => {
      if (req.url === LIVE_SESSIONS_PATH) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ route: b.route, sessions }));
        return;
      }
      const known = /(^|;\s*)_s=/.test(req.headers.cookie ?? '');
      if (!known) sessions++;
      res.writeHead(200, { 'Content-Type': 'text/plain', ...(known ? {} : { 'Set-Cookie': `_s=${sessions}x.${b.route}; Path=/` }) });
      res.end(`${name}\n`);
    },
  });
}

before(async () => {
  if (skip) return;
  nodes = [await node('first'), await node('second'), await node('third')];
  lb = await startBalancer(
    {
      balancers: {
        'seaside-cluster': {
          stickysession: '_s',
          members: [
            { url: nodes[0].url, route: 'first', health: { method: 'GET', uri: '/health', interval: '1s' } },
            { url: nodes[1].url, route: 'second' },
            { url: nodes[2].url, route: 'third', status: '+H' },
          ],
        },
      },
      proxyPass: [
        { path: MANAGER, to: '!' },
        { path: '/', to: 'balancer://seaside-cluster/' },
      ],
      manager: {},
      serverStatus: {},
      proxyStatus: true,
      rolling: { sessionsPath: LIVE_SESSIONS_PATH, maxWait: 300 },
    },
    { plugins: [...managerPlugins({ manager: { historyIntervalMs: 250 } }), rollingPlugin(), healthPlugin()] },
  );
  // Steady traffic for the charts: new sessions on both usable members.
  traffic = setInterval(() => {
    for (let i = 0; i < 4; i++) request(`${lb.url}/app`).catch(() => undefined);
  }, 100);
  profile = mkdtempSync(join(tmpdir(), 'stickylb-chromium-'));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  if (skip) return;
  if (traffic) clearInterval(traffic);
  await browser?.close();
  rmSync(profile, { recursive: true, force: true });
  await lb.close();
  await Promise.all(nodes.map((n) => n.close()));
});

async function open(width: number, height = 900): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${width}px console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${width}px page error: ${e.message}`));
  const r = await page.goto(`${lb.url}${MANAGER}`);
  assert.equal(r?.headers()['content-security-policy'], PAGE_CSP, 'the CSP is the page\'s own, unchanged');
  return page;
}

// Browser-side code is given as text: the test runner's compiler wraps named functions in a
// helper the page does not have.

/** Elements whose box leaves the viewport sideways, and tables that scroll sideways. */
const CLIPPED = `(() => {
  const w = document.documentElement.clientWidth;
  const out = [];
  const what = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') + ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
  for (const el of document.querySelectorAll('header, main *, footer')) {
    if (el.closest('[hidden]') || el.closest('svg')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -0.5 || r.right > w + 0.5) out.push(what(el) + ': ' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + w);
  }
  for (const s of document.querySelectorAll('.scroll')) if (s.scrollWidth > s.clientWidth + 1) out.push('a table scrolls sideways: ' + s.scrollWidth + ' in ' + s.clientWidth);
  if (document.documentElement.scrollWidth > w) out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' in ' + w);
  return out;
})()`;

function clipped(page: Page): Promise<string[]> {
  return page.evaluate(CLIPPED);
}

/** The charts of the balancer have lines for every member, and live sessions are shown. */
const CHARTS_DRAWN = `(() => {
  const box = document.querySelector('[data-charts="seaside-cluster"]');
  if (!box) return false;
  const n = (s) => box.querySelectorAll('figure[data-series="' + s + '"] polyline').length;
  const sessions = box.querySelector('figure[data-series="sessions"]');
  return n('rps') === 3 && n('busy') === 3 && n('eps') === 3 && !!sessions && !sessions.hasAttribute('hidden') && n('sessions') >= 2;
})()`;

async function chartsDrawn(page: Page): Promise<void> {
  await page.waitForFunction(CHARTS_DRAWN, undefined, { timeout: 20_000 });
}

for (const width of [1280, 1200, 1024, 800, 390]) {
  test(`manager page at ${width} px: nothing cut off, the live charts drawn`, { skip, timeout: 60_000 }, async () => {
    const page = await open(width);
    await chartsDrawn(page);
    await page.screenshot({ path: join(ARTIFACTS, `manager-${width}.png`), fullPage: true });
    assert.deepEqual(await clipped(page), [], `${width} px`);
    // Every member's actions are there to be clicked.
    for (const n of nodes) {
      for (const name of ['Drain', 'Disable']) {
        const button = page.locator(`tr[data-m="${n.url}"] button`, { hasText: name });
        assert.equal(await button.isVisible(), true, `${width} px: ${name} of ${n.url}`);
        const box = (await button.boundingBox())!;
        assert.ok(box.x >= 0 && box.x + box.width <= width, `${width} px: ${name} of ${n.url} inside the viewport`);
      }
    }
    // The charts show 15 minutes, scaled to what they hold, and name the members.
    assert.match((await page.locator('[data-charts="seaside-cluster"] figure[data-series="rps"] .max').textContent()) ?? '', /^scale \d/);
    assert.deepEqual(await page.locator('[data-charts="seaside-cluster"] .legend li').allInnerTexts(), ['first', 'second', 'third']);
    await page.close();
  });
}

test('the rolling-restart card follows a rollout without a reload', { skip, timeout: 60_000 }, async () => {
  const page = await open(1024);
  await page.evaluate(() => {
    (window as unknown as { marker: number }).marker = 42;
  });
  assert.match(await page.locator('#rolling').innerText(), /Rolling restart of seaside-cluster/);
  const nonce = (await apiGet(lb.url)).balancers[0].nonce as string;
  const post = (sub: string, body: unknown) =>
    request(`${lb.url}${MANAGER}/api/rolling${sub}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: lb.url }, body: JSON.stringify(body) });
  assert.equal((await post('', { nonce, balancer: 'seaside-cluster', idle: '60s' })).status, 202);
  await page.waitForFunction(() => /Rolling restart in progress/.test(document.querySelector('#rolling')?.textContent ?? ''), undefined, { timeout: 15_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'the page was not reloaded');
  assert.equal((await post('/abort', { nonce, balancer: 'seaside-cluster' })).status, 202);
  await page.waitForFunction(() => /Last rolling restart/.test(document.querySelector('#rolling')?.textContent ?? ''), undefined, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42);
  // The drained member is back (the rollout undoes its drain when aborted), or still draining: either way the card said so.
  await page.screenshot({ path: join(ARTIFACTS, 'manager-rolling.png'), fullPage: true });
  await page.close();
  assert.deepEqual(problems, [], 'no script errors or CSP refusals');
});
