import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { latencyBoundsMs, type MetricsBucket } from "./histogram.js";
import { histogramQuantile, mergeBuckets, MetricsWindow } from "./window.js";

const t0 = Date.UTC(2026, 0, 1);

/** A histogram with `count` requests in the bucket whose upper bound is `boundMs` (Infinity: the open last bucket). */
function latency(...entries: [boundMs: number, count: number][]): number[] {
  const counts = new Array<number>(latencyBoundsMs.length + 1).fill(0);
  for (const [bound, count] of entries) {
    const index = bound === Infinity ? latencyBoundsMs.length : latencyBoundsMs.indexOf(bound as (typeof latencyBoundsMs)[number]);
    assert.ok(index >= 0, `${bound} is a bucket bound`);
    counts[index]! += count;
  }
  return counts;
}

/** One second of one release's traffic; status counts default to 0, latency to all requests under 1 ms. */
function bucket(time: number, fields: Partial<MetricsBucket["status"]> & { upstreamErrors?: number; clientAborts?: number; releaseId?: string; latency?: number[] } = {}): MetricsBucket {
  const status = { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 };
  for (const k of Object.keys(status) as (keyof typeof status)[]) status[k] = fields[k] ?? 0;
  const requests = Object.values(status).reduce((a, b) => a + b, 0);
  return {
    service: "web",
    environment: "production",
    releaseId: fields.releaseId ?? "rel_1",
    time,
    status,
    upstreamErrors: fields.upstreamErrors ?? 0,
    clientAborts: fields.clientAborts ?? 0,
    latency: fields.latency ?? latency([1, requests]),
  };
}

describe("MetricsWindow", () => {
  const window = (clock = new ManualClock(t0 + 10_000), keepMs?: number) => ({ clock, metrics: new MetricsWindow({ clock, keepMs }) });

  it("sums a release's buckets with time in [from, to), by status class", () => {
    const { metrics } = window();
    metrics.add([bucket(t0, { "2xx": 10, "4xx": 2 }), bucket(t0 + 1_000, { "2xx": 5, "3xx": 1, "1xx": 1 }), bucket(t0 + 2_000, { "2xx": 100 })]);
    metrics.add([bucket(t0, { "2xx": 1000, releaseId: "rel_other" })]);
    const summary = metrics.summary("rel_1", t0, t0 + 2_000);
    assert.deepEqual(summary.status, { "1xx": 1, "2xx": 15, "3xx": 1, "4xx": 2, "5xx": 0 });
    assert.equal(summary.requests, 19);
    assert.equal(summary.rps, 19 / 2);
    assert.deepEqual([summary.releaseId, summary.fromMs, summary.toMs], ["rel_1", t0, t0 + 2_000]);
  });

  it("merges buckets of the same second from several workers by addition", () => {
    const { metrics } = window();
    metrics.add([bucket(t0, { "2xx": 3, latency: latency([5, 3]) })]);
    metrics.add([bucket(t0, { "2xx": 1, "5xx": 1, upstreamErrors: 2, clientAborts: 1, latency: latency([5, 1], [500, 1]) })]);
    const summary = metrics.summary("rel_1", t0, t0 + 1_000);
    assert.deepEqual([summary.status["2xx"], summary.status["5xx"], summary.upstreamErrors, summary.clientAborts], [4, 1, 2, 1]);
    assert.equal(summary.p50, 5);
    assert.equal(summary.p99, 500);
  });

  it("keeps its own copy of what it was given", () => {
    const { metrics } = window();
    const given = bucket(t0, { "2xx": 1 });
    metrics.add([given]);
    given.status["2xx"] = 99;
    given.latency[0] = 99;
    metrics.add([bucket(t0 + 1_000, { "2xx": 1 })]);
    given.status["2xx"] = 500;
    assert.equal(metrics.summary("rel_1", t0, t0 + 2_000).requests, 2);
  });

  it("counts 5xx answers and upstream errors as errors, client aborts not", () => {
    const { metrics } = window();
    metrics.add([bucket(t0, { "2xx": 85, "4xx": 5, "5xx": 5, upstreamErrors: 5, clientAborts: 50 })]);
    const summary = metrics.summary("rel_1", t0, t0 + 1_000);
    assert.equal(summary.requests, 95, "upstream errors are not answered requests");
    assert.equal(summary.errorRate, 10 / 100);
  });

  it("reports a release with only upstream errors as failing every request", () => {
    const { metrics } = window();
    metrics.add([bucket(t0, { upstreamErrors: 4 })]);
    assert.equal(metrics.summary("rel_1", t0, t0 + 1_000).errorRate, 1);
  });

  it("answers zeros and null percentiles for a release without traffic, up to now by default", () => {
    const { clock, metrics } = window();
    const summary = metrics.summary("rel_none", t0);
    assert.deepEqual(
      [summary.requests, summary.rps, summary.errorRate, summary.p50, summary.p95, summary.p99, summary.toMs],
      [0, 0, 0, null, null, null, clock.now()],
    );
  });

  it("divides by at least one second for the rate", () => {
    const { metrics } = window();
    metrics.add([bucket(t0, { "2xx": 7 })]);
    assert.equal(metrics.summary("rel_1", t0, t0 + 200).rps, 7);
  });

  it("estimates percentiles from the merged histogram", () => {
    const { metrics } = window();
    metrics.add([bucket(t0, { "2xx": 50, latency: latency([1, 50]) }), bucket(t0 + 1_000, { "2xx": 50, latency: latency([5, 45], [100, 5]) })]);
    const { p50, p95, p99 } = metrics.summary("rel_1", t0, t0 + 2_000);
    assert.deepEqual([p50, p95, p99], [1, 5, 100]);
  });

  it("drops buckets older than keepMs when new ones arrive", () => {
    const { clock, metrics } = window(new ManualClock(t0), 60_000);
    metrics.add([bucket(t0, { "2xx": 1 }), bucket(t0, { "2xx": 1, releaseId: "rel_2" })]);
    clock.advance(60_000);
    metrics.add([bucket(t0 + 60_000, { "2xx": 2 })]);
    assert.equal(metrics.summary("rel_1", t0, t0 + 61_000).requests, 3, "a bucket exactly keepMs old stays");
    clock.advance(1);
    metrics.add([bucket(t0 + 60_000, { "2xx": 4 })]);
    assert.equal(metrics.summary("rel_1", t0, t0 + 61_000).requests, 6, "the first second is gone");
    assert.equal(metrics.summary("rel_2", t0, t0 + 61_000).requests, 0, "and with it every release left without buckets");
  });
});

