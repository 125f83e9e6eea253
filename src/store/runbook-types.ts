/**
 * What the runbook runner keeps across restarts: each run whole (its target, trigger, steps with
 * their resolution, output and result, approval, verification). The events it appends
 * (`runbook.*`) are the record of what happened; this answers `engineroom runbook show`.
 */
import type { EngineEvent, NewEvent } from "./types.js";

export const runbookRunStates = ["running", "waiting-approval", "succeeded", "failed", "aborted"] as const;
export type RunbookRunState = (typeof runbookRunStates)[number];

export interface RunbookStepRecord {
  index: number;
  name: string;
  type: string;
  state: "pending" | "running" | "waiting" | "succeeded" | "failed" | "skipped" | "aborted";
  /** What it acts on, resolved (which release and instances, which command, which channel…). */
  plan: string;
  /** Why its `when` held or not, and its `abort_if`. */
  conditions: string[];
  startedAt: number | null;
  endedAt: number | null;
  /** One line: what happened. */
  result: string | null;
  /** A `run` step's output (redacted, capped). */
  output: string | null;
}

export interface RunbookRunRecord {
  /** e.g. `rbr_lx2k9a1b_8f3c2d1e`. */
  id: string;
  runbook: string;
  service: string;
  environment: string;
  state: RunbookRunState;
  /** Who or what started it: a person by name, or an alert (automatic). */
  /** `token`: the created API token (an agent's, CI's) that started it, which may not approve it. */
  trigger: { kind: "manual" | "alert"; by: string; token?: string; alertId?: string; rule?: string };
  incidentId: string | null;
  startedAt: number;
  endedAt: number | null;
  steps: RunbookStepRecord[];
  /** The pending or decided approval of an `approve` step. */
  approval: { step: number; requestedAt: number; expiresAt: number; decision: "approved" | "denied" | "expired" | null; by: string | null; at: number | null } | null;
  /** The implicit last step: did the service recover (its checks and SLOs), with the evidence. */
  verification: { outcome: "verified" | "not-recovered"; at: number; evidence: string[] } | null;
  /** Why it failed or was aborted. */
  reason: string | null;
  updatedAt: number;
}

export interface RunbookRunQuery {
  runbook?: string;
  service?: string;
  /** Only runs started at or after this (epoch ms). */
  sinceMs?: number;
  /** At most this many, newest first. Default 100. */
  limit?: number;
}

export interface RunbookRunRepo {
  /** Writes the run whole (insert or replace by id) and appends `events` in the same transaction. */
  put(run: RunbookRunRecord, events?: readonly NewEvent[]): Promise<EngineEvent[]>;
  get(id: string): Promise<RunbookRunRecord | undefined>;
  /** Newest started first. */
  list(query?: RunbookRunQuery): Promise<RunbookRunRecord[]>;
}
