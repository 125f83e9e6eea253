/**
 * Watchful releases benchmark, end to end on this machine at about 100 requests/s through the proxy:
 *  - detection: for faulty releases (5% errors; +200 ms latency), the time from the switch (the
 *    first faulty answers follow it at once) to traffic back on the old release;
 *  - false rollbacks: healthy releases with realistic noise (0.2% random errors, exponential latency
 *    jitter of 5 ms mean) watched for their whole window, and how many were rolled back.
 *
 *   node --import tsx bench/watch.ts [--faulty 10] [--healthy 100] [--watch 10s]
 *
 * Loopback only; the load is paced and bounded in time.
 */
import { parseArgs } from "node:util";
import type { DeployResult } from "../src/deploy/index.js";
import type { EngineEvent } from "../src/store/index.js";
import { startPacedLoad } from "../test/helpers/load.js";
import { startProject, testConfig, type Behaviour } from "../test/helpers/project.js";
import { median, percentile } from "./stats.js";

const { values } = parseArgs({ options: { faulty: { type: "string", default: "10" }, healthy: { type: "string", default: "100" }, watch: { type: "string", default: "10s" } } });
const faulty = Number(values.faulty);
const healthy = Number(values.healthy);
const watchSeconds = Number.parseFloat(values.watch);
const noise: Partial<Behaviour> = { noiseErrorRate: 0.002, jitterMs: 5 };

const project = await startProject(
  testConfig()
    .replace("watch: 5m", `watch: ${values.watch}`)
    .replace("    restart:\n", "    analysis:\n      interval: 1s\n      baseline: 30s\n    restart:\n"),
);
let n = 0;
const deploy = (behaviour: Omit<Behaviour, "version">) =>
  project.api.stream<DeployResult>("/v1/services/web/deploys", { artifact: project.artifact({ version: `v${++n}`, ...noise, ...behaviour }), watch: true }, () => {}).then(
    (r) => ({ ok: true as const, release: r.release }),
    (e) => ({ ok: false as const, error: e as { code: string; details?: { release?: { id: string } } } }),
  );
const events = async (releaseId: string) =>
  (await project.api.get<{ events: EngineEvent[] }>(`/v1/events?service=web&limit=1000`)).events.filter((e) => e.releaseId === releaseId);

const maxMs = (faulty * 20 + healthy * (watchSeconds + 5) + 120) * 1000;
const load = startPacedLoad(project.proxyUrl, { rps: 100, maxMs });
await deploy({}); // the first release: a baseline for the next
const detection: Record<string, number[]> = { "5% errors": [], "+200 ms": [] };
for (let i = 0; i < faulty; i++) {
  const kind = i % 2 === 0 ? "5% errors" : "+200 ms";
  const outcome = await deploy(kind === "5% errors" ? { errorEvery: 20 } : { delayMs: 200 });
  if (outcome.ok) {
    console.error(`faulty release v${n} (${kind}) was NOT rolled back`);
    continue;
  }
  const id = outcome.error.details?.release?.id ?? "";
  const log = await events(id);
  const live = log.find((e) => e.type === "release.live")!;
  const back = log.find((e) => e.type === "release.rolled-back")!;
  detection[kind]!.push((back.time - live.time) / 1000);
  process.stderr.write(`v${n} ${kind}: rolled back ${((back.time - live.time) / 1000).toFixed(1)} s after its switch\n`);
  await deploy({}); // a healthy release again, as the next baseline
}
let falseRollbacks = 0;
let otherFailures = 0; // e.g. the noise's random 500 hitting a smoke test: the release never went live
for (let i = 0; i < healthy; i++) {
  const outcome = await deploy({});
  if (!outcome.ok && outcome.error.code === "RELEASE_ROLLED_BACK") {
    falseRollbacks++;
    process.stderr.write(`healthy v${n} rolled back: ${outcome.error.code}\n`);
  } else if (!outcome.ok) {
    otherFailures++;
    process.stderr.write(`healthy v${n} did not go live: ${outcome.error.code}\n`);
  }
  if (i % 10 === 9) process.stderr.write(`${i + 1} healthy releases, ${falseRollbacks} rolled back\n`);
}
const totals = await load.stop();
await project.cleanup();

console.log(`\nwatch benchmark: ~100 req/s through the proxy, watch ${values.watch}, verdict every 1 s, ${totals.requests} requests`);
for (const [kind, times] of Object.entries(detection)) {
  console.log(`  ${kind.padEnd(10)} switch → traffic back: median ${median(times).toFixed(1)} s, max ${Math.max(...times).toFixed(1)} s (n=${times.length})   target ≤ 15 s`);
}
const judged = healthy - otherFailures;
console.log(`  false rollbacks     ${falseRollbacks} of ${judged} healthy releases that went live (${((100 * falseRollbacks) / Math.max(1, judged)).toFixed(1)}%)   target ≤ 1%`);
console.log(`  did not go live     ${otherFailures} (their smoke test met the noise's random errors)`);
console.log(`  p95 of detection    ${percentile([...detection["5% errors"]!, ...detection["+200 ms"]!], 0.95).toFixed(1)} s`);
process.exit(0);
