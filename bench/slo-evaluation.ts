/**
 * The request history and SLO evaluation at a steady size: what one 30 s evaluation of every SLO
 * costs, what the recorder's per-minute write costs, and how large the history grows.
 *
 *   node --import tsx bench/slo-evaluation.ts [--services 10] [--environments 2] [--releases 2]
 *
 * The history is full: 3 days of minutes and 35 days of hours for every service, environment and
 * release (as the recorder keeps them), in a SQLite file. Two SLOs per service (availability over
 * 30 d, latency under 300 ms over 30 d) in every environment. Not a test: it prints figures.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { ManualClock } from "../src/core/index.js";
import { RequestRecorder, SloEvaluator, parseSlos } from "../src/slo/index.js";
import { SqliteStore, type RequestBucket } from "../src/store/index.js";
import { median } from "./stats.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const services = Number(args.get("services") ?? 10);
const environmentCount = Number(args.get("environments") ?? 2);
const releases = Number(args.get("releases") ?? 2);

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const dir = mkdtempSync(join(tmpdir(), "engineroom-slo-bench-"));
const clock = new ManualClock(Date.UTC(2026, 0, 1));
const store = new SqliteStore({ path: join(dir, "engineroom.db"), clock });
await store.migrate();
const environments = Array.from({ length: environmentCount }, (_, i) => `env${i}`);
const names = Array.from({ length: services }, (_, i) => `svc${i}`);

const row = (service: string, environment: string, releaseId: string, time: number): RequestBucket => {
  const latency = new Array<number>(16).fill(0);
  latency[5] = 5_900;
  latency[10] = 100;
  return { service, environment, releaseId, time, status: { "1xx": 0, "2xx": 5_990, "3xx": 0, "4xx": 0, "5xx": 10 }, upstreamErrors: 1, upstreamTimeouts: 0, retried: 1, clientAborts: 0, latency };
};

// 35 days: hours older than 3 days as one bucket per hour, then minutes (each also adds to its hour).
const start = clock.now();
const series = names.flatMap((s) => environments.flatMap((e) => Array.from({ length: releases }, (_, r) => [s, e, `rel_${s}_${r}`] as const)));
const fillStarted = performance.now();
for (let t = start; t < start + 32 * day; t += hour) await store.requests.record(series.map(([s, e, r]) => row(s, e, r, t)));
for (let t = start + 32 * day; t < start + 35 * day; t += minute) await store.requests.record(series.map(([s, e, r]) => row(s, e, r, t)));
const fillMs = performance.now() - fillStarted;
await clock.advance(35 * day);
const recorder = new RequestRecorder({ history: store.requests, clock });
await recorder.prune();
// What the kept rows occupy (the file keeps the pages pruning freed, for the rows to come).
const sqlite = new Database(join(dir, "engineroom.db"), { readonly: true });
const pragma = (name: string) => Number(sqlite.pragma(name, { simple: true }));
const bytes = (pragma("page_count") - pragma("freelist_count")) * pragma("page_size");
sqlite.close();

const section = Object.fromEntries(
  names.flatMap((s) => [
    [`${s}-availability`, { service: s, kind: "availability", target: 99.9 }],
    [`${s}-latency`, { service: s, kind: "latency", target: 99, threshold: "300ms" }],
  ]),
);
const parsed = parseSlos(section, { services: names, environments });
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const evaluator = new SloEvaluator({ slos: parsed.slos, clock, requests: store.requests, recordedUntil: async () => clock.now() });

const evaluations: number[] = [];
for (let i = 0; i < 7; i++) {
  const t = performance.now();
  await evaluator.evaluate();
  evaluations.push(performance.now() - t);
  await clock.advance(30_000);
}
// One closed minute of every series, as the recorder writes it.
const writes: number[] = [];
for (let i = 0; i < 7; i++) {
  const now = clock.now() - (clock.now() % minute);
  recorder.add(series.map(([s, e, r]) => ({ ...row(s, e, r, now + 1_000), upstreamTimeouts: 0, retried: 1 })));
  await clock.advance(minute);
  const t = performance.now();
  await recorder.flush();
  writes.push(performance.now() - t);
}

const slos = parsed.slos.length * environments.length;
const perDay = series.length * (1440 + 24);
console.log(`series (service × environment × release): ${series.length}; SLOs × environments: ${slos}`);
console.log(`history: 3 d of minutes and 35 d of hours = ${series.length * (3 * 1440 + 35 * 24)} rows, ${(bytes / 1024 / 1024).toFixed(1)} MiB of SQLite pages in use; filled in ${(fillMs / 1000).toFixed(1)} s`);
console.log(`growth: ${perDay} rows a day (${series.length} × (1,440 minutes + 24 hours)), ≈ ${((bytes / (series.length * (3 * 1440 + 35 * 24))) * perDay / 1024 / 1024).toFixed(1)} MiB a day before pruning holds it steady`);
console.log(`one evaluation of every SLO (6 windows each): median ${median(evaluations).toFixed(1)} ms, ${(median(evaluations) / slos).toFixed(2)} ms per SLO and environment (of the 30 s period)`);
console.log(`one closed minute written (${series.length} rows and their hours, one transaction): median ${median(writes).toFixed(1)} ms`);
await store.close();
rmSync(dir, { recursive: true, force: true });
