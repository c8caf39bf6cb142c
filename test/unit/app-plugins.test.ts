// The plugin contract: dependencies checked before anything is set up, typed look-ups by key, and
// the manager's extension points (API routes and page sections) used by another plugin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, PluginOrderError, pluginKey, type AppContext, type Plugin } from '../../src/app.js';
import { checkPluginOrder } from '../../src/plugin/order.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { LAUNCHER, launcherPlugin, type Launcher } from '../../src/launcher/launcher.js';
import { HEALTH, healthPlugin } from '../../src/health/plugin.js';
import { MANAGER, managerPlugins, type ManagerApi } from '../../src/manager/plugins.js';
import { rollingPlugin } from '../../src/rolling/plugin.js';
import { LOGS } from '../../src/log/logs-key.js';
import { logsPlugin } from '../../src/log/plugin.js';
import { html } from '../../src/util/html.js';
import { request } from '../helpers/http.js';

function model(raw: RawConfig = {}) {
  return validateConfig({ listen: ['127.0.0.1:0'], ...raw });
}

/** A plugin that records its setup, offering `value` under its name. */
function probePlugin(name: string, extra: Partial<Plugin> = {}): Plugin & { value: { count: number }; setups: number } {
  const p = {
    name,
    value: { count: 0 },
    setups: 0,
    setup() {
      p.setups++;
    },
    ...extra,
  };
  return p;
}

test('a missing dependency is refused with the names of both plugins, before any setup', async () => {
  const first = probePlugin('first');
  await assert.rejects(App.start(model(), { logger: silentLogger(), plugins: [first, rollingPlugin()] }), (e: Error) => {
    assert.ok(e instanceof PluginOrderError);
    assert.equal(e.message, 'plugin "rolling" needs "balancer-manager", which is not in use');
    return true;
  });
  assert.equal(first.setups, 0, 'nothing was set up');
});

test('a dependency later in the list is refused (the list is checked, not rearranged)', async () => {
  const plugins = [rollingPlugin(), ...managerPlugins()];
  await assert.rejects(
    App.start(model(), { logger: silentLogger(), plugins }),
    { message: 'plugin "rolling" needs "balancer-manager", which comes after it: put "balancer-manager" earlier in the plugin list' },
  );
});

test('`after` orders plugins that are in use without needing them', () => {
  assert.throws(() => checkPluginOrder([healthPlugin(), launcherPlugin()]), /plugin "health" must come after "launcher" in the plugin list/);
  assert.doesNotThrow(() => checkPluginOrder([launcherPlugin(), healthPlugin()]));
  // The launcher is not needed: health checks alone are fine.
  assert.doesNotThrow(() => checkPluginOrder([healthPlugin()]));
  assert.throws(() => checkPluginOrder([launcherPlugin(), logsPlugin()]), /plugin "launcher" must come after "logs"/);
});

test('two plugins with one name, or a plugin needing itself, are refused', () => {
  assert.throws(() => checkPluginOrder([probePlugin('x'), probePlugin('x')]), /two plugins are named "x"/);
  const key = pluginKey('self');
  assert.throws(() => checkPluginOrder([probePlugin('self', { dependencies: [key] })]), /plugin "self" names itself as a dependency/);
});

test('the default plugin list satisfies its own declarations', async () => {
  const { defaultPlugins } = await import('../../src/app.js');
  assert.doesNotThrow(() => checkPluginOrder([]));
  const plugins = await defaultPlugins();
  assert.doesNotThrow(() => checkPluginOrder(plugins));
  assert.deepEqual(
    plugins.map((p) => p.name),
    ['logs', 'launcher', 'health', 'static', 'access', 'persist', 'balancer-manager', 'server-status', 'metrics', 'rolling', 'acme', 'discovery', 'fleet'],
  );
  // `stickylb run`'s process plugin goes before the fleet, which reads the worker count from it.
  const { processPlugin } = await import('../../src/workers/process-plugin.js');
  const control = { reload: async () => ({ ok: true, message: '' }), view: () => ({ owner: { pid: 1, version: '0', startedAt: 0 }, generation: 1, count: 0, replacing: false, workers: [] }) };
  const withProcess = await defaultPlugins({ process: processPlugin(control) });
  assert.doesNotThrow(() => checkPluginOrder(withProcess));
  assert.deepEqual(
    withProcess.map((p) => p.name).slice(8),
    ['metrics', 'process', 'rolling', 'acme', 'discovery', 'fleet'],
  );
  // Put after the fleet, the order is refused before anything starts.
  const late = [...plugins, processPlugin(control)];
  assert.throws(() => checkPluginOrder(late), /plugin "fleet" must come after "process"/);
});

