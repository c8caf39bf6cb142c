// Several balancers as one fleet (`fleet:` in the config), as an App plugin of the process that
// owns the runtime state: it talks to Redis and to the runtime-state API only, so it works the
// same with or without worker processes. Manager changes are answered once stored in Redis, with
// the balancers that applied them; rolling restarts take the fleet's lock; the manager, the JSON
// API (`<manager>/api/fleet`), server-status and metrics show the fleet. The local state file is
// its cache while Redis is away.
import { hostname } from 'node:os';
import type { AppContext, Plugin } from '../plugin/contract.js';
import { pluginKey } from '../plugin/key.js';
import type { FleetModel } from '../config/fleet-model.js';
import { defaultFleetId } from '../config/resolve-fleet.js';
import { MANAGER, METRICS, STATUS } from '../manager/plugins.js';
import { PERSIST } from '../manager/persist/persist-plugin.js';
import { sendJson } from '../manager/respond.js';
import { version } from '../manager/version.js';
import { ROLLING } from '../rolling/plugin.js';
import { DISCOVERY } from '../discovery/key.js';
import { PROCESS } from '../workers/key.js';
import { html } from '../util/html.js';
import type { Fleet, CachedFleet } from './fleet.js';
import { fleetMetrics } from './metrics.js';
import { rolloutCoordinator } from './rollout.js';
import { fleetSection, fleetStatus, fleetView } from './view.js';

export interface FleetPluginOptions {
  /** How long the start waits for Redis before serving without it (default 2 s). */
  startWaitMs?: number;
}

export interface FleetPlugin extends Plugin {
  fleet?: Fleet;
}

/** The fleet this balancer is part of (undefined: none configured). */
export const FLEET = pluginKey('fleet', (p: FleetPlugin) => p.fleet);

export function fleetPlugin(opts: FleetPluginOptions = {}): FleetPlugin {
  const plugin: FleetPlugin = {
    name: FLEET.name,
    // All optional: the fleet shows itself where these are in use. Members found by DNS are
    // back before the fleet applies its settings to them after a reload. The processes (with
    // `stickylb run`) are there before the first heartbeat says how many workers serve.
    after: [PERSIST, MANAGER, STATUS, METRICS, ROLLING, DISCOVERY, PROCESS],
    async setup(app) {
      const manager = app.get(MANAGER);
      manager?.addSection(() => (plugin.fleet ? fleetSection(fleetView(plugin.fleet, plugin.fleet.everSynced), Date.now()) : html``));
      manager?.addApiRoute('/fleet', (req, res, ctx, rest) => {
        if (rest !== '' && rest !== '/') return sendJson(res, 404, { error: `not found: ${ctx.path}` });
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'GET only here' }, { Allow: 'GET, HEAD' });
        if (!plugin.fleet) return sendJson(res, 404, { error: 'this balancer is not part of a fleet (no fleet: in its config)' });
        sendJson(res, 200, fleetView(plugin.fleet, plugin.fleet.everSynced));
      });
      // A change made in the manager is answered once it is stored, saying who applied it.
      manager?.addChangeGate(async () => {
        const r = await plugin.fleet?.settle();
        if (!r) return undefined;
        const lines = r.stored
          ? [`Shared with the fleet: applied on ${r.applied.map((a) => a.id).join(', ')}${r.pending.length ? `; not confirmed yet by ${r.pending.join(', ')}` : ''}.`]
          : [`Not shared yet: ${r.reason}.`];
        return { key: 'fleet', value: r, lines };
      });
      app.get(STATUS)?.addSection(() => (plugin.fleet ? fleetStatus(fleetView(plugin.fleet, plugin.fleet.everSynced), Date.now()) : undefined));
      app.get(METRICS)?.register((registry, prom) => fleetMetrics(registry, prom, () => plugin.fleet));
      if (app.config.fleet) await start(app, app.config.fleet);
    },
    async reload(app, config) {
      if (JSON.stringify(plugin.fleet?.model) !== JSON.stringify(config.fleet)) {
        await stop(app);
        if (config.fleet) await start(app, config.fleet);
        return;
      }
      // The reload rebuilt the balancers from the config: the fleet's shared values stay.
      for (const line of plugin.fleet?.reapply() ?? []) {
        app.logger.warn({ fleet: config.fleet?.name }, `reload: ${line}: the fleet's shared value stays (the config file says otherwise; change it in the manager to change it on every balancer)`);
      }
    },
    async close(app) {
      await stop(app);
    },
  };

  async function start(app: AppContext, model: FleetModel): Promise<void> {
    const persist = app.get(PERSIST);
    const id = model.id ?? defaultFleetId(app.config);
    const address = () => {
      if (model.address) return model.address;
      const l = app.server.addresses()[0] ?? app.config.listeners[0];
      return `${l?.host ?? hostname()}:${l?.port ?? ''}`;
    };
    // The Redis client is loaded only by a config with a fleet (about 20 MB of memory otherwise).
    const { Fleet } = await import('./fleet.js');
    const fleet = new Fleet({
      model,
      id,
      runtime: app.runtime,
      config: () => app.config,
      logger: app.logger,
      cached: persist?.loaded?.sections?.fleet as CachedFleet | undefined,
      onCacheChange: () => persist?.save(),
      info: () => ({ address: address(), version: version(), startedAt: app.runtime.startedAt, workers: app.get(PROCESS)?.control.view().count ?? 0 }),
    });
    plugin.fleet = fleet;
    persist?.addSection('fleet', () => fleet.cache());
    const rolling = app.get(ROLLING);
    if (rolling) rolling.coordinator = rolloutCoordinator(fleet, address);
    fleet.start();
    // Serve at once when Redis is away; a short wait lets a reachable one apply its state first.
    const deadline = Date.now() + (opts.startWaitMs ?? 2_000);
    while (!fleet.synced && !(fleet.lastError && !fleet.store.connected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!fleet.synced) {
      const local = app.config.persist ? `the last state saved in ${app.config.persist.file}` : 'no local state (persist is off)';
      app.logger.warn(
        { fleet: model.name, id, reason: fleet.lastError || 'no answer yet' },
        `fleet ${model.name}: Redis ${fleetView(fleet, false).redis.url} is unreachable at start (${fleet.lastError || 'no answer yet'}): serving from the config and ${local}; manager changes apply here and are not shared until it is reachable; joining the fleet then`,
      );
    }
  }

  async function stop(app: AppContext): Promise<void> {
    const fleet = plugin.fleet;
    if (!fleet) return;
    plugin.fleet = undefined;
    const rolling = app.get(ROLLING);
    if (rolling) rolling.coordinator = undefined;
    await fleet.stop();
  }

  return plugin;
}
