import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadProject } from "../../src/config/index.js";
import { silentLogger } from "../../src/core/index.js";
import type { DeployResult } from "../../src/deploy/index.js";
import { Engine } from "../../src/engine/index.js";
import { get } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";
import { freePort } from "../helpers/ports.js";

const prometheusBinary = spawnSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).stdout.trim();


/** The value of one sample line of the exposition, e.g. `engineroom_requests_total{...,class="2xx"}`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("GET /metrics, scraped by a real Prometheus", { skip: prometheusBinary ? false : "prometheus not installed: apt-get install prometheus (Debian) to run this test" }, () => {
  let p: TestProject;
  let releaseId: string;
  let prometheus: ChildProcess | undefined;
  let promDir: string;
  let output = "";

  const metrics = async (token: string | null = p.token) => {
    const res = await fetch(`http://${p.apiAddress}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };

  before(async () => {
    p = await startProject(testConfig("", "slos:\n  web-availability:\n    service: web\n    kind: availability\n    target: 99.9\n"));
    const result = await p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1", errorEvery: 10 }) }, () => {});
    releaseId = result.release.id;
    promDir = mkdtempSync(join(tmpdir(), "engineroom-scrape-"));
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once("exit", r));
      prometheus.kill("SIGTERM");
      const timer = setTimeout(() => prometheus!.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(promDir, { recursive: true, force: true });
    await p.cleanup();
  });

  it("needs the API token", async () => {
    const answer = await metrics(null);
    assert.equal(answer.status, 401);
    assert.match(answer.text, /API_UNAUTHORIZED/);
    assert.equal((await metrics("wrong")).status, 401);
  });

  it("counts the requests that went through the proxy, by release and status class, with a latency histogram", async () => {
    const seen = { 200: 0, 500: 0 } as Record<number, number>;
    for (let i = 0; i < 40; i++) seen[(await get(p.proxyUrl + "/")).status]! += 1;
    assert.equal(seen[200]! + seen[500]!, 40);
    assert.ok(seen[500]! > 0, "the app answers 500 to every 10th request");
    const labels = { service: "web", environment: "production", release: releaseId };
    let text = "";
    // The proxies send their buckets about once a second.
    await waitFor("the requests in /metrics", async () => {
      text = (await metrics()).text;
      return (sample(text, "engineroom_requests_total", { ...labels, class: "2xx" }) ?? 0) + (sample(text, "engineroom_requests_total", { ...labels, class: "5xx" }) ?? 0) >= 40;
    });
    const answer = await metrics();
    assert.equal(answer.status, 200);
    assert.match(answer.type ?? "", /^text\/plain; version=0\.0\.4/);
    text = answer.text;
    assert.match(text, /# TYPE engineroom_requests_total counter/);
    assert.match(text, /# TYPE engineroom_request_duration_seconds histogram/);
    const ok = sample(text, "engineroom_requests_total", { ...labels, class: "2xx" })!;
    const failed = sample(text, "engineroom_requests_total", { ...labels, class: "5xx" })!;
    // Smoke tests and the release's health probes go straight to the instances; the service's own
    // check (GET /healthz through the proxy, the path a user takes, 200) may add a few 2xx.
    assert.equal(failed, seen[500]);
    assert.ok(ok >= seen[200]! && ok <= seen[200]! + 3, `2xx: ${ok}, ours ${seen[200]}`);
    assert.equal(sample(text, "engineroom_requests_total", { ...labels, class: "upstream_error" }), 0);
    assert.equal(sample(text, "engineroom_release_info", { ...labels, version: "v1", role: "live" }), 1, "the release id's version");
    assert.equal(sample(text, "engineroom_request_duration_seconds_count", labels), ok + failed);
    assert.equal(sample(text, "engineroom_request_duration_seconds_bucket", { ...labels, le: "+Inf" }), ok + failed);
    assert.ok(sample(text, "engineroom_request_duration_seconds_bucket", { ...labels, le: "0.001" })! <= ok + failed);
  });

  it("Prometheus scrapes it with the token file and answers a query for the request counter", async () => {
    const port = await freePort();
    const tokenFile = join(p.engine.project.stateDir, "api-token");
    writeFileSync(
      join(promDir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "scrape_configs:",
        "  - job_name: engineroom",
        "    metrics_path: /metrics",
        `    authorization: { type: Bearer, credentials_file: ${tokenFile} }`,
        "    static_configs:",
        `      - targets: ["${p.apiAddress}"]`,
        "",
      ].join("\n"),
    );
    const flags = [`--config.file=${join(promDir, "prometheus.yml")}`, `--storage.tsdb.path=${join(promDir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"];
    prometheus = spawn(prometheusBinary, flags, { stdio: ["ignore", "pipe", "pipe"] });
    prometheus.stdout!.on("data", (d) => (output += d));
    prometheus.stderr!.on("data", (d) => (output += d));

    const query = async (promql: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data.result;
    };
    let up: string | undefined;
    await waitFor(`Prometheus to scrape the engine (output: ${output})`, async () => {
      up = (await query('up{job="engineroom"}').catch(() => []))[0]?.value[1];
      return up === "1";
    }, 30_000);
    const result = await query(`sum by (release) (engineroom_requests_total{service="web",environment="production",class=~"2xx|5xx"})`);
    assert.equal(result.length, 1);
    assert.equal(result[0]!.metric.release, releaseId);
    assert.ok(Number(result[0]!.value[1]) >= 40, `Prometheus has our 40 requests (and the service check's): ${result[0]!.value[1]}`);
    const p99 = await query(`histogram_quantile(0.99, sum by (le) (engineroom_request_duration_seconds_bucket{service="web"}))`);
    assert.ok(Number(p99[0]!.value[1]) > 0 && Number(p99[0]!.value[1]) <= 10, `a latency quantile Prometheus can compute: ${JSON.stringify(p99)}`);
  });

  it("every service gets a high-latency alert: slow requests through the proxy page within one evaluation", async () => {
    // 25 requests of 1.1 s: above the default rule's 20-request floor, every one slower than 1 s.
    const answers = await Promise.all(Array.from({ length: 25 }, () => get(p.proxyUrl + "/slow?ms=1100")));
    assert.ok(answers.every((a) => a.status === 200));
    type Listed = { alerts: { rule: string; severity: string; state: string; labels: Record<string, string>; annotations: Record<string, string> }[] };
    let latency: Listed["alerts"][number] | undefined;
    await waitFor("the high-latency alert", async () => {
      latency = (await p.api.get<Listed>("/v1/alerts")).alerts.find((a) => a.rule === "high-latency");
      return latency !== undefined;
    }, 30_000);
    assert.deepEqual([latency!.severity, latency!.state, latency!.labels.service, latency!.labels.environment], ["page", "firing", "web", "production"]);
    assert.equal(latency!.annotations.threshold, "> 1s");
    assert.equal(latency!.annotations.window, "5m");
  });

  it("a failed deploy becomes a firing ticket alert, counted in /metrics and in Prometheus, beside the SLO's budget", async () => {
    await assert.rejects(p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact: p.artifact({ version: "v2", healthStatus: 503 }) }, () => {}));
    let text = "";
    await waitFor("the deploy-failed alert in /metrics", async () => {
      text = (await metrics()).text;
      return (sample(text, "engineroom_alerts", { state: "firing", severity: "ticket" }) ?? 0) >= 1;
    });
    const checks = ["pending", "up", "down"].reduce((n, state) => n + (sample(text, "engineroom_checks", { state }) ?? 0), 0);
    assert.ok(checks >= 1, "the service's own checks are counted by state");
    const budget = sample(text, "engineroom_slo_budget_remaining_ratio", { slo: "web-availability", environment: "production" });
    assert.ok(budget !== undefined && budget <= 1, `the SLO's budget left is exported: ${budget}`);
    const port = Number(/--web\.listen-address=127\.0\.0\.1:(\d+)/.exec(prometheus!.spawnargs.join(" "))![1]);
    await waitFor("Prometheus to see the alert", async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('engineroom_alerts{state="firing",severity="ticket"}')}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return Number(body.data.result[0]?.value[1] ?? 0) >= 1;
    }, 15_000);
  });
});

describe("alert rules: config", () => {
  it("refuses a bad metric rule at start, naming its path", { timeout: 60_000 }, async () => {
    const bad = [
      "alerts:",
      "  rules:",
      "    - { name: slow, metric: p95, op: \">\", threshold: 1s, services: [wbe] }",
      "    - { name: errors, metric: error_rate, op: \">\", threshold: 5 }",
      "",
    ].join("\n");
    const dir = mkdtempSync(join(tmpdir(), "engineroom-rules-"));
    const file = join(dir, "engineroom.yaml");
    writeFileSync(file, testConfig("", bad));
    const error = (await Engine.start({ project: loadProject(file), logger: silentLogger }).then(
      async (engine) => {
        await engine.stop();
        assert.fail("expected CONFIG_INVALID");
      },
      (e) => e,
    )) as { code: string; message: string };
    rmSync(dir, { recursive: true, force: true });
    assert.equal(error.code, "CONFIG_INVALID");
    assert.match(error.message, /alerts\.rules\.1\.threshold: an error rate is a ratio from 0 to 1 \(0\.05 for 5%\), not 5/);
  });

  it("names an undeclared service of a rule by its path", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "engineroom-rules-"));
    const file = join(dir, "engineroom.yaml");
    writeFileSync(file, testConfig("", "alerts:\n  rules:\n    - { name: slow, metric: p95, op: \">\", threshold: 1s, services: [wbe] }\n"));
    const error = (await Engine.start({ project: loadProject(file), logger: silentLogger }).then(
      async (engine) => {
        await engine.stop();
        assert.fail("expected CONFIG_INVALID");
      },
      (e) => e,
    )) as { code: string; message: string };
    rmSync(dir, { recursive: true, force: true });
    assert.equal(error.code, "CONFIG_INVALID");
    assert.match(error.message, /alerts\.rules\.0\.services\.0: no service named "wbe" \(declared: web\)/);
  });
});
