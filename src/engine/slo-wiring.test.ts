import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { parseSlos, evaluateSlo } from "../slo/index.js";
import { SqliteStore, type CheckBucketRecord } from "../store/index.js";
import { storeCheckCounts } from "./slo-wiring.js";

const minute = 60_000;
const hour = 60 * minute;

describe("check SLOs from the monitor's stored aggregates", () => {
  it("counts runs and failures over a window: whole hours from the hours, the edges from the minutes", async () => {
    const clock = new ManualClock();
    const store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    const t0 = clock.now();
    const bucket = (start: number, runs: number, failures: number): CheckBucketRecord => ({ name: "web.health.production", start, runs, failures, sumMs: runs, maxMs: 1, latency: new Array<number>(16).fill(0) });
    // 3 hours of a check every 10 s (6 runs a minute), one failure a minute in the second hour.
    const minutes = Array.from({ length: 180 }, (_, i) => bucket(t0 + i * minute, 6, i >= 60 && i < 120 ? 1 : 0));
    await store.checks.writeBuckets("minute", minutes);
    await store.checks.writeBuckets("hour", [bucket(t0, 360, 0), bucket(t0 + hour, 360, 60), bucket(t0 + 2 * hour, 360, 0)]);
    const checks = storeCheckCounts(store.checks);
    assert.deepEqual(await checks.counts("web.health.production", t0 + 30 * minute, t0 + 150 * minute), { runs: 720, failures: 60 });
    assert.deepEqual(await checks.counts("web.health.production", t0 + 90 * minute, t0 + 100 * minute), { runs: 60, failures: 10 });
    assert.deepEqual(await checks.counts("other", t0, t0 + 3 * hour), { runs: 0, failures: 0 });

    const parsed = parseSlos({ health: { service: "web", kind: "check", check: "web.health.production", target: 99, window: "1d" } }, { services: ["web"], environments: ["staging", "production"], checks: ["web.health.production"] });
    assert.ok(parsed.ok);
    const status = await evaluateSlo(parsed.slos[0]!, "production", t0 + 3 * hour, { requests: store.requests, checks });
    assert.deepEqual([status.environment, status.events.valid, status.events.bad], ["production", 1080, 60]);
    // 60 failures against 1% of 1,080 = 10.8 allowed: 1 − 60 / 10.8, in percent.
    assert.equal(status.budgetLeft, -455.56);
    assert.equal(status.exhausted, true);
    await store.close();
  });
});
