// stickylb's own defaults of the settings a config may leave out (Apache's, where they differ, are
// in config/differences.ts). A module of its own: the manager reads some when it adds a member,
// without loading the resolver.
import type { ListenerModel } from './model.js';

export const DEFAULTS = {
  listen: { port: 8080 } as ListenerModel,
  timeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  retryMs: 60_000,
  connectTimeoutMs: 5_000,
  maxHeaderSize: 16_384,
  replayBuffer: 65_536,
  engine: 'lean' as 'node' | 'lean',
  healthIntervalMs: 30_000,
  managerPath: '/balancer-manager',
  statusPath: '/server-status',
  metricsPath: '/metrics',
  adminPath: '/balancer-manager',
  gracefulShutdownTimeoutMs: 10_000,
};