describe("histogramQuantile", () => {
  it("is null for an empty histogram", () => {
    assert.equal(histogramQuantile(latency(), 0.5), null);
    assert.equal(histogramQuantile([], 0.99), null);
  });

  it("is the upper bound of the bucket holding every request", () => {
    for (const q of [0.01, 0.5, 0.95, 0.99, 1]) assert.equal(histogramQuantile(latency([10, 7]), q), 10);
  });

  it("reports the open last bucket as twice the top bound", () => {
    assert.equal(histogramQuantile(latency([Infinity, 3]), 0.5), 2 * latencyBoundsMs.at(-1)!);
    assert.equal(histogramQuantile(latency([1, 98], [Infinity, 2]), 0.99), 20_000);
  });

  it("takes the bucket in which the q-th request falls, counting up", () => {
    const counts = latency([1, 50], [5, 45], [100, 4], [2000, 1]);
    assert.deepEqual([0.5, 0.51, 0.95, 0.96, 0.99, 1].map((q) => histogramQuantile(counts, q)), [1, 5, 5, 100, 100, 2000]);
  });

  it("gives the lowest non-empty bucket for q = 0", () => {
    assert.equal(histogramQuantile(latency([50, 3]), 0), 50);
  });
});

describe("mergeBuckets", () => {
  it("adds counts, errors, aborts and latency, keeping the first bucket's identity", () => {
    const merged = mergeBuckets(bucket(t0, { "2xx": 1, "5xx": 2, upstreamErrors: 1 }), bucket(t0, { "2xx": 3, clientAborts: 4, releaseId: "rel_x" }));
    assert.deepEqual(merged.status, { "1xx": 0, "2xx": 4, "3xx": 0, "4xx": 0, "5xx": 2 });
    assert.deepEqual([merged.upstreamErrors, merged.clientAborts, merged.releaseId, merged.time], [1, 4, "rel_1", t0]);
    assert.deepEqual(merged.latency, latency([1, 6]));
  });
});
