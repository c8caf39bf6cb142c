// Automatic certificates as an App plugin: at start the stored (or a temporary) certificate of
// every managed domain goes into the TLS listeners' certificate store; once the listeners are up,
// what is due is ordered in the background and swapped in as it arrives. The router answers the
// CA's HTTP-01 requests from `server.challenges` while certificates are managed, and only then.
import type { AppContext, Plugin } from '../plugin/contract.js';
import type { AcmeModel } from '../config/model.js';
import type { CertificateStore } from '../tls/certificate-store.js';
import { MANAGER, METRICS } from '../manager/plugins.js';
import type { Renewer, CertificateTarget, RenewerOptions } from './renewer.js';
import { acmeMetrics } from './metrics.js';
import { acmeManagerSection, acmeApiHandler } from './manager.js';
import { ACME } from './key.js';

export { ACME };

export interface AcmePluginOptions {
  /** Clock and order function for tests of the scheduling; the defaults are the real ones. */
  now?: RenewerOptions['now'];
  order?: RenewerOptions['order'];
}

export interface AcmePlugin extends Plugin {
  renewer?: Renewer;
}

/** Certificates go to the TLS listeners' store, labelled as ACME's. */
export function storeTarget(store: CertificateStore): CertificateTarget {
  return {
    install(names, cert, info) {
      store.put(names, { cert: cert.certPem, key: cert.keyPem, source: info.temporary ? 'ACME (temporary)' : 'ACME' });
    },
    remove(names) {
      // Only what ACME put there: a reload may have given these names certificate files meanwhile.
      const drop = names.filter((name) => {
        const e = store.lookup(name);
        return e !== undefined && e.names.includes(name.toLowerCase()) && e.certificates.every((c) => c.source.startsWith('ACME'));
      });
      if (drop.length) store.remove(drop);
    },
  };
}

export function acmePlugin(opts: AcmePluginOptions = {}): AcmePlugin {
  let listening = false;
  const plugin: AcmePlugin = {
    name: ACME.name,
    // The manager's page and API and the metrics registry get the certificates' state when in use.
    after: [MANAGER, METRICS],
    async setup(app) {
      app.server.once('listening', () => {
        listening = true;
        plugin.renewer?.run();
      });
      app.get(MANAGER)?.addSection((path) => acmeManagerSection(plugin.renewer?.list() ?? [], path));
      app.get(MANAGER)?.addApiRoute('/certificates', acmeApiHandler(() => plugin.renewer));
      app.get(METRICS)?.register((registry, prom) => acmeMetrics(registry, prom, () => plugin.renewer));
      if (app.config.acme) await start(app, app.config.acme);
    },
    async reload(app, config) {
      if (!plugin.renewer) {
        if (config.acme) await start(app, config.acme);
        return;
      }
      await plugin.renewer.reload(config.acme);
      if (!config.acme) stop(app);
    },
    close(app) {
      stop(app);
    },
  };

  async function start(app: AppContext, acme: AcmeModel): Promise<void> {
    // The ACME client and X.509 libraries are loaded only by a config that asks for certificates
    // (about 25 MB of memory otherwise spent by every balancer).
    const { Renewer } = await import('./renewer.js');
    const renewer = new Renewer({ acme, target: storeTarget(app.server.certificates), logger: app.logger, now: opts.now, order: opts.order });
    await renewer.load();
    plugin.renewer = renewer;
    app.server.challenges = renewer.challenges;
    if (listening) renewer.run();
  }

  function stop(app: AppContext): void {
    plugin.renewer?.close();
    plugin.renewer = undefined;
    app.server.challenges = undefined;
  }

  return plugin;
}
