import { newId, redactor } from "../core/index.js";
import type { NewEvent, RunbookRunRecord, RunbookStepRecord } from "../store/index.js";
import type { ResolvedStep } from "./plan.js";

/** A new run record, every step pending with its resolution at start. */
export function newRun(p: { runbook: string; service: string; environment: string; trigger: RunbookRunRecord["trigger"]; incidentId: string | null; steps: ResolvedStep[]; now: number }): RunbookRunRecord {
  return {
    id: newId("rbr", p.now),
    runbook: p.runbook,
    service: p.service,
    environment: p.environment,
    state: "running",
    trigger: p.trigger,
    incidentId: p.incidentId,
    startedAt: p.now,
    endedAt: null,
    steps: p.steps.map((s): RunbookStepRecord => ({ index: s.index, name: s.name, type: s.type, state: "pending", plan: redactor.redact(s.plan), conditions: [], startedAt: null, endedAt: null, result: null, output: null })),
    approval: null,
    verification: null,
    reason: null,
    updatedAt: p.now,
  };
}

/** A `runbook.*` event of the run: on its service and environment, `data.runId` always; the message redacted. */
export function runEvent(run: RunbookRunRecord, type: string, message: string, data: Record<string, unknown> = {}): NewEvent {
  return { type, service: run.service, environment: run.environment, message: redactor.redact(message), data: redactor.redactDeep({ runId: run.id, runbook: run.runbook, ...data }) };
}

/** Whether the run is over. */
export function isFinished(run: RunbookRunRecord): boolean {
  return run.state === "succeeded" || run.state === "failed" || run.state === "aborted";
}
