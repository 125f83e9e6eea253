import type { EngineEvent } from "../store/index.js";

/** One drill run that finished in the period, from its `drill.finished` event. */
export interface DrillRow {
  drill: string;
  type: string;
  service: string;
  environment: string;
  passed: boolean;
  startedAt: number;
  finishedAt: number;
  detectedAfterMs: number | null;
  rolledBackAfterMs: number | null;
  healthyAfterMs: number | null;
  requests: number;
  failedInsideFault: number;
  failedOutsideFault: number;
  reason: string;
  releaseId: string | null;
  eventId: number;
}

/** The report's "Drills" section: every run that finished in the period, newest first. */
export interface DrillsSection {
  runs: number;
  passed: number;
  failed: number;
  /** Every run passed; null when none ran. */
  meets: boolean | null;
  text: string;
  rows: DrillRow[];
}

const num = (v: unknown) => (typeof v === "number" ? v : null);

/** The drills that finished in the period (in `environment` only, when given), from their `drill.finished` events. */
export function drillsSection(finished: readonly EngineEvent[], environment: string | undefined): DrillsSection {
  const rows: DrillRow[] = finished
    .filter((e) => e.type === "drill.finished" && (environment === undefined || e.environment === environment))
    .map((e) => {
      const timings = (e.data.timings ?? {}) as Record<string, unknown>;
      const requests = (e.data.requests ?? {}) as Record<string, unknown>;
      return {
        drill: String(e.data.drill ?? ""),
        type: String(e.data.type ?? ""),
        service: e.service ?? "",
        environment: e.environment ?? "",
        passed: e.data.passed === true,
        startedAt: num(e.data.startedAt) ?? e.time,
        finishedAt: e.time,
        detectedAfterMs: num(timings.detectedAfterMs),
        rolledBackAfterMs: num(timings.rolledBackAfterMs),
        healthyAfterMs: num(timings.healthyAfterMs),
        requests: num(requests.sent) ?? 0,
        failedInsideFault: num(requests.failedInsideFault) ?? 0,
        failedOutsideFault: num(requests.failedOutsideFault) ?? 0,
        reason: String(e.data.reason ?? ""),
        releaseId: e.releaseId,
        eventId: e.id,
      };
    })
    .sort((a, b) => b.finishedAt - a.finishedAt || b.eventId - a.eventId);
  const passed = rows.filter((r) => r.passed).length;
  const failed = rows.length - passed;
  const failedNames = [...new Set(rows.filter((r) => !r.passed).map((r) => r.drill))];
  const text = rows.length === 0 ? "no drills ran" : `${passed} of ${rows.length} drill run(s) passed${failed ? ` (failed: ${failedNames.join(", ")})` : ""}`;
  return { runs: rows.length, passed, failed, meets: rows.length === 0 ? null : failed === 0, text, rows };
}

/** The releases a rollback drill made (their `drill.fault-injected` events): practice, left out of deployment success and DORA's keys. */
export function drillReleases(injected: readonly EngineEvent[]): Set<string> {
  return new Set(injected.filter((e) => e.type === "drill.fault-injected" && e.releaseId).map((e) => e.releaseId!));
}
