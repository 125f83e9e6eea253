import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../core/index.js";
import { latencyBoundsMs, MetricsWindow, type MetricsBucket } from "../../metrics/index.js";
import type { AlertSignal } from "../types.js";
import { MetricRules, type ServiceTraffic } from "./metric-rules.js";
import { resolveMetricRules, rulesConfigSchema } from "./rules-config.js";

/** One second of a release's traffic: `ok` 2xx answers and `failed` 5xx ones, all taking `ms`. */
function bucket(releaseId: string, time: number, ok: number, failed: number, ms: number, service = "web"): MetricsBucket {
  const latency = new Array<number>(latencyBoundsMs.length + 1).fill(0);
  const index = latencyBoundsMs.findIndex((bound) => ms <= bound);
  latency[index === -1 ? latencyBoundsMs.length : index] = ok + failed;
  return { service, environment: "production", releaseId, time, status: { "1xx": 0, "2xx": ok, "3xx": 0, "4xx": 0, "5xx": failed }, upstreamErrors: 0, clientAborts: 0, latency };
}

/** The service's traffic from a real metrics window: its releases' summaries summed. */
function windowTraffic(window: MetricsWindow, releases: Record<string, string[]>): ServiceTraffic {
  return {
    targets: () => Object.keys(releases).map((service) => ({ service, environment: "production" })),
    summary(service, _environment, fromMs, toMs) {
      const parts = releases[service]!.map((id) => window.summary(id, fromMs, toMs));
      return {
        requests: parts.reduce((n, s) => n + s.requests, 0),
        errors: parts.reduce((n, s) => n + s.status["5xx"], 0),
        latency: parts.reduce((sum, s) => sum.map((n, i) => n + s.latency[i]!), new Array<number>(latencyBoundsMs.length + 1).fill(0)),
      };
    },
  };
}

function setup(config: unknown = {}, releases: Record<string, string[]> = { web: ["rel_1", "rel_2"] }) {
  const clock = new ManualClock();
  const window = new MetricsWindow({ clock });
  const signals: AlertSignal[] = [];
  const rules = new MetricRules({ rules: resolveMetricRules(rulesConfigSchema.parse(config)), traffic: windowTraffic(window, releases), sink: { report: (s) => signals.push(s) }, clock });
  /** `seconds` seconds of traffic, each fed as it happens, the clock moving with it. */
  const traffic = async (seconds: number, perSecond: (time: number) => MetricsBucket[]) => {
    for (let i = 0; i < seconds; i++) {
      window.add(perSecond(clock.now()));
      await clock.advance(1000);
    }
  };
  const firing = (rule: string) => signals.filter((s) => s.rule === rule).at(-1)?.active ?? false;
  return { clock, window, signals, rules, traffic, firing };
}

