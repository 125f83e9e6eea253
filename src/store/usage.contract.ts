/**
 * The usage table's part of the Store contract (called from runStoreContract, so SQLite and
 * PostgreSQL both pass it): samples add up into their bucket, the mean memory is weighted by alive
 * time, queries filter by environment, service and release, and pruning drops old buckets.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManualClock } from "../core/index.js";
import { usageBucketMs, type Store, type UsageBucket } from "./types.js";

const t0 = Date.UTC(2026, 0, 1);

/** 30 s of a live instance of web in production using 1.5 s of CPU and 100 MiB, reserving 500m, 256Mi and 1Gi; for tests. */
export function usageSample(overrides: Partial<UsageBucket> = {}): UsageBucket {
  return {
    environment: "production",
    service: "web",
    releaseId: "rel_1",
    instanceId: "web-production-v1-1",
    start: t0,
    aliveMs: 30_000,
    cpuMs: 1_500,
    rssBytes: 100 * 1024 * 1024,
    rssMaxBytes: 100 * 1024 * 1024,
    reservedCpuMilli: 500,
    reservedMemoryBytes: 256 * 1024 * 1024,
    reservedStorageBytes: 1024 ** 3,
    live: true,
    ...overrides,
  };
}

export function usageContract(get: () => { store: Store; clock: ManualClock }): void {
  const sample = usageSample;

  describe("usage", () => {
    it("adds samples into their bucket: times add, the mean memory is weighted by alive time, the peak is kept", async () => {
      const { store } = get();
      // 12 GiB over 5 minutes: a mean weighted in SQL must not overflow (12 GiB × 300,000 ms < 2^63).
      const big = 12 * 1024 ** 3;
      await store.usage.record([sample(), sample({ instanceId: "web-production-v1-2", rssBytes: big, rssMaxBytes: big, aliveMs: 300_000 })]);
      await store.usage.record([sample({ aliveMs: 10_000, cpuMs: 500, rssBytes: 200 * 1024 * 1024, rssMaxBytes: 300 * 1024 * 1024, live: false })]);
      const [first, second] = await store.usage.list({ fromMs: t0, toMs: t0 + usageBucketMs });
      assert.deepEqual(first, sample({ aliveMs: 40_000, cpuMs: 2_000, rssBytes: 125 * 1024 * 1024, rssMaxBytes: 300 * 1024 * 1024, live: false }));
      assert.equal(second!.rssBytes, big);
      assert.equal(second!.aliveMs, 300_000);
    });

    it("filters by period, environment, service and release, oldest first; prunes what is older", async () => {
      const { store } = get();
      await store.usage.record([
        sample({ start: t0 + usageBucketMs }),
        sample({ start: t0, service: "api", instanceId: "api-1" }),
        sample({ start: t0, environment: "staging", instanceId: "web-staging-1", releaseId: "rel_s" }),
        sample({ start: t0 + 2 * usageBucketMs, releaseId: "rel_2" }),
      ]);
      const all = await store.usage.list({ fromMs: t0, toMs: t0 + 3 * usageBucketMs });
      assert.deepEqual(all.map((b) => [b.start - t0, b.environment, b.service]), [[0, "production", "api"], [0, "staging", "web"], [usageBucketMs, "production", "web"], [2 * usageBucketMs, "production", "web"]]);
      assert.equal((await store.usage.list({ fromMs: t0, toMs: t0 + 3 * usageBucketMs, environment: "production", service: "web" })).length, 2);
      assert.deepEqual((await store.usage.list({ fromMs: t0, toMs: t0 + 3 * usageBucketMs, releaseId: "rel_2" })).map((b) => b.releaseId), ["rel_2"]);
      assert.equal((await store.usage.list({ fromMs: t0 + usageBucketMs, toMs: t0 + 2 * usageBucketMs })).length, 1);
      assert.equal(await store.usage.prune(t0 + usageBucketMs), 2);
      assert.equal((await store.usage.list({ fromMs: 0, toMs: t0 + 3 * usageBucketMs })).length, 2);
    });
  });
}
