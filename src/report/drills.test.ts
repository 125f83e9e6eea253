import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../store/index.js";
import { drillReleases, drillsSection } from "./drills.js";

const event = (id: number, type: string, time: number, fields: Partial<EngineEvent> = {}): EngineEvent => ({ id, type, time, service: "web", environment: "staging", releaseId: null, message: "", data: {}, ...fields });
const finished = (id: number, time: number, drill: string, passed: boolean, environment = "staging") =>
  event(id, "drill.finished", time, {
    environment,
    releaseId: `rel_${id}`,
    data: { drill, type: "rollback", passed, reason: passed ? "ok" : "recover_within: 15s: healthy after 20s", startedAt: time - 9000, timings: { detectedAfterMs: 2000, rolledBackAfterMs: 2300, healthyAfterMs: passed ? 2500 : 20_000 }, requests: { sent: 180, failed: 9, failedInsideFault: 9, failedOutsideFault: 0 } },
  });

describe("report: drills", () => {
  it("lists the drill runs of the period newest first, with their timings, and says how many passed", () => {
    const section = drillsSection([finished(1, 1000, "web-rollback", true), finished(2, 3000, "web-strict", false), finished(3, 2000, "web-rollback", true, "production")], undefined);
    assert.deepEqual([section.runs, section.passed, section.failed, section.meets], [3, 2, 1, false]);
    assert.equal(section.text, "2 of 3 drill run(s) passed (failed: web-strict)");
    assert.deepEqual(section.rows.map((r) => [r.drill, r.environment, r.passed, r.healthyAfterMs]), [["web-strict", "staging", false, 20_000], ["web-rollback", "production", true, 2500], ["web-rollback", "staging", true, 2500]]);
    assert.deepEqual(section.rows[0], {
      drill: "web-strict", type: "rollback", service: "web", environment: "staging", passed: false, startedAt: -6000, finishedAt: 3000,
      detectedAfterMs: 2000, rolledBackAfterMs: 2300, healthyAfterMs: 20_000, requests: 180, failedInsideFault: 9, failedOutsideFault: 0,
      reason: "recover_within: 15s: healthy after 20s", releaseId: "rel_2", eventId: 2,
    });
    const staging = drillsSection([finished(1, 1000, "web-rollback", true), finished(3, 2000, "web-rollback", true, "production")], "production");
    assert.deepEqual([staging.runs, staging.meets, staging.text], [1, true, "1 of 1 drill run(s) passed"]);
    assert.deepEqual([drillsSection([], undefined).meets, drillsSection([], undefined).text], [null, "no drills ran"]);
  });

  it("knows the drill releases, to leave them out of deployment success", () => {
    assert.deepEqual([...drillReleases([event(1, "drill.fault-injected", 1, { releaseId: "rel_d" }), event(2, "drill.started", 1)])], ["rel_d"]);
  });
});
