// Health checks, passive failure detection and slow start: the public surface.
export { HealthChecker, type HealthCheckerOptions, type TimerFns, type CheckInfo } from './checker.js';
export { probe, describeSocketError, type ProbeFn, type ProbeTarget, type ProbeOptions, type ProbeResult } from './probe.js';
export {
  compileHealthExpr,
  parseHealthExpr,
  evaluateHealthExpr,
  checkHealthExpect,
  HealthExprError,
  DEFAULT_HEALTH_EXPR,
  type HealthExpr,
  type HealthAnswer,
} from './expr.js';
export { describeStateChange, attachStateLogging, type HealthLogger, type StateLogLine } from './log-lines.js';
export { healthPlugin, HEALTH, type HealthPlugin, type HealthPluginOptions } from './plugin.js';
export { formatMs } from './format-ms.js';
