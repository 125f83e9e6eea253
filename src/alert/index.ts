/**
 * The alert domain: alert signals from the sources (checks, SLO burn, metric thresholds, the
 * engine's events) become alerts that the manager groups, routes, inhibits, silences, acknowledges
 * and notifies with Alertmanager's semantics, and classifies for the noise report.
 */
export type { AlertSignal, AlertSink, Severity } from "./types.js";
export { alertsConfigSchema, alertsSchemaFor, parseAlertsConfig, type AlertsConfig } from "./config.js";
export { AlertManager, type AlertManagerOptions, type AlertView } from "./manager.js";
export type { NotificationOutbox } from "./sender.js";
export { alertLabels, fingerprint } from "./fingerprint.js";
export { parseMatcher, type Matcher } from "./matchers.js";
export { actionEventTypes, noiseReport, noiseTarget, type NoiseReport, type RuleNoise } from "./noise.js";
export * from "./sources/index.js";
