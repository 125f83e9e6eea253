/**
 * Drills: practice for the bad day, declared under `drills:` and run by the engine on a cron schedule
 * or by hand. A rollback drill releases the live artifact again with a fault the proxy injects for
 * that release only, and times detection → rollback → healthy; a kill drill SIGKILLs an instance of
 * the live release and times its recovery. Each has a pass rule, is recorded with its timings, and a
 * failed one opens an incident. One drill runs at a time, engine-wide.
 */
export { drillSchema, drillsSchema, drillsSchemaFor, type DrillDefinition, type DrillTargets, type DrillType } from "./config.js";
export { judge, summary, type Measured } from "./rules.js";
export { DrillSchedule, nextRun, type DrillScheduleOptions } from "./schedule.js";
export { DrillLoad, type LoadFailure, type LoadTarget } from "./load.js";
export { DrillRunner, type DrillAction, type DrillContext, type DrillOutcome, type DrillRunnerOptions } from "./runner.js";
