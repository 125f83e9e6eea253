import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { costSchema } from "../config/index.js";
import { PriceSheet } from "../cost/index.js";
import { testStoreBackends } from "../store/test-support.js";
import { usageSample } from "../store/usage.contract.js";
import { usageBucketMs, type RequestBucket, type UsageBucket } from "../store/index.js";
import { collectReport, renderReportHtml } from "./index.js";

const hour = 3_600_000;
const t0 = Date.UTC(2026, 10, 1);
const sheet = new PriceSheet(costSchema.parse({ currency: "USD", prices: { default: { CPU: "0.031611", RAM: "0.004237", storage: "0.00005479452" }, staging: { CPU: "0" } } }));

/** 5 minutes of an instance using a quarter of a vCPU and 512 MiB, reserving 500m, 256Mi and 1Gi. */
function bucket(start: number, overrides: Partial<UsageBucket> = {}): UsageBucket {
  return usageSample({ releaseId: "rel_2", instanceId: "web-production-v2-1", start, aliveMs: usageBucketMs, cpuMs: usageBucketMs / 4, rssBytes: 512 * 1024 * 1024, rssMaxBytes: 512 * 1024 * 1024, ...overrides });
}

function requests(time: number, count: number): RequestBucket {
  const latency = new Array<number>(16).fill(0);
  latency[0] = count;
  return { service: "web", environment: "production", releaseId: "rel_2", time, status: { "1xx": 0, "2xx": count, "3xx": 0, "4xx": 0, "5xx": 0 }, upstreamErrors: 0, upstreamTimeouts: 0, retried: 0, clientAborts: 0, latency };
}

for (const [backend, makeStore] of testStoreBackends()) {
  describe(`report: cost on a known history (${backend})`, () => {
    it("prices every bucket with its environment's prices, per service, environment and release, idle apart, per 1,000 requests", async () => {
      const { store, cleanup } = await makeStore();
      try {
        const buckets: UsageBucket[] = [];
        // Two live instances for one hour, the previous release warm for 10 minutes, staging for an hour (its CPU is free), one bucket before the period.
        for (let i = 0; i < 12; i++) for (const n of [1, 2]) buckets.push(bucket(t0 + i * usageBucketMs, { instanceId: `web-production-v2-${n}` }));
        buckets.push(bucket(t0, { releaseId: "rel_1", instanceId: "web-production-v1-1", live: false }), bucket(t0 + usageBucketMs, { releaseId: "rel_1", instanceId: "web-production-v1-1", live: false }));
        for (let i = 0; i < 12; i++) buckets.push(bucket(t0 + i * usageBucketMs, { environment: "staging", releaseId: "rel_s", instanceId: "web-staging-v1-1" }));
        buckets.push(bucket(t0 - hour));
        await store.usage.record(buckets);
        await store.requests.record([requests(t0, 4_000), requests(t0 + 10 * 60_000, 6_000)]);
        const scope = { since: t0, until: t0 + hour - 1, production: "production", prices: sheet, services: [{ service: "web", environment: "production" }, { service: "web", environment: "staging" }] };
        const report = await collectReport(store, scope);
        const cost = report.scorecard.cost;
        assert.ok(cost.measured);
        const production = cost.perService.find((r) => r.environment === "production")!;
        // An instance-hour costs 0.5 × 0.031611 + 0.5 GiB × 0.004237 + 1 GiB × 0.00005479452 = 0.01797879452 (the reservation's CPU, the used memory);
        // two of them, and a sixth of one for the warm release: 0.038954054793(3…).
        assert.equal(production.total, "0.038954054793");
        // Idle: a quarter vCPU reserved and unused on each live instance-hour (0.00790275 each), and the warm release whole.
        assert.equal(production.idle, "0.018801965753");
        assert.equal(production.requests, 10_000);
        assert.equal(production.per1kRequests, "0.003895405479");
        assert.deepEqual(production.from, { buckets: 26, instanceMs: 2 * hour + hour / 6, cpuMs: (2 * hour + hour / 6) / 4, releases: ["rel_1", "rel_2"] });
        assert.equal(production.text, "$0.04 ($0.02 idle), $0.0039 per 1,000 requests");
        const staging = cost.perService.find((r) => r.environment === "staging")!;
        assert.equal(staging.cpu, "0");
        assert.equal(staging.total, "0.00217329452"); // memory and storage only
        assert.equal(staging.per1kRequests, null);
        assert.deepEqual(cost.perRelease.map((r) => [r.releaseId, r.total]).sort(), [["rel_1", "0.002996465753"], ["rel_2", "0.03595758904"], ["rel_s", "0.00217329452"]]);
        assert.equal(cost.total, "0.041127349313");
        assert.equal(cost.text, "$0.04 over the period, $0.02 of it idle; $0.0041 per 1,000 requests");
        assert.equal(cost.from.buckets, 38);

        const only = (await collectReport(store, { ...scope, environment: "staging" })).scorecard.cost;
        assert.ok(only.measured);
        assert.deepEqual(only.perService.map((r) => r.environment), ["staging"]);
        const html = renderReportHtml(report, { project: "p" });
        assert.match(html, /<h2>Cost<\/h2><p>\$0\.04 over the period/);
        assert.match(html, /<td>rel_1<\/td><td>web<\/td><td>production<\/td><td[^>]*>0\.002996465753<\/td>/);

        const unpriced = (await collectReport(store, { ...scope, prices: undefined })).scorecard.cost;
        assert.deepEqual(unpriced, { measured: false, reason: unpriced.text, perService: [], per1kRequests: null, total: null, meets: null, text: "not measured: no price sheet" });
      } finally {
        await cleanup();
      }
    });
  });
}
