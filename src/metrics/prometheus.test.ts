import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isEngineError } from "../core/index.js";
import { latencyBoundsMs } from "./histogram.js";
import { expand, PrometheusMetricSource, toLatencyHistogram, type PrometheusOptions } from "./prometheus.js";

const labels = '{service="{{service}}",environment="{{environment}}",release="{{release}}"}';
const queries = {
  requests: `sum(increase(app_requests_total${labels}[{{window}}]))`,
  errors: `sum(increase(app_requests_total{service="{{service}}",environment="{{environment}}",release="{{release}}",code=~"5.."}[{{window}}]))`,
  latencyBuckets: `sum by (le) (increase(app_request_duration_seconds_bucket${labels}[{{window}}]))`,
};
const query = (releaseId: string, fromMs: number, toMs: number) => ({ service: "web", environment: "production", releaseId, fromMs, toMs });

/** Our histogram with `count` requests in the bucket whose upper bound is `boundMs` (Infinity: the open one). */
function ours(...entries: [boundMs: number, count: number][]): number[] {
  const counts = new Array<number>(latencyBoundsMs.length + 1).fill(0);
  for (const [bound, count] of entries) counts[bound === Infinity ? latencyBoundsMs.length : latencyBoundsMs.indexOf(bound as (typeof latencyBoundsMs)[number])]! += count;
  return counts;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function expectUnavailable(promise: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(promise, (error) => {
    assert.ok(isEngineError(error), String(error));
    assert.equal(error.code, "METRICS_UNAVAILABLE");
    assert.match(error.message, pattern);
    return true;
  });
}

/**
 * A tiny app exposing Prometheus text: a request counter by release and status code, and a latency
 * histogram with Prometheus's default buckets (seconds), which differ from ours in places.
 */
class TestApp {
  static readonly bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  #series = new Map<string, { requests: Map<string, number>; buckets: number[]; sum: number }>();
  server: Server = createServer((req, res) => {
    res.writeHead(req.url === "/metrics" ? 200 : 404, { "content-type": "text/plain; version=0.0.4" });
    res.end(req.url === "/metrics" ? this.exposition() : "");
  });

  /** Makes a release's series exist at zero: increase() counts only what happens after a series' first scrape. */
  declare(release: string, codes: string[]) {
    this.#series.set(release, { requests: new Map(codes.map((c) => [c, 0])), buckets: new Array<number>(TestApp.bounds.length + 1).fill(0), sum: 0 });
  }

  record(release: string, code: string, seconds: number, times: number) {
    const s = this.#series.get(release)!;
    s.requests.set(code, (s.requests.get(code) ?? 0) + times);
    TestApp.bounds.forEach((le, i) => seconds <= le && (s.buckets[i]! += times));
    s.buckets[TestApp.bounds.length]! += times;
    s.sum += seconds * times;
  }

  exposition(): string {
    const lines = ["# TYPE app_requests_total counter", "# TYPE app_request_duration_seconds histogram"];
    for (const [release, s] of this.#series) {
      const l = `service="web",environment="production",release="${release}"`;
      for (const [code, n] of s.requests) lines.push(`app_requests_total{${l},code="${code}"} ${n}`);
      [...TestApp.bounds, "+Inf"].forEach((le, i) => lines.push(`app_request_duration_seconds_bucket{${l},le="${le}"} ${s.buckets[i]}`));
      lines.push(`app_request_duration_seconds_sum{${l}} ${s.sum}`, `app_request_duration_seconds_count{${l}} ${s.buckets.at(-1)}`);
    }
    return lines.join("\n") + "\n";
  }
}

const prometheusBinary = spawnSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).stdout.trim();

