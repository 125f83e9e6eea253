/**
 * `engineroom report` over a simulated month, in a real SQLite store: what one report costs in time
 * and memory.
 *
 *   node --import tsx --expose-gc bench/report.ts [--deploys 1000] [--incidents 50] [--alerts 10000] [--services 3] [--runs 5]
 *
 * The month: `deploys` releases through their transitions (a third to staging, the rest to
 * production; every 25th fails its gate, every 10th is rolled back after its switch, half carry a git
 * commit), `incidents` through their lifecycle events, `alerts` with outcomes, 20,000 other events
 * (check.down / check.up), the request history and health-check aggregates of every service in
 * both environments (hours for 30 days, minutes for the last day, as the engine keeps them), and the
 * measured usage of two instances of each (every 5-minute bucket of the month), priced with OpenCost's
 * default sheet. Then
 * `runs` reports over 30 days, timed (the first one cold), with RSS and heap before and after.
 * Bounded: at most 2 minutes of seeding; the temp folder is removed at the end. Not a test: it prints figures.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../src/core/index.js";
import { PriceSheet } from "../src/cost/index.js";
import { collectReport, renderReportHtml } from "../src/report/index.js";
import { alertRecord, checkBucket, recordIncident, recordRelease, requestMinute, stableStates } from "../src/report/test-support.js";
import { SqliteStore, usageBucketMs, type CheckBucketRecord, type ReleaseState, type RequestBucket, type UsageBucket } from "../src/store/index.js";
import { median } from "./stats.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const deploys = Number(args.get("deploys") ?? 1000);
const incidents = Number(args.get("incidents") ?? 50);
const alerts = Number(args.get("alerts") ?? 10_000);
const serviceCount = Number(args.get("services") ?? 3);
const runs = Number(args.get("runs") ?? 5);

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const month = 30 * day;
const start = Date.UTC(2026, 0, 1);
const dir = mkdtempSync(join(tmpdir(), "engineroom-report-bench-"));
const clock = new ManualClock(start);
const store = new SqliteStore({ path: join(dir, "engineroom.db"), clock });
const seedDeadline = Date.now() + 120_000;
const services = Array.from({ length: serviceCount }, (_, i) => `svc${i}`);
const environments = ["staging", "production"];

try {
  await store.migrate();
  const seedStarted = performance.now();
  const gap = Math.floor(month / deploys);
  const incidentEvery = Math.max(1, Math.floor(deploys / incidents));
  const fillerEvery = Math.max(1, Math.floor(20_000 / deploys));
  let opened = 0;
  for (let i = 0; i < deploys && Date.now() < seedDeadline; i++) {
    const service = services[i % services.length]!;
    const environment = i % 3 === 0 ? "staging" : "production";
    const states: readonly ReleaseState[] =
      i % 25 === 3 ? ["starting", "failed"] : i % 10 === 7 ? ["starting", "healthy", "verified", "live", "watching", "rolled-back"] : stableStates;
    const commit = i % 2 === 0 ? { sha: i.toString(16).padStart(40, "0"), time: clock.now() - 3 * hour } : undefined;
    const id = await recordRelease(store, clock, { service, environment, states, stepMs: 5000, commit });
    for (let f = 0; f < fillerEvery; f++) await store.events.append({ type: f % 2 ? "check.up" : "check.down", service, environment, message: "filler" });
    if (i % incidentEvery === incidentEvery - 1 && opened < incidents) {
      opened++;
      await recordIncident(store, clock, {
        id: `inc_${opened}`,
        service,
        environment,
        releaseIds: [id],
        detectMs: (1 + (opened % 5)) * minute,
        steps: [["acknowledged", (2 + (opened % 3)) * minute], ["investigating", 6 * minute], ["mitigated", (8 + (opened % 11)) * minute], ["resolved", (30 + opened) * minute], ["closed", 2 * hour]],
      });
    }
    await clock.advance(Math.max(0, start + (i + 1) * gap - clock.now()));
  }
  const until = start + month;
  await clock.advance(Math.max(0, until - clock.now()));
  const outcomes = ["actionable", "actionable", "actionable", "actionable", "actionable", "actionable", "actionable", "actionable", "noise", "duplicate", "unclassified", null] as const;
  for (let i = 0; i < alerts && Date.now() < seedDeadline; i++) {
    await store.alerts.put(alertRecord(`alr_${i}`, start + Math.floor((i * month) / alerts), outcomes[i % outcomes.length]!, `rule-${i % 20}`));
  }
  // Request history: one bucket per hour before the last day (the hours the engine keeps), per minute in it.
  const requestRows: RequestBucket[] = [];
  const checkHours: CheckBucketRecord[] = [];
  const checkMinutes: CheckBucketRecord[] = [];
  for (const environment of environments) {
    for (const service of services) {
      for (let t = start; t < until - day; t += hour) {
        requestRows.push(requestMinute(service, environment, "rel_bench", t, 59_990, 10));
        checkHours.push(checkBucket(`${service}.health.${environment}`, t, 360, t % (7 * hour) === 0 ? 1 : 0));
      }
      for (let t = until - day; t < until; t += minute) {
        requestRows.push(requestMinute(service, environment, "rel_bench", t, 1000, t % (13 * minute) === 0 ? 1 : 0));
        checkMinutes.push(checkBucket(`${service}.health.${environment}`, t, 6, 0));
      }
    }
  }
  for (let i = 0; i < requestRows.length; i += 5000) await store.requests.record(requestRows.slice(i, i + 5000));
  await store.requests.prune({ minutesBefore: until - day, hoursBefore: start });
  await store.checks.writeBuckets("hour", checkHours);
  await store.checks.writeBuckets("minute", checkMinutes);
  // Measured usage, for cost: two instances of every service in both environments, every 5-minute bucket of the month.
  const usageRows: UsageBucket[] = [];
  for (const environment of environments) {
    for (const service of services) {
      for (let t = start; t < until; t += usageBucketMs) {
        for (const n of [1, 2]) {
          usageRows.push({
            environment, service, releaseId: "rel_bench", instanceId: `ins_${service}_${environment}_${n}`, start: t, aliveMs: usageBucketMs,
            cpuMs: (t / usageBucketMs) % 7 === 0 ? 200_000 : 20_000, rssBytes: 90 << 20, rssMaxBytes: 120 << 20,
            reservedCpuMilli: 500, reservedMemoryBytes: 256 << 20, reservedStorageBytes: 1 << 30, live: true,
          });
        }
      }
    }
  }
  for (let i = 0; i < usageRows.length && Date.now() < seedDeadline; i += 5000) await store.usage.record(usageRows.slice(i, i + 5000));
  const seedMs = performance.now() - seedStarted;
  const eventCount = (await store.events.list({ limit: 10_000_000 })).length;

  const scope = {
    since: until - month,
    until,
    production: "production",
    services: environments.flatMap((environment) => services.map((service) => ({ service, environment }))),
    prices: new PriceSheet({ currency: "USD", prices: { default: { CPU: "0.031611", RAM: "0.004237", storage: "0.00005479452" } } }),
  };
  globalThis.gc?.();
  const before = process.memoryUsage();
  const times: number[] = [];
  let html = 0;
  let report!: Awaited<ReturnType<typeof collectReport>>;
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    report = await collectReport(store, scope);
    html = renderReportHtml(report, { project: "bench" }).length;
    times.push(performance.now() - started);
  }
  const afterRuns = process.memoryUsage();
  globalThis.gc?.();
  const retained = process.memoryUsage();
  // Where the time goes: one more report with each store read timed.
  const spent = new Map<string, number>();
  const timed = <A extends unknown[], R>(name: string, f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    const t = performance.now();
    try {
      return await f(...a);
    } finally {
      spent.set(name, (spent.get(name) ?? 0) + performance.now() - t);
    }
  };
  const totalStarted = performance.now();
  await collectReport(
    {
      events: { list: timed("events", (q) => store.events.list(q)) },
      requests: { counts: timed("requests", (q) => store.requests.counts(q)) },
      checks: { buckets: timed("checks", (q) => store.checks.buckets(q)) },
      alerts: { list: timed("alerts", (q) => store.alerts.list(q)) },
      usage: { totals: timed("usage", (q) => store.usage.totals(q)) },
    },
    scope,
  );
  const total = performance.now() - totalStarted;
  const json = JSON.stringify(report).length;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  console.log(`seeded in ${(seedMs / 1000).toFixed(1)} s: ${deploys} deploys, ${opened} incidents, ${alerts} alerts, ${eventCount} events, ${requestRows.length} request buckets, ${usageRows.length} usage buckets, db ${mb(statSync(join(dir, "engineroom.db")).size)}`);
  console.log(`report (collect + HTML) over 30 days: first ${times[0]!.toFixed(0)} ms, median of ${runs} ${median(times).toFixed(0)} ms (target < 1000 ms)`);
  const delta = (a: number, b: number) => `${b >= a ? "+" : ""}${mb(b - a)}`;
  console.log(`memory after ${runs} reports: RSS ${mb(before.rss)} → ${mb(afterRuns.rss)} (${delta(before.rss, afterRuns.rss)}), heap used ${mb(before.heapUsed)} → ${mb(afterRuns.heapUsed)} (${delta(before.heapUsed, afterRuns.heapUsed)}); after a GC, heap used ${mb(retained.heapUsed)}${globalThis.gc ? "" : " (run with --expose-gc for the GC figures)"}`);
  console.log(`one collect ${total.toFixed(0)} ms, store reads (overlapping): ${[...spent].map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(", ")}`);
  console.log(`answer: JSON ${(json / 1024).toFixed(0)} KB, HTML ${(html / 1024).toFixed(0)} KB`);
  const s = report.scorecard;
  console.log(
    `figures: started ${s.deploymentSuccess.started}, success ${s.deploymentSuccess.text}; recovery ${s.recovery.text}; noise ${s.alertNoise.text}; ` +
      `cost ${s.cost.text}; DORA ${report.dora.deploymentFrequency.text}, lead ${report.dora.leadTime.text}, CFR ${report.dora.changeFailureRate.text}, FDRT ${report.dora.recoveryTime.text}`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
