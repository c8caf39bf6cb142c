// The balancer manager, server-status and metrics: the public surface.
export { managerPlugins, managerPlugin, statusPlugin, metricsPlugin, type ManagerPlugin, type MetricsPlugin } from './plugins.js';
export { accessPlugin, type AccessPluginOptions } from './access-plugin.js';
export { persistPlugin, writeAtomic, type PersistPlugin } from './persist-plugin.js';
export { applyChanges, ChangeError, type ChangeRequest, type Applied } from './changes.js';
export { managerView, balancerView, memberView, type ManagerView, type BalancerView, type MemberView } from './view.js';
export { Metrics } from './metrics.js';