describe("PrometheusMetricSource against a real Prometheus", { skip: prometheusBinary ? false : "prometheus not installed: apt-get install prometheus (Debian) to run these tests" }, () => {
  const app = new TestApp();
  let dir: string;
  let prometheus: ChildProcess;
  let url: string;
  let output = "";
  let appStartedMs: number;
  let seenAtMs: number;

  /** An instant query straight to the API, for the test's own waiting. */
  const instant = async (promql: string): Promise<number | undefined> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    return body.data.result[0] ? Number(body.data.result[0].value[1]) : undefined;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "engineroom-prometheus-"));
    app.declare("rel_1", ["200", "500"]);
    app.declare("rel_0", ["200", "500"]);
    appStartedMs = Date.now();
    await new Promise<void>((resolve) => app.server.listen(0, "127.0.0.1", resolve));
    const appPort = (app.server.address() as AddressInfo).port;
    writeFileSync(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ["127.0.0.1:${appPort}"]\n`);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const flags = [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"];
    prometheus = spawn(prometheusBinary, flags, { stdio: ["ignore", "pipe", "pipe"] });
    prometheus.stdout!.on("data", (d) => (output += d));
    prometheus.stderr!.on("data", (d) => (output += d));
    try {
      await eventually(async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 20_000, "Prometheus to be ready");
      // Both releases' series scraped at zero before any traffic, so increase() sees all of it.
      await eventually(async () => ((await instant('count(app_requests_total{release="rel_1"})')) === 2 ? true : undefined), 10_000, "the first scrape");
      seenAtMs = Date.now();
      await new Promise((r) => setTimeout(r, 2_000));
    } catch (error) {
      throw new Error(`${(error as Error).message}; Prometheus printed:\n${output}`);
    }
    app.record("rel_1", "200", 0.03, 50); // (25, 50] ms in both bucket schemes
    app.record("rel_1", "200", 0.08, 100); // (50, 100] in both
    app.record("rel_1", "200", 0.4, 50); // Prometheus (250, 500]; ours splits it at 300
    app.record("rel_1", "500", 12, 15); // above every finite bound
    app.record("rel_0", "200", 0.001, 1000); // another release: must not be counted
    await eventually(async () => ((await instant('sum(app_requests_total{release="rel_1"})')) === 215 ? true : undefined), 10_000, "a scrape with the traffic");
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus.once("exit", r));
      prometheus.kill("SIGTERM");
      const timer = setTimeout(() => prometheus.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((r) => app.server.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("counts requests, errors and latency exactly up to the last scrape", async () => {
    // Ending the range at the last scrape leaves increase() nothing to extrapolate: the first sample is
    // 0 (extrapolation towards the start stops at zero) and there is no gap at the end.
    const lastScrapeMs = Math.round((await instant('max(timestamp(app_requests_total{release="rel_1"}))'))! * 1000);
    const source = new PrometheusMetricSource({ url, ...queries });
    const sample = await source.sample(query("rel_1", appStartedMs, lastScrapeMs));
    assert.deepEqual(sample, {
      requests: 215,
      errors: 15,
      // 400 ms requests sit in Prometheus's (250, 500] bucket; our bound 300 lies inside it, so a fifth
      // of them (50/250 of the bucket's width) is put in (200, 300] by linear interpolation.
      latency: ours([50, 50], [100, 100], [300, 10], [500, 40], [Infinity, 15]),
      fromMs: appStartedMs,
      toMs: lastScrapeMs,
    });
  });

  it("over-counts by at most increase()'s extrapolation when the range ends after the last scrape", async () => {
    // With the range ending now, increase() stretches (last − first) over the gap after the last
    // scrape: by the factor (sampled + gap) / sampled, the gap being under 1.1 scrape intervals (1.1 s).
    // The samples span at least from when the series were first seen to the scrape with the traffic.
    const nowMs = Date.now();
    const lastScrapeMs = (await instant('max(timestamp(app_requests_total{release="rel_1"}))'))! * 1000;
    const factor = 1 + 1_100 / (lastScrapeMs - seenAtMs);
    const sample = await new PrometheusMetricSource({ url, ...queries }).sample(query("rel_1", appStartedMs, nowMs));
    for (const [what, got, exact] of [["requests", sample.requests, 215], ["errors", sample.errors, 15], ["latency", sample.latency.reduce((a, b) => a + b, 0), 215]] as const) {
      assert.ok(got >= exact && got <= Math.ceil(exact * factor), `${what}: ${got} not in [${exact}, ${exact} × ${factor.toFixed(3)}]`);
    }
  });

  it("answers zeros for a release without series", async () => {
    const sample = await new PrometheusMetricSource({ url, ...queries }).sample(query("rel_none", appStartedMs, Date.now()));
    assert.deepEqual([sample.requests, sample.errors, sample.latency.every((n) => n === 0)], [0, 0, true]);
  });

  it("rejects a query Prometheus cannot parse with METRICS_UNAVAILABLE and its reason", async () => {
    const source = new PrometheusMetricSource({ url, ...queries, errors: "sum(increase(app_requests_total[{{window}}]" });
    await expectUnavailable(source.sample(query("rel_1", appStartedMs, Date.now())), /refused the query: bad_data: .*\(query errors\)/);
  });

  it("rejects latency buckets that lost their le label", async () => {
    const source = new PrometheusMetricSource({ url, ...queries, latencyBuckets: `sum(increase(app_request_duration_seconds_bucket${labels}[{{window}}]))` });
    await expectUnavailable(source.sample(query("rel_1", appStartedMs, Date.now())), /without an `le` label/);
  });

  it("rejects a range vector where an instant one is due", async () => {
    const source = new PrometheusMetricSource({ url, ...queries, requests: "app_requests_total[{{window}}]" });
    await expectUnavailable(source.sample(query("rel_1", appStartedMs, Date.now())), /answered a matrix where an instant vector or scalar was expected/);
  });
});

describe("PrometheusMetricSource failures", () => {
  it("rejects an unreachable server with METRICS_UNAVAILABLE, never showing the URL's password", async () => {
    const port = await freePort();
    const source = new PrometheusMetricSource({ url: `http://admin:s3cret@127.0.0.1:${port}/prom/`, ...queries, timeoutMs: 2_000 });
    await assert.rejects(source.sample(query("rel_1", 0, 60_000)), (error) => {
      assert.ok(isEngineError(error) && error.code === "METRICS_UNAVAILABLE");
      assert.match(error.message, new RegExp(`^Prometheus at http://127\\.0\\.0\\.1:${port}/prom could not be reached`));
      assert.doesNotMatch(JSON.stringify(error.toJSON()), /s3cret/);
      return true;
    });
  });

  it("gives up after timeoutMs on a server that never answers", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const source = new PrometheusMetricSource({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, ...queries, timeoutMs: 200 });
      await expectUnavailable(source.sample(query("rel_1", 0, 60_000)), /did not answer within 200 ms/);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it("rejects an answer that is not Prometheus's API", async () => {
    const other = createServer((_req, res) => res.writeHead(404).end("<html>not found</html>"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const source = new PrometheusMetricSource({ url: `http://127.0.0.1:${(other.address() as AddressInfo).port}`, ...queries });
      await expectUnavailable(source.sample(query("rel_1", 0, 60_000)), /answered HTTP 404 without a Prometheus API response/);
    } finally {
      other.closeAllConnections();
      await new Promise((r) => other.close(r));
    }
  });
});

