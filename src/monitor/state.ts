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
