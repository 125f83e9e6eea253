/**
 * Engine restarts under load: the engine (`engineroom up`, a child process) is killed with SIGKILL or
 * stopped with SIGINT, then started again, round after round, while wrk keeps 64 keep-alive
 * connections on the proxy. Prints failed requests (target 0), whether the instances were adopted
 * (same pids, none restarted), and the time from starting `up` to "adopted and serving" (engine.json
 * written after recovery), against the same project's first, cold `up --deploy` in the same run.
 *
 *   node --import tsx bench/engine-restart.ts [--rounds 6]
 *
 * Needs wrk (Debian: apt-get install wrk). Loopback only; wrk is bounded by -d and stopped early.
 */
import { spawn, spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { CliProject } from "../test/helpers/cli.js";
import { get } from "../test/helpers/load.js";
import { waitFor } from "../test/helpers/wait.js";
import { fmt, median, parseWrk } from "./stats.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "6" } } });
const rounds = Number(values.rounds);
if (spawnSync("wrk", ["--version"]).error) {
  console.error("wrk is not installed (apt-get install wrk)");
  process.exit(2);
}

const project = new CliProject();
const pids = async () => {
  const status = await project.status();
  return status.environments[0]!.services[0]!.instances.map((i) => `${i.id}:${i.pid}`).sort().join(",");
};

// `up --deploy` writes engine.json before it deploys: the cold start ends when v1 answers.
let t0 = performance.now();
await project.up({ args: ["--deploy"] });
await waitFor("v1 serving", async () => (await get(project.proxyUrl() + "/").catch(() => ({ version: undefined }))).version === "v1", 60_000);
const coldMs = performance.now() - t0;
const before = await pids();

const wrk = spawn("wrk", ["-t2", "-c64", "-d600s", "--latency", project.proxyUrl() + "/"], { stdio: ["ignore", "pipe", "pipe"] });
let wrkOutput = "";
wrk.stdout.on("data", (chunk) => (wrkOutput += chunk));
const wrkDone = new Promise<void>((resolve) => wrk.on("exit", () => resolve()));
await new Promise((r) => setTimeout(r, 1000));

const restartMs: Record<string, number[]> = { SIGKILL: [], SIGINT: [] };
let adoptedEveryTime = true;
for (let round = 0; round < rounds; round++) {
  const signal = round % 2 === 0 ? "SIGKILL" : "SIGINT";
  await project.kill(signal);
  await new Promise((r) => setTimeout(r, 500)); // no engine at all for half a second
  t0 = performance.now();
  await project.up();
  const ms = performance.now() - t0;
  restartMs[signal]!.push(ms);
  const same = (await pids()) === before;
  adoptedEveryTime &&= same;
  process.stderr.write(`round ${round + 1}: ${signal}, up again in ${fmt(ms)}, instances ${same ? "adopted" : "CHANGED"}\n`);
}
await new Promise((r) => setTimeout(r, 1000));
wrk.kill("SIGINT");
await wrkDone;
const left = await project.cleanup();
const summary = parseWrk(wrkOutput);
const socketErrors = Object.values(summary.socketErrors).reduce((a, b) => a + b, 0);

console.log(`\nengine restarts: ${rounds} rounds (SIGKILL and SIGINT in turn) under wrk -c64`);
console.log(`  requests               ${summary.requests} (${summary.rps.toFixed(0)} req/s)`);
console.log(`  failed (non-2xx)       ${summary.non2xx}        target 0`);
console.log(`  socket errors          ${socketErrors} ${JSON.stringify(summary.socketErrors)}        target 0`);
console.log(`  instances adopted      ${adoptedEveryTime ? "every round (same pids)" : "NOT every round"}`);
console.log(`  up → adopted, serving  median ${fmt(median([...restartMs.SIGKILL!, ...restartMs.SIGINT!]))} (after SIGKILL ${fmt(median(restartMs.SIGKILL!))}, after SIGINT ${fmt(median(restartMs.SIGINT!))})`);
console.log(`  baseline: cold up --deploy of the same project ${fmt(coldMs)}`);
console.log(`  processes left after down: ${left.length}`);
process.exit(summary.non2xx === 0 && socketErrors === 0 && adoptedEveryTime && left.length === 0 ? 0 : 1);