describe("expand", () => {
  it("fills the placeholders, escaping label values, and writes the window in ms", () => {
    const q = { service: 'we"b', environment: "prod\\x", releaseId: "rel_1", fromMs: 1_000, toMs: 91_000 };
    assert.equal(expand('x{s="{{service}}",e="{{environment}}",r="{{release}}"}[{{window}}] {{other}}', q), 'x{s="we\\"b",e="prod\\\\x",r="rel_1"}[90000ms] {{other}}');
  });
});

describe("toLatencyHistogram", () => {
  const cumulative = (...points: [le: number, count: number][]) => points.map(([leMs, count]) => ({ leMs, count }));
  /** Our cumulative count up to and including the bucket with upper bound `boundMs`. */
  const upTo = (counts: number[], boundMs: number) => counts.slice(0, latencyBoundsMs.indexOf(boundMs as (typeof latencyBoundsMs)[number]) + 1).reduce((a, b) => a + b, 0);

  it("keeps cumulative counts exact where a bound is both theirs and ours, interpolating between", () => {
    const counts = toLatencyHistogram(cumulative([5, 3], [50, 10], [1000, 12], [Infinity, 13]));
    assert.deepEqual([upTo(counts, 5), upTo(counts, 50), upTo(counts, 1000), counts.reduce((a, b) => a + b, 0)], [3, 10, 12, 13]);
    // (5, 50] holds 7: our bounds 10 and 20 cut it at 5/45 and 15/45 → 3.78 and 5.33, rounded to 4 and 5.
    assert.deepEqual(counts.slice(3, 6), [1, 1, 5]);
  });

  it("interpolates inside a wider bucket, rounding to whole requests that still add up", () => {
    // 100 requests in (250, 500]: our bound 300 takes 20 of them below it.
    assert.deepEqual(toLatencyHistogram(cumulative([250, 0], [500, 100], [Infinity, 100])), ours([300, 20], [500, 80]));
  });

  it("puts requests above the highest finite bound in our bucket just above it", () => {
    const counts = toLatencyHistogram(cumulative([100, 10], [Infinity, 14]));
    assert.deepEqual([upTo(counts, 100), counts[latencyBoundsMs.indexOf(200)], counts.at(-1)], [10, 4, 0]);
    assert.equal(toLatencyHistogram(cumulative([10_000, 5], [Infinity, 7])).at(-1), 2, "with our top bound, into the open bucket");
  });

  it("mends the small decreases increase() can leave between buckets, and answers zeros without data", () => {
    const counts = toLatencyHistogram(cumulative([50, 10], [100, 9.6], [Infinity, 10]));
    assert.ok(counts.every((n) => n >= 0 && Number.isInteger(n)));
    assert.deepEqual([upTo(counts, 50), upTo(counts, 100), counts.reduce((a, b) => a + b, 0)], [10, 10, 10]);
    assert.deepEqual(toLatencyHistogram([]), ours());
  });
});
