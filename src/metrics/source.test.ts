import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { latencyBoundsMs, type MetricsBucket } from "./histogram.js";
import { ProxyMetricSource } from "./source.js";
import { MetricsWindow } from "./window.js";

const t0 = Date.UTC(2026, 0, 1);

function bucket(time: number, releaseId: string, fields: Partial<MetricsBucket>): MetricsBucket {
  return {
    service: "web",
    environment: "production",
    releaseId,
    time,
    status: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 },
    upstreamErrors: 0,
    clientAborts: 0,
    latency: new Array<number>(latencyBoundsMs.length + 1).fill(0),
    ...fields,
  };
}

describe("ProxyMetricSource", () => {
  it("counts upstream errors as failed requests, 4xx and client aborts as neither, and keeps the histogram", async () => {
    const window = new MetricsWindow({ clock: new ManualClock(t0 + 10_000) });
    const latency = new Array<number>(latencyBoundsMs.length + 1).fill(0);
    latency[3] = 10;
    latency[9] = 6;
    window.add([
      bucket(t0, "rel_1", { status: { "1xx": 0, "2xx": 8, "3xx": 1, "4xx": 2, "5xx": 3 }, upstreamErrors: 2, clientAborts: 5, latency }),
      bucket(t0 + 1_000, "rel_2", { status: { "1xx": 0, "2xx": 100, "3xx": 0, "4xx": 0, "5xx": 0 } }),
      bucket(t0 + 5_000, "rel_1", { status: { "1xx": 0, "2xx": 50, "3xx": 0, "4xx": 0, "5xx": 0 } }),
    ]);
    const source = new ProxyMetricSource(window);
    const query = { service: "web", environment: "production", releaseId: "rel_1", fromMs: t0, toMs: t0 + 5_000 };
    const sample = await source.sample(query);
    assert.deepEqual(sample, { requests: 16, errors: 5, latency, fromMs: t0, toMs: t0 + 5_000 });
    sample.latency[3] = 0;
    assert.equal((await source.sample(query)).latency[3], 10, "a sample is the caller's to change");
  });

  it("answers zeros for a release without traffic", async () => {
    const window = new MetricsWindow({ clock: new ManualClock(t0) });
    const sample = await new ProxyMetricSource(window).sample({ service: "web", environment: "production", releaseId: "rel_x", fromMs: t0 - 60_000, toMs: t0 });
    assert.deepEqual([sample.requests, sample.errors, sample.latency.length, sample.latency.every((n) => n === 0)], [0, 0, latencyBoundsMs.length + 1, true]);
  });
});
