/**
 * Monitoring of checks: the check types and their conditions (./checks), the fixed-rate scheduler
 * that runs them at scale, their state (pending → up / down by thresholds), their results as
 * aggregates per minute, hour and day, and the checks every service gets without writing them.
 */
export * from "./checks/index.js";
export { Monitor, type CheckHistory, type CheckHistoryPoint, type CheckStatus, type CheckSummary, type CheckTransition, type DegradedChange, type DegradedListener, type MonitorOptions, type MonitorStats, type TransitionListener } from "./monitor.js";
export { Scheduler, firstSlot, phaseOf, type ScheduledJob, type SchedulerOptions, type SchedulerStats, type Slot } from "./scheduler.js";
export { nextVerdict, initialVerdict, type CheckVerdict, type Thresholds } from "./state.js";
export { retentionMs, latencyQuantile, uptime } from "./aggregates.js";
export { DerivedChecks, derivedTiming, healthCheckName, proxyCheckName, type DerivedInput } from "./derived.js";
export { defaultMaxConcurrency, defaultMaxPerTarget, defaultServiceCheckIntervalMs, monitorSettingsSchema, parseMonitorSettings, type MonitorSettings } from "./settings.js";
