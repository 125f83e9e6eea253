import { createHash } from "node:crypto";
import { stableStringify } from "../config/index.js";
import { EngineError } from "../core/index.js";

/** A test file and how long it took, in ms. */
export interface Job {
  name: string;
  timeMs: number;
}

/** One shard of a plan: its 1-based index, its files and their summed time. */
export interface Shard {
  shard: number;
  files: string[];
  loadMs: number;
}

/** What `engineroom ci plan` prints, and the workflow reads: the matrix, each shard's files, and a cache key. */
export interface ShardPlan {
  shards: number;
  /** sha256 over the inputs (shard count, files, their timings): the same inputs give the same key. */
  cacheKey: string;
  /** For a GitHub Actions matrix: `strategy.matrix: ${{ fromJSON(…).matrix }}`. */
  matrix: { shard: number[] };
  plan: Shard[];
  totalMs: number;
  /** The largest shard's load: about how long the sharded run takes. */
  makespanMs: number;
  /** Files with no recorded time, planned at the median of the others'. */
  unmeasured: string[];
}

/**
 * Longest processing time first (Graham's LPT): jobs sorted by time, longest first (ties by name),
 * each to the shard with the least load so far (ties to the lowest index). The largest load is at
 * most 4/3 − 1/(3m) of the optimum for m shards. Deterministic: the same jobs give the same plan.
 */
export function lpt(jobs: readonly Job[], shards: number): Shard[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > 256) throw new EngineError("CI_PLAN_INVALID", `--shards must be a whole number from 1 to 256, not ${shards}.`);
  const plan: Shard[] = Array.from({ length: shards }, (_, i) => ({ shard: i + 1, files: [], loadMs: 0 }));
  const sorted = [...jobs].sort((a, b) => b.timeMs - a.timeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const job of sorted) {
    let least = plan[0]!;
    for (const shard of plan) if (shard.loadMs < least.loadMs) least = shard;
    least.files.push(job.name);
    least.loadMs += job.timeMs;
  }
  return plan;
}

/**
 * The shard plan of the recorded timings. With `files` (the test files that exist now), only those
 * are planned, and one with no recorded time counts as the median of the recorded ones (1 s when
 * none is recorded); without it, every recorded file is planned.
 */
export function shardPlan(timings: ReadonlyMap<string, number>, shards: number, files?: readonly string[]): ShardPlan {
  const recorded = [...timings.values()].sort((a, b) => a - b);
  const median = recorded.length === 0 ? 1000 : recorded[Math.floor((recorded.length - 1) / 2)]!;
  const names = files ? [...new Set(files)] : [...timings.keys()];
  const unmeasured = names.filter((n) => !timings.has(n)).sort();
  const jobs = names.map((name) => ({ name, timeMs: timings.get(name) ?? median }));
  const plan = lpt(jobs, shards);
  const inputs = { format: "engineroom-shards-v1", shards, jobs: [...jobs].sort((a, b) => (a.name < b.name ? -1 : 1)) };
  return {
    shards,
    cacheKey: `sha256:${createHash("sha256").update(stableStringify(inputs)).digest("hex")}`,
    matrix: { shard: plan.map((s) => s.shard) },
    plan,
    totalMs: jobs.reduce((sum, j) => sum + j.timeMs, 0),
    makespanMs: Math.max(...plan.map((s) => s.loadMs)),
    unmeasured,
  };
}
