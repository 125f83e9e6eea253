import type { EngineEvent, NewEvent } from "./types.js";

/** How a drill run ended: `running` until it did. */
export type DrillRunState = "running" | "passed" | "failed";

/** What a drill run measured, each from the drill's start of its fault (ms), null when it did not happen. */
export interface DrillTimings {
  /** The fault took effect (the drill release switched to, the instance killed, the engine stopping) → the analysis's first failing verdict (rollback drills). */
  detectedAfterMs: number | null;
  /** → traffic back on the release before (rollback drills). */
  rolledBackAfterMs: number | null;
  /** → healthy again: the service answers through its proxy with every instance of its live release in the rotation. */
  healthyAfterMs: number | null;
}

/** The drill's own load through the environment's proxy, and what failed of it. */
export interface DrillRequests {
  sent: number;
  failed: number;
  /** Failures the fault made: answers the proxy injected for the drill release; for kill and restart drills, failures while the fault lasted. */
  failedInsideFault: number;
  failedOutsideFault: number;
}

/** One run of a drill, kept whole (the table's `detail`). */
export interface DrillRunRecord {
  /** `drl_…`, sortable by start. */
  id: string;
  drill: string;
  type: "rollback" | "kill" | "restart";
  service: string;
  environment: string;
  /** `schedule`, or who asked (`cli`, `api`). */
  trigger: string;
  state: DrillRunState;
  startedAt: number;
  finishedAt: number | null;
  /** The release the drill made (rollback) or acted on (kill, restart). */
  releaseId: string | null;
  timings: DrillTimings;
  requests: DrillRequests;
  /** One line per pass rule: what it asked and what was measured. */
  rules: { rule: string; passed: boolean; detail: string }[];
  /** Why a failed run failed, in one line (the first rule that failed, or the error that stopped it). */
  reason: string;
}

export interface DrillRunQuery {
  drill?: string;
  /** Newest first; default 50. */
  limit?: number;
}

export interface DrillRepo {
  /** Writes the run whole (insert or replace by id) with `events` in the same transaction; answers the events as appended. */
  put(run: DrillRunRecord, events?: readonly NewEvent[]): Promise<EngineEvent[]>;
  get(id: string): Promise<DrillRunRecord | undefined>;
  /** Newest started first. */
  list(query?: DrillRunQuery): Promise<DrillRunRecord[]>;
}

/** A run just started: nothing measured yet. */
export function startedDrillRun(run: Pick<DrillRunRecord, "id" | "drill" | "type" | "service" | "environment" | "trigger" | "startedAt">): DrillRunRecord {
  return {
    ...run,
    state: "running",
    finishedAt: null,
    releaseId: null,
    timings: { detectedAfterMs: null, rolledBackAfterMs: null, healthyAfterMs: null },
    requests: { sent: 0, failed: 0, failedInsideFault: 0, failedOutsideFault: 0 },
    rules: [],
    reason: "",
  };
}
