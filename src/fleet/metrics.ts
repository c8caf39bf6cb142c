// Prometheus figures of the fleet, read from its state when scraped.
import type { Registry } from 'prom-client';
import type { PromClient } from '../manager/metrics/metrics.js';
import type { Fleet } from './fleet.js';
import { disagreements } from './heartbeat.js';

export function fleetMetrics(registry: Registry, prom: PromClient, fleet: () => Fleet | undefined): void {
  const registers = [registry];
  new prom.Gauge({
    name: 'stickylb_fleet_redis_up',
    help: 'The fleet\'s Redis answers and this balancer is in step with it (1), or it serves from its own state (0).',
    labelNames: ['fleet'],
    registers,
    collect() {
      this.reset();
      const f = fleet();
      if (f) this.set({ fleet: f.model.name }, f.synced ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: 'stickylb_fleet_balancers',
    help: 'Balancers of the fleet heard from within the peer timeout, this one included.',
    labelNames: ['fleet'],
    registers,
    collect() {
      this.reset();
      const f = fleet();
      if (f) this.set({ fleet: f.model.name }, f.livePeers().length);
    },
  });
  new prom.Gauge({
    name: 'stickylb_fleet_unshared_changes',
    help: 'Changes made on this balancer that are not stored in Redis yet (Redis away).',
    labelNames: ['fleet'],
    registers,
    collect() {
      this.reset();
      const f = fleet();
      if (f) this.set({ fleet: f.model.name }, f.pendingChanges);
    },
  });
  new prom.Counter({
    name: 'stickylb_fleet_conflicts_total',
    help: 'Conflicting changes settled by version (the later one wins) on this balancer.',
    labelNames: ['fleet'],
    registers,
    collect() {
      this.reset();
      const f = fleet();
      if (f) this.inc({ fleet: f.model.name }, f.conflictCount);
    },
  });
  new prom.Gauge({
    name: 'stickylb_fleet_disagreements',
    help: 'Members the live balancers of the fleet see differently (e.g. one cannot reach it).',
    labelNames: ['fleet'],
    registers,
    collect() {
      this.reset();
      const f = fleet();
      if (f) this.set({ fleet: f.model.name }, disagreements([f.heartbeat(), ...f.livePeers().filter((p) => p.id !== f.id)]).length);
    },
  });
}
