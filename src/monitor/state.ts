/**
 * A check's verdict from its runs: `pending` until it has one, `down` after `failureThreshold`
 * failures in a row, `up` after `recoveryThreshold` passes in a row. One failure of an up check, or
 * one pass of a down one, changes nothing but the counts: that is what the thresholds are for.
 */
import type { CheckStateName } from "../store/index.js";

export interface CheckVerdict {
  state: CheckStateName;
  /** When it entered this state, epoch ms. */
  since: number;
  consecutiveFailures: number;
  consecutivePasses: number;
}

export interface Thresholds {
  failureThreshold: number;
  recoveryThreshold: number;
}

/** A check that has not run yet. */
export function initialVerdict(now: number): CheckVerdict {
  return { state: "pending", since: now, consecutiveFailures: 0, consecutivePasses: 0 };
}

/** The verdict after one more run; `changed` when the state moved (a transition). */
export function nextVerdict(current: CheckVerdict, ok: boolean, at: number, thresholds: Thresholds): { verdict: CheckVerdict; changed: boolean } {
  const consecutiveFailures = ok ? 0 : current.consecutiveFailures + 1;
  const consecutivePasses = ok ? current.consecutivePasses + 1 : 0;
  let state = current.state;
  if (!ok && state !== "down" && consecutiveFailures >= thresholds.failureThreshold) state = "down";
  if (ok && state !== "up" && consecutivePasses >= thresholds.recoveryThreshold) state = "up";
  const changed = state !== current.state;
  return { verdict: { state, since: changed ? at : current.since, consecutiveFailures, consecutivePasses }, changed };
}

/**
 * Whether an up check is degraded: its runs pass their conditions but fail a degraded condition.
 * Degraded after `failureThreshold` degraded runs in a row while up, no longer after
 * `recoveryThreshold` clean passes in a row; a check not up is never degraded (down wins).
 */
export interface DegradedVerdict {
  degraded: boolean;
  /** Degraded runs in a row. */
  degradedRuns: number;
  /** Clean passes (no degraded condition failed) in a row. */
  cleanPasses: number;
}

/** A check not degraded, with no runs counted. */
export function initialDegraded(): DegradedVerdict {
  return { degraded: false, degradedRuns: 0, cleanPasses: 0 };
}

/** The degraded verdict after one more run, given the check's state after it; `changed` when `degraded` moved. */
export function nextDegraded(
  current: DegradedVerdict,
  run: { ok: boolean; degraded?: boolean },
  state: CheckStateName,
  thresholds: Thresholds,
): { verdict: DegradedVerdict; changed: boolean } {
  const degradedRuns = run.ok && run.degraded ? current.degradedRuns + 1 : 0;
  const cleanPasses = run.ok && !run.degraded ? current.cleanPasses + 1 : 0;
  let degraded = current.degraded;
  if (state !== "up") degraded = false;
  else if (!degraded && degradedRuns >= thresholds.failureThreshold) degraded = true;
  else if (degraded && cleanPasses >= thresholds.recoveryThreshold) degraded = false;
  return { verdict: { degraded, degradedRuns, cleanPasses }, changed: degraded !== current.degraded };
}

/** The event of a degraded change: `check.degraded` or `check.degraded-ended`, with the runs in a row that made it. */
export function degradedEvent(check: string, labels: Readonly<Record<string, string>>, result: { error?: string }, verdict: DegradedVerdict) {
  const counts = verdict.degraded ? `${verdict.degradedRuns} degraded runs in a row` : `${verdict.cleanPasses} clean passes in a row`;
  return {
    type: verdict.degraded ? "check.degraded" : "check.degraded-ended",
    service: labels.service ?? null,
    environment: labels.environment ?? null,
    message: verdict.degraded ? `check ${check} is degraded: ${result.error ?? "degraded"} (${counts})` : `check ${check} is no longer degraded: ${counts}`,
    data: { check, degraded: verdict.degraded, error: result.error ?? null, labels },
  };
}
