// Prometheus figures of the managed certificates, read from the renewer when scraped. (Their
// expiry is in stickylb_certificate_expiry_seconds, with every other certificate served.)
import type { Registry } from 'prom-client';
import type { PromClient } from '../manager/metrics/metrics.js';
import type { Renewer } from './renewer.js';

export function acmeMetrics(registry: Registry, prom: PromClient, renewer: () => Renewer | undefined): void {
  new prom.Gauge({
    name: 'stickylb_acme_order_failures',
    help: 'Failed certificate orders in a row for a managed domain (0 once one succeeds).',
    labelNames: ['name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of renewer()?.list() ?? []) this.set({ name: c.name }, c.failures);
    },
  });
}
