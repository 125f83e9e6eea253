/**
 * Alert sources: what turns the engine's observations into alert signals for the alert manager
 * (`AlertSink`). Metric thresholds over the proxies' request metrics (with a default high-latency
 * and error-rate rule for every service), the engine's own events (rollbacks, releases down,
 * failed deploys, drift), and the checks' transitions.
 */
export {
  metricRuleSchema,
  rulesConfigSchema,
  resolveMetricRules,
  unknownRuleTargets,
  defaultMetricRules,
  defaultMinRequests,
  defaultMinBad,
  countsBad,
  maxRuleWindowMs,
  type MetricRule,
  type MetricRuleConfig,
  type RuleMetric,
  type RulesConfig,
} from "./rules-config.js";
export { MetricRules, formatMetric, type MetricRulesOptions, type RuleEvaluation, type ServiceTraffic, type ServiceTrafficSummary } from "./metric-rules.js";
export { EventAlerts, eventRules, eventAlertResolveMs, driftAlertResolveMs, type EventAlertsOptions } from "./event-alerts.js";
export { CheckAlerts, checkDownSignal, onlyCertificateExpiring } from "./check-alerts.js";