describe("metric rules over the proxies' metrics", () => {
  it("every service gets high-latency (p99 > 1s over 5m) and error-rate (> 5% over 5m), both pages", () => {
    const rules = resolveMetricRules(rulesConfigSchema.parse({}));
    assert.deepEqual(
      rules.map((r) => [r.name, r.metric, r.op, r.threshold, r.forMs, r.minRequests, r.minBad, r.severity]),
      [
        ["high-latency", "p99", ">", 1000, 300_000, 20, 5, "page"],
        ["error-rate", "error_rate", ">", 0.05, 300_000, 20, 5, "page"],
      ],
    );
    const { rules: source, signals } = setup({}, { web: [], api: [] });
    const evaluations = source.evaluate();
    assert.deepEqual(evaluations.map((e) => `${e.rule}:${e.service}`).sort(), ["error-rate:api", "error-rate:web", "high-latency:api", "high-latency:web"]);
    assert.ok(signals.every((s) => !s.active), "nothing fires without traffic; the first evaluation reports every state");
  });

  it("fires high-latency once the window's evidence is there, summed over the service's releases, and clears", async () => {
    const { rules, traffic, firing, signals, clock } = setup();
    rules.start();
    // 60 s at 10 req/s: 5% of the requests take 2 s, spread over both releases.
    await traffic(60, (t) => [bucket("rel_1", t, 5, 0, 20), bucket("rel_2", t, 4, 0, 20), ...(Math.floor(t / 1000) % 2 === 0 ? [bucket("rel_2", t, 1, 0, 2000)] : [])]);
    assert.equal(firing("high-latency"), true);
    const fired = signals.filter((s) => s.rule === "high-latency" && s.active).at(-1)!;
    assert.deepEqual(fired.labels, { service: "web", environment: "production" });
    assert.equal(fired.severity, "page");
    assert.equal(fired.annotations.value, "2s");
    assert.equal(fired.annotations.threshold, "> 1s");
    assert.equal(fired.annotations.window, "5m");
    assert.match(fired.annotations.summary, /web \(production\): p99 latency 2s > 1s over 5m \(\d+ requests\)/);
    assert.equal(firing("error-rate"), false);
    // Fast traffic from now on: once the slow minute is diluted under 1% of the window, it clears.
    await traffic(300, (t) => [bucket("rel_1", t, 10, 0, 20)]);
    assert.equal(firing("high-latency"), false, "resolved once the slow requests are out of the p99");
    const resolved = signals.filter((s) => s.rule === "high-latency").at(-1)!;
    assert.equal(resolved.active, false);
    await rules.stop();
    assert.equal(clock.pendingSleepers, 0, "stopped: no evaluation waits");
  });

  it("one slow request at low traffic does not page", async () => {
    const { rules, traffic, firing, signals } = setup();
    rules.start();
    // A quiet service: 10 requests in 5 minutes, one of them taking 5 s — p99 is 5 s, but below min_requests.
    await traffic(300, (t) => (Math.floor(t / 1000) % 30 === 0 ? [bucket("rel_1", t, 1, 0, Math.floor(t / 1000) % 300 === 0 ? 5000 : 20)] : []));
    const last = rules.evaluate().find((e) => e.rule === "high-latency")!;
    assert.ok(last.requests < 20 && last.requests > 0, `quiet: ${last.requests} requests`);
    assert.equal(firing("high-latency"), false);
    assert.ok(!signals.some((s) => s.active), "no signal ever fired");
    await rules.stop();
  });

  it("a few slow requests among a few dozen do not page: the rule needs 5 of them", async () => {
    const { rules, traffic, firing, clock } = setup();
    // 60 requests over a minute; 2 take 3 s: p99 is 5 s (the slowest bucket), but 2 < 5 bad requests.
    await traffic(60, (t) => [bucket("rel_1", t, 1, 0, Math.floor(t / 1000) % 30 === 0 ? 3000 : 20)]);
    const look = rules.evaluate().find((e) => e.rule === "high-latency")!;
    assert.deepEqual([look.value, look.requests, look.bad, look.firing], [5000, 60, 2, false]);
    // Three more slow ones: 5 requests slower than 1 s, and more than 1% of the window's: it pages.
    for (let i = 0; i < 3; i++) {
      await traffic(1, (t) => [bucket("rel_1", t, 1, 0, 3000)]);
    }
    await clock.advance(15_000);
    const paged = rules.evaluate().find((e) => e.rule === "high-latency")!;
    assert.deepEqual([paged.bad, paged.firing], [5, true]);
    assert.equal(firing("high-latency"), true);
  });

  it("fires error-rate above 5% and says the value, and resolves when the errors stop", async () => {
    const { rules, traffic, firing, signals } = setup();
    rules.start();
    await traffic(30, (t) => [bucket("rel_1", t, 9, 1, 10)]); // 10% errors
    assert.equal(firing("error-rate"), true);
    assert.equal(signals.filter((s) => s.rule === "error-rate" && s.active).at(-1)!.annotations.value, "10%");
    await traffic(300, (t) => [bucket("rel_1", t, 10, 0, 10)]);
    assert.equal(firing("error-rate"), false);
    await rules.stop();
  });

  it("declared rules override a default key by key, add their own, and default_rules: false drops the defaults", async () => {
    const rules = resolveMetricRules(
      rulesConfigSchema.parse({
        rules: [
          { name: "high-latency", threshold: "2s", severity: "ticket" },
          { name: "slow-api", metric: "p95", op: ">", threshold: "300ms", for: "1m", services: ["web"] },
          { name: "no-traffic", metric: "rps", op: "<", threshold: 0.5, environments: ["production"] },
        ],
      }),
    );
    const latency = rules.find((r) => r.name === "high-latency")!;
    assert.deepEqual([latency.metric, latency.threshold, latency.forMs, latency.severity, latency.minRequests, latency.minBad], ["p99", 2000, 300_000, "ticket", 20, 5]);
    assert.deepEqual(
      rules.map((r) => r.name),
      ["high-latency", "error-rate", "slow-api", "no-traffic"],
    );
    assert.equal(rules.find((r) => r.name === "no-traffic")!.minRequests, 0, "a rule on traffic itself has no traffic floor");
    assert.equal(rules.find((r) => r.name === "no-traffic")!.minBad, 0);
    assert.equal(rules.find((r) => r.name === "slow-api")!.minBad, 5);
    assert.deepEqual(resolveMetricRules(rulesConfigSchema.parse({ default_rules: false, rules: [{ name: "slow-api", metric: "p95", op: ">", threshold: "300ms" }] })).map((r) => r.name), ["slow-api"]);

    // The overridden threshold holds: 2 s requests do not cross "> 2s" (the bucket's upper bound is 2 s).
    const { traffic, firing, rules: source } = setup({ rules: [{ name: "high-latency", threshold: "2s" }, { name: "no-traffic", metric: "rps", op: "<", threshold: 0.5, services: ["api"] }] }, { web: ["rel_1"], api: ["rel_9"] });
    source.start();
    await traffic(30, (t) => [bucket("rel_1", t, 10, 0, 1500)]);
    assert.equal(firing("high-latency"), false);
    assert.equal(firing("no-traffic"), true, "api gets no request at all");
    assert.equal(source.evaluate().filter((e) => e.rule === "no-traffic").map((e) => e.service).join(), "api", "services: limits a rule");
    await source.stop();
  });

  it("resolves what fired for a service that is no longer declared", async () => {
    const clock = new ManualClock();
    const window = new MetricsWindow({ clock });
    const releases: Record<string, string[]> = { web: ["rel_1"] };
    const signals: AlertSignal[] = [];
    const source = new MetricRules({ rules: resolveMetricRules(rulesConfigSchema.parse({})), traffic: windowTraffic(window, releases), sink: { report: (s) => signals.push(s) }, clock });
    window.add([bucket("rel_1", clock.now(), 50, 50, 10)]);
    await clock.advance(1000);
    source.evaluate();
    assert.equal(signals.filter((s) => s.rule === "error-rate").at(-1)!.active, true);
    delete releases.web;
    source.evaluate();
    const last = signals.at(-1)!;
    assert.deepEqual([last.rule, last.active, last.labels.service], ["error-rate", false, "web"]);
  });
});
