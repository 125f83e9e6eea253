/**
 * Plan benchmark (issue 3): time to plan a project of 5,000 declared services against a state in
 * which all run as declared (no changes) and in which 1% differ (config changed: attribute diffs
 * walked), plus the time to parse the 5,000-service engineroom.yaml itself, and to hash, render and
 * serialise the plan. Target: planning < 2 s.
 *
 *   node --import tsx bench/plan.ts [--services 5000] [--runs 7]
 *
 * Pure CPU, no I/O: the CurrentState is built in memory as the engine would gather it.
 */
import { parseArgs } from "node:util";
import { parseProject, serviceConfigHash, type ProjectConfig, type ServiceConfig } from "../src/config/index.js";
import { desiredState, plan, planHash, planToJson, renderPlan, type CurrentState, type DesiredState } from "../src/plan/index.js";
import { matchingState } from "../src/plan/test-support.js";
import { fmt, median } from "./stats.js";

const { values } = parseArgs({ options: { services: { type: "string", default: "5000" }, runs: { type: "string", default: "7" } } });
const services = Number(values.services);
const runs = Number(values.runs);

/** An engineroom.yaml with `count` services, each with env, routes, health and a smoke test, and `environments` environments. */
function projectYaml(count: number, environments: number): string {
  const lines = ["project: bench", "services:"];
  for (let i = 0; i < count; i++) {
    lines.push(
      `  svc-${i}:`,
      `    run: node server.js --port $PORT`,
      `    artifact: ./apps/svc-${i}`,
      `    instances: ${1 + (i % 3)}`,
      `    env:`,
      `      GREETING: "Hello from service ${i}"`,
      `      LOG_LEVEL: info`,
      `      UPSTREAM_URL: http://svc-${(i + 1) % count}.internal:8080/api`,
      `      FEATURE_FLAGS: "a,b,c"`,
      `      DB_PASSWORD: { secret: db_password_${i % 100} }`,
      `    routes:`,
      `      - { host: "svc-${i}.example.com", path: / }`,
      `      - { path: /svc-${i}/ }`,
      `    health: { path: /healthz, interval: 500ms, healthy_threshold: 2, start_timeout: 20s }`,
      `    smoke:`,
      `      - { name: home, path: /, expect: { status: 200, body_contains: Hello, headers: { content-type: text/plain } } }`,
      `    release: { watch: 1m, drain_timeout: 10s }`,
    );
  }
  lines.push("environments:");
  for (let e = 0; e < environments; e++) {
    const last = e === environments - 1;
    lines.push(`  env-${e}:`, `    proxy: { listen: 127.0.0.1:${18080 + e} }`);
    // The last environment overrides some services, as production does.
    if (last && environments > 1) {
      lines.push("    services:");
      for (let i = 0; i < count; i += 10) lines.push(`      svc-${i}: { instances: 4 }`);
    }
  }
  return lines.join("\n") + "\n";
}

/** A state in which `fraction` of the services run a recorded config that differs from the declared one. */
function changedState(desired: DesiredState, fraction: number): CurrentState {
  const current = matchingState(desired);
  const step = Math.round(1 / fraction);
  const environments: Record<string, { services: Record<string, CurrentState["environments"][string]["services"][string]> }> = {};
  for (const [name, environment] of Object.entries(current.environments)) {
    const copy = { ...environment.services };
    Object.keys(copy).forEach((service, i) => {
      if (i % step !== 0) return;
      const live = copy[service]!;
      const old: ServiceConfig = { ...live.config!, instances: live.config!.instances + 1, env: { ...live.config!.env, GREETING: "an older greeting" } };
      copy[service] = { ...live, config: old, live: { ...live.live, configHash: serviceConfigHash(old) }, runningInstances: old.instances };
    });
    environments[name] = { services: copy };
  }
  return { ...current, environments };
}

function time<T>(work: () => T): { ms: number; result: T } {
  const started = performance.now();
  const result = work();
  return { ms: performance.now() - started, result };
}

function measure<T>(work: () => T): { median: number; min: number; result: T } {
  work(); // warm-up: JIT and inline caches
  const times: number[] = [];
  let result!: T;
  for (let i = 0; i < runs; i++) {
    const run = time(work);
    times.push(run.ms);
    result = run.result;
  }
  return { median: median(times), min: Math.min(...times), result };
}

const rows: [string, string, string, string][] = [];
for (const environments of [1, 2]) {
  const yaml = projectYaml(services, environments);
  const parsed = measure(() => parseProject(yaml, "bench.yaml"));
  const project: ProjectConfig = parsed.result;
  const desired = desiredState(project, "sha256:bench");
  const pairs = services * environments;
  const label = `${services} services × ${environments} env${environments > 1 ? "s" : ""}`;
  rows.push([label, `parseProject (${(yaml.length / 1024 / 1024).toFixed(1)} MiB YAML)`, fmt(parsed.median), fmt(parsed.min)]);
  for (const fraction of [0, 0.01]) {
    const current = fraction === 0 ? matchingState(desired) : changedState(desired, fraction);
    const planned = measure(() => plan(desired, current));
    const { summary } = planned.result;
    const changed = summary.create + summary.update + summary.delete;
    if (changed !== Math.round(pairs * fraction)) throw new Error(`expected ${Math.round(pairs * fraction)} changes, planned ${changed}`);
    rows.push([label, `plan, ${fraction * 100}% changed (${changed} updates)`, fmt(planned.median), fmt(planned.min)]);
    if (fraction > 0) {
      rows.push([label, "  planHash alone", fmt(measure(() => planHash(desired, current)).median), ""]);
      rows.push([label, "  renderPlan", fmt(measure(() => renderPlan(planned.result)).median), ""]);
      rows.push([label, "  planToJson", fmt(measure(() => planToJson(planned.result)).median), ""]);
    }
  }
}

const widths = [0, 1, 2, 3].map((i) => Math.max(...[["project", "step", "median", "min"][i]!, ...rows.map((r) => r[i]!)].map((s) => s.length)));
const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
console.log(`plan benchmark: median and min of ${runs} runs after a warm-up (node ${process.version}); target: plan < 2 s`);
console.log(line(["project", "step", "median", "min"]));
for (const row of rows) console.log(line(row));
