// Persistence of manager changes (persist, Apache's BalancerPersist On): kept across a restart in
// a state file written atomically; a config edit made since wins and the conflict is logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request, until } from '../helpers/http.js';
import { apiGet, MANAGER, postForm } from '../helpers/manager.js';
import { managerPlugins } from '../../src/manager/plugins.js';
import type { PersistPlugin } from '../../src/manager/persist/persist-plugin.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';

let a: Backend;
let b: Backend;
let c: Backend;
let dir: string;
let stateFile: string;

before(async () => {
  a = await startBackend({ name: 'first' });
  b = await startBackend({ name: 'second' });
  c = await startBackend({ name: 'third' });
  dir = mkdtempSync(join(tmpdir(), 'stickylb-persist-'));
  stateFile = join(dir, 'state', 'stickylb.state.json');
});

after(async () => {
  await Promise.all([a.close(), b.close(), c.close()]);
});

function config(firstFactor = 1, file = stateFile): RawConfig {
  return {
    balancers: {
      cluster: {
        stickysession: '_s',
        nofailover: true,
        growth: 1,
        members: [
          { url: a.url, route: 'first', loadfactor: firstFactor },
          { url: b.url, route: 'second' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://cluster/' }],
    manager: {},
    persist: { file },
  };
}

function memoryLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function start(raw: RawConfig) {
  const plugins = managerPlugins();
  const { logger, lines } = memoryLogger();
  const lb = await startBalancer(raw, { plugins, logger });
  const persist = plugins.find((p) => p.name === 'persist') as PersistPlugin;
  return { lb, persist, lines };
}

async function change(lb: RunningBalancer, params: Record<string, string>) {
  const nonce = (await apiGet(lb.url)).balancers[0].nonce;
  const r = await postForm(lb.url, { b: 'cluster', nonce, ...params });
  assert.equal(r.status, 200, r.body);
}

test('manager changes survive a restart; a config edit made since wins and is logged', async () => {
  // First run: change things in the manager.
  const one = await start(config());
  await change(one.lb, { w: a.url, w_lf: '5', w_status_N: '1' });
  await change(one.lb, { w: b.url, w_ls: '1' });
  await change(one.lb, { b_lbm: 'bybusyness', b_sforce: '0' });
  await change(one.lb, { b_nwrkr: c.url, b_wyes: '1' });
  await change(one.lb, { w: c.url, w_wr: 'third', w_status_D: '0' });
  await one.persist.flush();
  await one.lb.close();

  const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
  assert.equal(saved.version, 1);
  assert.deepEqual(saved.balancers.cluster.members[a.url], {
    lbfactor: { value: 5, overrode: 1 },
    'status.N': { value: true, overrode: false },
  });
  assert.deepEqual(saved.balancers.cluster.settings.lbmethod, { value: 'bybusyness', overrode: 'byrequests' });
  assert.deepEqual(saved.balancers.cluster.added, [{ url: c.url, route: 'third', redirect: '', lbfactor: 1, lbset: 0, flags: {} }]);
  // Written atomically: no temp files are left beside it.
  assert.deepEqual(readdirSync(join(dir, 'state')), ['stickylb.state.json']);

  // Second run, same config: everything is back, marked as set in the manager.
  const two = await start(config());
  const view = (await apiGet(two.lb.url)).balancers[0];
  assert.equal(view.lbmethod, 'bybusyness');
  assert.equal(view.nofailover, false);
  assert.deepEqual(view.changedAtRuntime, ['lbmethod', 'nofailover']);
  const [m1, m2, m3] = view.members;
  assert.equal(m1.lbfactor, 5);
  assert.equal(m1.flags.N, true);
  assert.deepEqual(m1.changedAtRuntime, ['lbfactor', 'status.N']);
  assert.equal(m2.lbset, 1);
  assert.equal(m3.url, c.url);
  assert.equal(m3.route, 'third');
  assert.equal(m3.flags.D, false);
  const page = (await request(`${two.lb.url}${MANAGER}`)).body;
  assert.ok(page.includes('title="Set in the manager; the config file says 1.00"'));
  assert.ok(page.includes('Changes made here are kept across restarts'));
  // The added member takes new sessions again, the drained one does not.
  const who = new Set<string>();
  for (let i = 0; i < 6; i++) who.add((await request(`${two.lb.url}/x`)).headers['x-member'] as string);
  assert.ok(!who.has('first'));
  assert.ok(who.has('third'));
  await two.lb.close();

  // Third run: the config file now says loadfactor 3 for the first member.
  const three = await start(config(3));
  const v3 = (await apiGet(three.lb.url)).balancers[0];
  assert.equal(v3.members[0].lbfactor, 3, 'the config edit wins');
  assert.deepEqual(v3.members[0].changedAtRuntime, ['status.N'], 'the untouched values are still restored');
  assert.equal(v3.lbmethod, 'bybusyness');
  await until(() => three.lines.some((l) => /the config wins/.test(l.msg)), 'the conflict in the log');
  const conflict = three.lines.find((l) => /the config wins/.test(l.msg))!;
  assert.equal(conflict.level, 40, 'logged as a warning');
  assert.match(conflict.msg, new RegExp(`member ${a.url.replace(/\./g, '\\.')}: lbfactor: the config file now says 3 \\(it said 1 when the manager set 5\\); the config wins`));
  // The state file forgets the value the config took back.
  await three.persist.flush();
  await until(() => !('lbfactor' in (JSON.parse(readFileSync(stateFile, 'utf8')).balancers.cluster.members[a.url] ?? {})), 'the state file to drop lbfactor');
  await three.lb.close();
});

test('a reload follows the same rule, and members added in the manager stay', async () => {
  const file = join(dir, 'reload.state.json');
  const run = await start(config(1, file));
  await change(run.lb, { w: a.url, w_lf: '7', w_status_D: '1' });
  await change(run.lb, { b_nwrkr: c.url, b_wyes: '1' });
  await run.lb.app.reload(validateConfig({ listen: ['127.0.0.1:0'], ...config(2, file) }));
  const v = (await apiGet(run.lb.url)).balancers[0];
  assert.equal(v.members[0].lbfactor, 2, 'the edited factor');
  assert.equal(v.members[0].flags.D, true, 'the untouched manager value');
  assert.equal(v.members.length, 3, 'the added member is still there');
  assert.equal(v.members[2].url, c.url);
  await until(() => run.lines.some((l) => /reload: .*lbfactor: the config file now says 2/.test(l.msg)), 'the reload conflict in the log');
  await run.lb.close();
});
