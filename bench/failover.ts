/**
 * Leader failover under load: two engines (`engineroom up`, child processes, each its own project
 * folder and data plane) on one PostgreSQL schema. Round after round the leader is killed with
 * SIGKILL while bounded keep-alive load runs against the first engine's proxy (its data plane
 * outlives the engine); the standby leads. Prints the time from the kill to the new leader's lease
 * (term up, read in the store every 20 ms), from the end of the killed leader's lease to the new one
 * (the standby claims as it ends: a few ms), and to the new leader serving (engine.json written after
 * recovery), medians of N, against the takeover bound (the lease: a kill just after a renewal) in the
 * same run; and the requests failed (target 0). The killed engine is started again as the next
 * round's standby.
 *
 *   ENGINEROOM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/failover.ts [--rounds 3] [--lease 8s] [--renew 2s]
 */
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { CliProject } from "../test/helpers/cli.js";
import { get, startLoad } from "../test/helpers/load.js";
import { testConfig } from "../test/helpers/project.js";
import { waitFor } from "../test/helpers/wait.js";
import { fmt, median } from "./stats.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" }, lease: { type: "string", default: "8s" }, renew: { type: "string", default: "2s" } } });
const rounds = Number(values.rounds);
const url = process.env.ENGINEROOM_TEST_POSTGRES_URL;
if (!url) {
  console.error("set ENGINEROOM_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)");
  process.exit(2);
}
const admin = new pg.Client({ connectionString: url });
await admin.connect();
const schema = `er_failover_${randomBytes(5).toString("hex")}`;
await admin.query(`CREATE SCHEMA ${schema}`);
const term = async () => Number((await admin.query(`SELECT term FROM ${schema}.leader_lease`)).rows[0]?.term ?? 0);
const lease = async () => (await admin.query<{ acquired_at: string; expires_at: string }>(`SELECT acquired_at, expires_at FROM ${schema}.leader_lease`)).rows[0]!;

const storeUrl = `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const config = testConfig("", `store:\n  url: "${storeUrl}"\nha:\n  lease: ${values.lease}\n  renew: ${values.renew}\nartifacts:\n  store: postgres\n`).replace("    instances: 2", "    artifact: ./app\n    instances: 2");
const engines = [new CliProject(config), new CliProject(config)] as const;
const engineJson = (p: CliProject) => join(p.dir, ".engineroom/engine.json");

await engines[0].up({ args: ["--deploy"] });
const front = engines[0].proxyUrl() + "/";
await waitFor("v1 serving", async () => (await get(front).catch(() => ({ version: undefined }))).version === "v1", 120_000);
let leader = 0;
let standbyUp = engines[1].up(); // stands by until it leads
void standbyUp.catch(() => {});
await waitFor("the standby claiming", async () => (await term()) === 1, 30_000);

const load = startLoad(front, { connections: 8, maxMs: rounds * 60_000 + 60_000, maxRequests: 5_000_000 });
const toLease: number[] = [];
const afterEnd: number[] = [];
const toServing: number[] = [];
for (let round = 0; round < rounds; round++) {
  await new Promise((r) => setTimeout(r, 4_000)); // the standby is settled in its wait
  const before = await term();
  const next = 1 - leader;
  rmSync(engineJson(engines[leader]), { force: true }); // a killed engine leaves it behind
  const t0 = performance.now();
  await engines[leader].kill("SIGKILL");
  const ended = Number((await lease()).expires_at); // the killed leader's last renewal: no other can come
  await waitFor("a new term", async () => (await term()) > before, 120_000);
  toLease.push(performance.now() - t0);
  afterEnd.push(Number((await lease()).acquired_at) - ended);
  await standbyUp;
  toServing.push(performance.now() - t0);
  process.stderr.write(`round ${round + 1}: engine ${leader} killed; engine ${next} leads after ${fmt(toLease.at(-1)!)} (${fmt(afterEnd.at(-1)!)} after the lease ended), serves after ${fmt(toServing.at(-1)!)}\n`);
  standbyUp = engines[leader].up(); // the killed one comes back as the standby
  void standbyUp.catch(() => {});
  leader = next;
}
const result = await load.stop();
await engines[1 - leader].kill("SIGKILL");
for (const p of engines) await p.cleanup().catch(() => []);
await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
await admin.end();

console.log(`\nleader failover: ${rounds} rounds of kill -9 of the leader, ha.lease ${values.lease}, ha.renew ${values.renew}, load on the first engine's proxy`);
console.log(`  kill → new leader's lease          median ${fmt(median(toLease))} (max ${fmt(Math.max(...toLease))})`);
console.log(`  old lease's end → new lease        median ${fmt(median(afterEnd))} (max ${fmt(Math.max(...afterEnd))})`);
console.log(`  kill → new leader serving          median ${fmt(median(toServing))} (max ${fmt(Math.max(...toServing))}; adopted its data plane, recovered)`);
console.log(`  baseline: the takeover bound, lease ${values.lease} (a kill just after a renewal) + the standby's claim; it was lease + renew when standbys claimed every renew`);
console.log(`  requests ${result.requests}, failed ${result.failures}        target 0 ${JSON.stringify(result.problems)}`);
console.log(`  engine.json left: ${engines.filter((p) => existsSync(engineJson(p))).length}`);
process.exit(result.failures === 0 ? 0 : 1);
