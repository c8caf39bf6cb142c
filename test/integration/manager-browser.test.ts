// The manager in a real headless Chromium: disable a member with the page's form and watch new
// sessions leave it while its sticky sessions are refused (nofailover On) or moved (Off); drain
// it and watch it keep only its sticky sessions; re-enable it. Screenshots go to test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';
import { MANAGER } from '../helpers/manager.js';
import { managerPlugins } from '../../src/manager/plugins.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;

let a: Backend;
let b: Backend;
let lb: RunningBalancer;
let profile: string;
let ctx: BrowserContext | undefined;
let page: Page;
const problems: string[] = [];

before(async () => {
  if (skip) return;
  a = await startBackend({ name: 'first' });
  b = await startBackend({ name: 'second' });
  // The seed's setup: Seaside sessions in _s (cookie and URL), nofailover On, the manager on.
  lb = await startBalancer(
    {
      balancers: { 'seaside-cluster': { stickysession: '_s|_s', nofailover: true, members: [{ url: a.url, route: 'first' }, { url: b.url, route: 'second' }] } },
      proxyPass: [
        { path: MANAGER, to: '!' },
        { path: '/', to: 'balancer://seaside-cluster/' },
      ],
      manager: {},
      proxyStatus: true,
    },
    { plugins: managerPlugins() },
  );
  profile = mkdtempSync(join(tmpdir(), 'stickylb-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1440, height: 900 } });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  if (skip) return;
  await ctx?.close();
  rmSync(profile, { recursive: true, force: true });
  await lb.close();
  await Promise.all([a.close(), b.close()]);
});

async function newSession(): Promise<{ member: string; cookie: string }> {
  const r = await request(`${lb.url}/app`);
  assert.equal(r.status, 200);
  return { member: r.headers['x-member'] as string, cookie: String(r.headers['set-cookie']).split(';')[0] };
}

async function withSession(cookie: string): Promise<{ status: number; member?: string }> {
  const r = await request(`${lb.url}/app/next`, { headers: { Cookie: cookie } });
  return { status: r.status, member: r.headers['x-member'] as string | undefined };
}

async function newSessionMembers(n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await newSession()).member);
  return seen;
}

/** Opens the member's edit form from its link, sets the flags, saves, and waits for the notice. */
async function setFlags(url: string, flags: Record<string, '0' | '1'>): Promise<string> {
  await page.getByRole('link', { name: url, exact: true }).click();
  await page.waitForSelector('#edit form');
  for (const [letter, v] of Object.entries(flags)) await page.check(`#edit input[name="w_status_${letter}"][value="${v}"]`);
  await page.click('#edit input[type=submit]');
  const notice = await page.waitForSelector('.notice');
  return (await notice.textContent()) ?? '';
}

function statusOf(url: string): Promise<string> {
  return page.locator(`tr[data-m="${url}"] [data-f="status"]`).innerText();
}

test('disable, drain and re-enable a member from the page, and see the traffic follow', { skip, timeout: 120_000 }, async () => {
  const sessions: Record<string, string> = {};
  while (!sessions.first || !sessions.second) {
    const s = await newSession();
    sessions[s.member] = s.cookie;
  }

  await page.goto(`${lb.url}${MANAGER}`);
  assert.equal(await page.title(), 'Balancer manager · 127.0.0.1');
  assert.equal(await page.locator('tr[data-m]').count(), 2);
  assert.match(await page.locator('section[data-b="seaside-cluster"] dl.facts').innerText(), /_s[\s\S]*On[\s\S]*byrequests[\s\S]*\//);

  // Disable the first member.
  const disabled = await setFlags(a.url, { D: '1' });
  assert.match(disabled, /Saved\./);
  assert.match(disabled, /status\.D false → true/);
  assert.match(await statusOf(a.url), /Disabled/);
  assert.deepEqual([...(await newSessionMembers(6))], ['second'], 'new sessions avoid the disabled member');
  assert.equal((await withSession(sessions.first)).status, 503, 'nofailover On: its sessions are refused');
  assert.deepEqual(await withSession(sessions.second), { status: 200, member: 'second' });

  // Turn failover on in the balancer form: the disabled member's sessions move.
  await page.getByRole('link', { name: 'Edit balancer' }).click();
  await page.waitForSelector('#edit select[name=b_lbm]');
  await page.check('#edit input[name="b_sforce"][value="0"]');
  await page.click('#edit input[type=submit]');
  assert.match((await page.textContent('.notice')) ?? '', /nofailover true → false/);
  assert.deepEqual(await withSession(sessions.first), { status: 200, member: 'second' }, 'nofailover Off: its sessions move');
  await page.getByRole('link', { name: 'Edit balancer' }).click();
  await page.check('#edit input[name="b_sforce"][value="1"]');
  await page.click('#edit input[type=submit]');
  assert.match((await page.textContent('.notice')) ?? '', /nofailover false → true/);

  // Drain instead: it keeps its sticky sessions only.
  const drained = await setFlags(a.url, { D: '0', N: '1' });
  assert.match(drained, /status\.N false → true/);
  assert.match(await statusOf(a.url), /Drain/);
  assert.deepEqual([...(await newSessionMembers(6))], ['second'], 'a draining member takes no new sessions');
  assert.deepEqual(await withSession(sessions.first), { status: 200, member: 'first' }, 'but keeps its sticky sessions');
  assert.deepEqual(await withSession(sessions.first), { status: 200, member: 'first' });

  // The figures refresh in place (no reload): the elected count catches up with the traffic.
  const elected = String(lb.app.runtime.balancer('seaside-cluster')!.members[0].elected);
  await page.waitForFunction(
    ([url, want]) => document.querySelector(`tr[data-m="${url}"] [data-f="elected"]`)?.textContent === want,
    [a.url, elected] as const,
    { timeout: 10_000 },
  );
  assert.match((await page.textContent('#refreshed')) ?? '', /Figures refreshed/);
  await page.screenshot({ path: join(ARTIFACTS, 'manager-drain.png'), fullPage: true });

  // Re-enable with the row's quick action.
  await page.locator(`tr[data-m="${a.url}"] button`, { hasText: 'Undrain' }).click();
  assert.match((await page.textContent('.notice')) ?? '', /status\.N true → false/);
  assert.match(await statusOf(a.url), /^Ok$/);
  assert.deepEqual([...(await newSessionMembers(4))].sort(), ['first', 'second'], 'new sessions reach it again');
  await page.screenshot({ path: join(ARTIFACTS, 'manager.png'), fullPage: true });

  // The page's own style and script ran under its CSP, with nothing refused.
  assert.deepEqual(problems, []);
  const state = lb.app.runtime.balancer('seaside-cluster')!;
  assert.deepEqual([...state.members[0].changedAtRuntime].sort(), ['status.D', 'status.N']);
});
