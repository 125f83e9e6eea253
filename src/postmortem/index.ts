/**
 * Post-mortems, action items and the learning log: a post-mortem draft (the Google SRE template's
 * fields, every measurable one filled from the engine's events) when a SEV1–SEV2 incident or one
 * with a rollback is resolved, written as Markdown to the project and kept in the store; action
 * items tracked until closed; and the learning log, a dated entry per resolved incident, drill or
 * person, exported to Markdown and shown by plan and deploy.
 */
export { postmortemsSchema, postmortemsConfigSchema, type PostmortemsConfig } from "./config.js";
export { LearningLog, learningLogMarkdown, isoDate, type LearningLogOptions, type NewLearning } from "./learnings.js";
export { ActionItems, type ActionItemsOptions, type NewActionItem, type OpenActionItem } from "./actions.js";
export { buildDraft, derivedLearning, impactEnd, toBeWritten, triggerReleases, type BudgetFacts, type PostmortemDraft, type PostmortemFacts, type TimelineEntry, type TrafficSample, type TriggerRelease } from "./draft.js";
export { postmortemMarkdown } from "./markdown.js";
export { Postmortems, type PostmortemSources, type PostmortemView, type PostmortemsOptions } from "./service.js";
export { resolveFollower, type ResolveFollowerOptions } from "./follower.js";
