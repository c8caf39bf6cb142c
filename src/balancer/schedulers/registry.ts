// lbmethod name → scheduler. New methods register here; nothing else switches on names.
import type { Scheduler } from './scheduler.js';
import { byRequests } from './by-requests.js';
import { byBusyness } from './by-busyness.js';
import { byTraffic } from './by-traffic.js';
import { makeHeartbeat } from './heartbeat.js';

const registry = new Map<string, Scheduler<any>>();

export function registerScheduler(s: Scheduler<any>): void {
  registry.set(s.name, s);
}

export function getScheduler(name: string): Scheduler<any> {
  const s = registry.get(name);
  if (!s) throw new Error(`unknown lbmethod "${name}" (accepted: ${[...registry.keys()].join(', ')})`);
  return s;
}

export function schedulerNames(): string[] {
  return [...registry.keys()];
}

registerScheduler(byRequests);
registerScheduler(byTraffic);
registerScheduler(byBusyness);
registerScheduler(makeHeartbeat());