test('get(key) returns what the providing plugin offers, typed; undefined when it is not in use', async () => {
  const COUNTER = pluginKey('counter', (p: ReturnType<typeof probePlugin>) => p.value);
  const ABSENT = pluginKey<Plugin>('absent');
  let seenInSetup: { count: number } | undefined;
  const user: Plugin = {
    name: 'user',
    dependencies: [COUNTER],
    setup(app: AppContext) {
      seenInSetup = app.get(COUNTER);
      seenInSetup!.count++;
    },
  };
  const counter = probePlugin('counter');
  const app = await App.start(model(), { logger: silentLogger(), plugins: [counter, user, healthPlugin({ log: false }), logsPlugin()] });
  try {
    assert.equal(seenInSetup, counter.value);
    const value: { count: number } | undefined = app.get(COUNTER);
    assert.equal(value?.count, 1);
    assert.equal(app.get(ABSENT), undefined);
    // A launcher key is typed as the Launcher; without the plugin (or a nodes: section) there is none.
    const launcher: Launcher | undefined = app.get(LAUNCHER);
    assert.equal(launcher, undefined);
    assert.ok(app.get(HEALTH), 'the health checker is running');
    assert.equal(typeof app.get(LOGS)?.reopen, 'function');
    // @ts-expect-error: the key says what the value is
    const wrong: string | undefined = app.get(COUNTER);
    assert.notEqual(typeof wrong, 'string');
  } finally {
    await app.close(0);
  }
});

test('another plugin adds a manager API route and a page section through the manager', async () => {
  const calls: string[] = [];
  let manager: ManagerApi | undefined;
  const extension: Plugin = {
    name: 'extension',
    dependencies: [MANAGER],
    setup(app) {
      manager = app.get(MANAGER)!;
      manager.addApiRoute('/things', (req, res, _ctx, rest) => {
        calls.push(`${req.method} ${rest}`);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ rest }));
      });
      manager.addSection((path) => html`<section class="card" id="things">things below ${path}</section>`);
    },
  };
  const app = await App.start(
    model({ balancers: { c: { members: [{ url: 'http://127.0.0.1:9', route: 'a' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }], manager: {} }),
    { logger: silentLogger(), plugins: [...managerPlugins(), extension] },
  );
  try {
    const base = `http://127.0.0.1:${app.addresses[0].port}/balancer-manager`;
    assert.deepEqual((await request(`${base}/api/things`)).json(), { rest: '' });
    assert.deepEqual((await request(`${base}/api/things/one/two`, { method: 'POST' })).json(), { rest: '/one/two' });
    assert.deepEqual(calls, ['GET ', 'POST /one/two']);
    // Paths that only start alike, and the manager's own API, stay the manager's.
    assert.equal((await request(`${base}/api/thingsmore`)).status, 404);
    assert.ok((await request(`${base}/api`)).json().balancers, 'the manager answers its own API');
    const page = await request(`${base}/`);
    assert.match(page.body, /<section class="card" id="things">things below \/balancer-manager<\/section>/);
    assert.throws(() => manager!.addApiRoute('/balancers/x', () => undefined), /outside \/balancers/);
    assert.throws(() => manager!.addApiRoute('/things/sub', () => undefined), /overlaps \/things/);
    assert.throws(() => manager!.addApiRoute('things', () => undefined), /give a path such as \/rolling/);
  } finally {
    await app.close(0);
  }
});
