import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MetricRules, resolveMetricRules, rulesConfigSchema, type AlertSignal } from "../alert/index.js";
import { ManualClock } from "../core/index.js";
import { latencyBoundsMs, MetricsWindow, type MetricsBucket } from "../metrics/index.js";
import { ServiceTrafficIndex } from "./service-traffic.js";

function bucket(over: Partial<MetricsBucket> & Pick<MetricsBucket, "service" | "releaseId" | "time">): MetricsBucket {
  const latency = new Array<number>(latencyBoundsMs.length + 1).fill(0);
  return { environment: "production", status: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 }, upstreamErrors: 0, clientAborts: 0, latency, ...over };
}

describe("ServiceTrafficIndex: a service's traffic from the metrics windows", () => {
  const setup = () => {
    const clock = new ManualClock();
    const environments = ["staging", "production"].map((name) => ({ name, config: { services: { web: {}, api: {} } }, metrics: new MetricsWindow({ clock }) }));
    const index = new ServiceTrafficIndex(() => environments);
    const feed = (environment: string, buckets: MetricsBucket[]) => {
      environments.find((e) => e.name === environment)!.metrics.add(buckets);
      index.record(buckets);
    };
    return { clock, index, feed };
  };

  it("sums the service's releases, counts a retried try once, and keeps environments and services apart", async () => {
    const { clock, index, feed } = setup();
    const t = clock.now();
    const latency = (i: number, n: number) => Object.assign(new Array<number>(latencyBoundsMs.length + 1).fill(0), { [i]: n });
    feed("production", [
      // v1 failed 4 tries, 3 of which the proxy retried on v2 (which answered them): clients saw 1 failure.
      bucket({ service: "web", releaseId: "rel_1", time: t, status: { "1xx": 0, "2xx": 6, "3xx": 0, "4xx": 0, "5xx": 1 }, upstreamErrors: 4, retried: 3, latency: latency(3, 8) }),
      bucket({ service: "web", releaseId: "rel_2", time: t, status: { "1xx": 0, "2xx": 10, "3xx": 0, "4xx": 0, "5xx": 0 }, latency: latency(5, 10) }),
      bucket({ service: "api", releaseId: "rel_3", time: t, status: { "1xx": 0, "2xx": 100, "3xx": 0, "4xx": 0, "5xx": 0 }, latency: latency(1, 100) }),
    ]);
    feed("staging", [bucket({ environment: "staging", service: "web", releaseId: "rel_4", time: t, status: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 50 }, latency: latency(2, 50) })]);
    await clock.advance(1000);
    const web = index.summary("web", "production", t - 60_000, clock.now());
    assert.deepEqual([web.requests, web.errors], [18, 2], "6 + 1 + 1 unanswered on v1, 10 on v2; 5xx 1 + 1 unanswered");
    assert.equal(web.latency.reduce((a, b) => a + b, 0), 18);
    assert.equal(index.summary("web", "staging", t - 60_000, clock.now()).errors, 50);
    assert.equal(index.summary("api", "staging", t - 60_000, clock.now()).requests, 0);
    assert.deepEqual(index.targets().map((x) => `${x.environment}/${x.service}`), ["staging/web", "staging/api", "production/web", "production/api"]);
  });

  it("drives the default rules: staging's errors page for staging only", async () => {
    const { clock, index, feed } = setup();
    const signals: AlertSignal[] = [];
    const rules = new MetricRules({ rules: resolveMetricRules(rulesConfigSchema.parse({})), traffic: index, sink: { report: (s) => signals.push(s) }, clock });
    for (let i = 0; i < 20; i++) {
      feed("staging", [bucket({ environment: "staging", service: "web", releaseId: "rel_4", time: clock.now(), status: { "1xx": 0, "2xx": 8, "3xx": 0, "4xx": 0, "5xx": 2 } })]);
      feed("production", [bucket({ service: "web", releaseId: "rel_1", time: clock.now(), status: { "1xx": 0, "2xx": 10, "3xx": 0, "4xx": 0, "5xx": 0 } })]);
      await clock.advance(1000);
    }
    const firing = rules.evaluate().filter((e) => e.firing);
    assert.deepEqual(firing.map((e) => `${e.rule} ${e.environment}/${e.service} ${e.value}`), ["error-rate staging/web 0.2"]);
    assert.deepEqual(signals.filter((s) => s.active).map((s) => s.labels), [{ service: "web", environment: "staging" }]);
  });
});
