import { formatDuration } from "../core/index.js";
import type { DrillRequests, DrillRunRecord, DrillTimings } from "../store/index.js";
import type { DrillDefinition } from "./config.js";

/** What a drill run measured, and why it could not finish (if it could not). */
export interface Measured {
  timings: DrillTimings;
  requests: DrillRequests;
  /** The drill did not get through (e.g. nothing rolled the drill release back before the time limit). */
  error?: string;
}

/**
 * The drill's pass rule against what was measured: one line per rule, passed only when every rule
 * held (and the drill got through). `reason` is the first rule that failed, or a summary.
 */
export function judge(drill: DrillDefinition, measured: Measured): Pick<DrillRunRecord, "rules" | "reason"> & { passed: boolean } {
  const { timings, requests } = measured;
  const rules: DrillRunRecord["rules"] = [];
  if (measured.error !== undefined) rules.push({ rule: "completed", passed: false, detail: measured.error });
  const within = drill.pass.recoverWithinMs;
  const healthy = timings.healthyAfterMs;
  rules.push({
    rule: `recover_within: ${formatDuration(within)}`,
    passed: healthy !== null && healthy <= within,
    detail: healthy === null ? "did not recover before the drill ended" : `healthy after ${formatDuration(healthy)}`,
  });
  const outside = drill.pass.maxFailedOutsideFault;
  rules.push({
    rule: `max_failed_requests_outside_fault: ${outside}`,
    passed: requests.failedOutsideFault <= outside,
    detail: `${requests.failedOutsideFault} of ${requests.sent} requests failed outside the fault`,
  });
  if (drill.pass.maxFailed !== undefined) {
    rules.push({ rule: `max_failed_requests: ${drill.pass.maxFailed}`, passed: requests.failed <= drill.pass.maxFailed, detail: `${requests.failed} of ${requests.sent} requests failed` });
  }
  const failed = rules.find((r) => !r.passed);
  const passed = failed === undefined;
  const reason = failed ? `${failed.rule}: ${failed.detail}` : summary(drill, measured);
  return { passed, rules, reason };
}

/** One line of what a passed drill showed, e.g. "detected after 2.1s, rolled back after 2.3s, healthy after 2.4s; 0 of 180 requests failed outside the fault". */
export function summary(drill: DrillDefinition, { timings, requests }: Measured): string {
  const parts = [
    timings.detectedAfterMs !== null ? `detected after ${formatDuration(timings.detectedAfterMs)}` : undefined,
    timings.rolledBackAfterMs !== null ? `rolled back after ${formatDuration(timings.rolledBackAfterMs)}` : undefined,
    timings.healthyAfterMs !== null ? `healthy after ${formatDuration(timings.healthyAfterMs)}` : undefined,
  ].filter(Boolean);
  const load = `${requests.failedOutsideFault} of ${requests.sent} requests failed outside the fault${requests.failedInsideFault ? `, ${requests.failedInsideFault} inside it` : ""}`;
  return `${drill.type} drill ${drill.name}: ${parts.length ? parts.join(", ") : "no timing"}; ${load}`;
}
