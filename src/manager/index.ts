// The balancer manager, server-status and metrics: the public surface.
export { managerPlugins, managerPlugin, statusPlugin, metricsPlugin, MANAGER, METRICS, type ManagerApi, type ManagerPlugin, type MetricsPlugin } from './plugins.js';
export type { ManagerApiHandler } from './deps.js';
export { accessPlugin, type AccessPluginOptions } from './access/access-plugin.js';
export { persistPlugin, writeAtomic, PERSIST, type PersistPlugin } from './persist/persist-plugin.js';
export { applyChanges, ChangeError, type ChangeRequest, type Applied } from './api/changes.js';
export { managerView, balancerView, memberView, type ManagerView, type BalancerView, type MemberView } from './page/view.js';
export { Metrics } from './metrics/metrics.js';
