/**
 * The incident domain: incidents opened by the engine itself (a page alert, a rollback, a release
 * down) or by hand, one open incident per cause; severity SEV1–SEV4 from the blast radius, with the
 * reasons; a validated lifecycle (triage → investigating → mitigated → resolved → closed, or
 * cancelled) with monotone timestamps; links to the releases (digest, config diff, who deployed and
 * approved, plan hash), alerts and checks; a timeline from the event log; status updates to a
 * channel and escalation when nobody acknowledges.
 */
export { incidentsSchema, incidentsSchemaFor, type IncidentsConfig } from "./config.js";
export { allowedTransitions, checkTransition, forward, isOpen, openStates } from "./lifecycle.js";
export { assessSeverity, minRequestsJudged, type BlastRadius } from "./severity.js";
export { configDiff, releaseFacts, type ConfigChange, type ConfigReader, type ReleaseFacts } from "./links.js";
export { incidentNotification, incidentLabel, type IncidentOutbox } from "./notices.js";
export type { ImpactSource } from "./radius.js";
export { IncidentManager, type IncidentManagerOptions, type IncidentUpdate, type IncidentView, type ManualIncident } from "./manager.js";
export { IncidentTriggers, targetKey, type IncidentTrigger, type IncidentTriggersOptions, type TriggerSink } from "./triggers.js";
export { buildTimeline, timelineLimit } from "./timeline.js";
