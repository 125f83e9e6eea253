/**
 * Zero-downtime benchmark: 20 deploys and 5 warm rollbacks in a row under wrk keep-alive load at
 * 64 connections, against instances that take 20 ms per request. Prints failed requests, socket
 * errors, switch latency (decision → every proxy worker acknowledged) p50/p99, and warm rollback
 * latency (command → traffic on the old release).
 *
 *   node --import tsx bench/zero-downtime.ts [--deploys 20] [--rollbacks 5] [--workers 2]
 *
 * Needs wrk (Debian: apt-get install wrk). Loopback only; wrk is bounded by -d and stopped early.
 */
import { spawn, spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import type { DeployResult, RollbackResult } from "../src/deploy/index.js";
import { startProject, testConfig } from "../test/helpers/project.js";
import { fmt, median, parseWrk, percentile } from "./stats.js";

const { values } = parseArgs({
  options: { deploys: { type: "string", default: "20" }, rollbacks: { type: "string", default: "5" }, workers: { type: "string", default: "2" } },
});
const deploys = Number(values.deploys);
const rollbacks = Number(values.rollbacks);
if (spawnSync("wrk", ["--version"]).error) {
  console.error("wrk is not installed (apt-get install wrk)");
  process.exit(2);
}

const config = testConfig()
  .replace("workers: 1", "")
  .replace("listen: 127.0.0.1:0\napi:", `listen: 127.0.0.1:0\n  workers: ${values.workers}\napi:`)
  .replace("watch: 5m", "watch: 1h")
  .replace("drain_timeout: 5s", "drain_timeout: 10s");
const project = await startProject(config);
const api = project.api;
const deploy = (version: string) =>
  api.stream<DeployResult>("/v1/services/web/deploys", { artifact: project.artifact({ version, delayMs: 20 }) }, () => {});
const rollback = () => api.stream<RollbackResult>("/v1/services/web/rollback", {}, () => {});

const switchAcks: number[] = [];
const rollbackLatencies: number[] = [];
let n = 0;
await deploy(`v${++n}`);

const maxSeconds = 600;
const wrk = spawn("wrk", ["-t2", "-c64", `-d${maxSeconds}s`, "--latency", project.proxyUrl + "/"], { stdio: ["ignore", "pipe", "pipe"] });
let wrkOutput = "";
wrk.stdout.on("data", (chunk) => (wrkOutput += chunk));
const wrkDone = new Promise<void>((resolve) => wrk.on("exit", () => resolve()));
await new Promise((r) => setTimeout(r, 1000));

const started = Date.now();
const plan: ("deploy" | "rollback")[] = [];
for (let i = 0; i < deploys; i++) plan.push("deploy");
// Spread the rollbacks over the run, each right after a deploy so its target is warm.
for (let i = 0; i < rollbacks; i++) plan.splice(Math.round(((i + 1) * deploys) / (rollbacks + 1)) + i, 0, "rollback");
for (const step of plan) {
  if (step === "deploy") {
    const result = await deploy(`v${++n}`);
    switchAcks.push(result.ackMs);
    process.stderr.write(`deploy   v${result.release.number}: switch acked in ${fmt(result.ackMs)}\n`);
  } else {
    const t0 = performance.now();
    const result = await rollback();
    // The API answers once every proxy worker acknowledged the table that routes to the old release:
    // from then on every new request goes there. A request through the proxy proves it.
    const latency = performance.now() - t0;
    const answer = await fetch(project.proxyUrl + "/");
    const version = answer.headers.get("x-version");
    await answer.text();
    if (version !== `v${result.to.number}`) throw new Error(`after rollback to v${result.to.number} the proxy answered ${version}`);
    rollbackLatencies.push(latency);
    switchAcks.push(result.ackMs);
    process.stderr.write(`rollback v${result.from.number} → v${result.to.number} (${result.warm ? "warm" : "cold"}): traffic back in ${fmt(latency)}\n`);
  }
}
await new Promise((r) => setTimeout(r, 1000));
wrk.kill("SIGINT");
await wrkDone;
const elapsed = (Date.now() - started) / 1000;
const summary = parseWrk(wrkOutput);
await project.cleanup();

const socketErrors = Object.values(summary.socketErrors).reduce((a, b) => a + b, 0);
console.log(`\nzero-downtime: ${deploys} deploys + ${rollbacks} rollbacks in ${elapsed.toFixed(1)}s under wrk -c64 (upstream 20 ms/request, ${values.workers} proxy workers)`);
console.log(`  requests            ${summary.requests} (${summary.rps.toFixed(0)} req/s)`);
console.log(`  failed (non-2xx)    ${summary.non2xx}        target 0`);
console.log(`  socket errors       ${socketErrors} ${JSON.stringify(summary.socketErrors)}        target 0`);
console.log(`  switch ack p50      ${fmt(median(switchAcks))}`);
console.log(`  switch ack p99      ${fmt(percentile(switchAcks, 0.99))}        target < 10 ms  (n=${switchAcks.length})`);
console.log(`  warm rollback p50   ${fmt(median(rollbackLatencies))}        target < 100 ms (command → traffic on the old release, n=${rollbackLatencies.length})`);
console.log(`  warm rollback max   ${fmt(Math.max(...rollbackLatencies))}`);
console.log(`  request latency     p50 ${fmt(summary.latencyP50Ms ?? NaN)}  p99 ${fmt(summary.latencyP99Ms ?? NaN)} (wrk)`);
process.exit(summary.non2xx === 0 && socketErrors === 0 ? 0 : 1);
