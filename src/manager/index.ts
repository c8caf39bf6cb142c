// The balancer manager, server-status and metrics: the public surface.
export { managerPlugins, managerPlugin, statusPlugin, metricsPlugin, MANAGER, METRICS, type ManagerApi, type ManagerPlugin, type MetricsPlugin } from './plugins.js';
export type { ManagerApiHandler } from './deps.js';
export { accessPlugin, type AccessPluginOptions } from './access-plugin.js';
export { persistPlugin, writeAtomic, PERSIST, type PersistPlugin } from './persist-plugin.js';
export { applyChanges, ChangeError, type ChangeRequest, type Applied } from './changes.js';
export { managerView, balancerView, memberView, type ManagerView, type BalancerView, type MemberView } from './view.js';
export { Metrics } from './metrics.js';
