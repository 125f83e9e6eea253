/**
 * The scorecard (`engineroom report`): the operator's table — uptime, deployment success rate,
 * time to recovery, alert noise, cost — and DORA's four keys, measured from the engine's own
 * events and history, each figure with what it was computed from; as JSON or as one HTML page.
 */
export { collectReport, targets, type ReportScope, type ReportSources } from "./collect.js";
export { renderReportHtml } from "./html.js";
export { incidentTimelines, incidentsByRelease, recoveryFigures, recoveryDefinition } from "./incidents.js";
export { deploymentSuccess, doraKeys, frequencyBucket, outcomeOf, percent, releaseTimelines, span, successDefinition, type ReleaseTimeline } from "./releases.js";
export { quantile, summarize, type DurationSummary } from "./stats.js";
export { openActionItems } from "./actions.js";
export { drillReleases, drillsSection, type DrillRow, type DrillsSection } from "./drills.js";
export type { ActionItemRow, Figure, FrequencyBucket, IncidentRow, ReleaseOutcome, ReleaseRow, ReleaseTrace, Report, UptimeRow } from "./types.js";
