import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lpt, shardPlan } from "./index.js";

describe("lpt", () => {
  it("assigns a small case exactly: longest first, each to the least loaded shard, ties to the lowest", () => {
    const jobs = [
      { name: "a", timeMs: 5 },
      { name: "b", timeMs: 3 },
      { name: "c", timeMs: 3 },
      { name: "d", timeMs: 2 },
      { name: "e", timeMs: 1 },
    ];
    // a (5) → 1; b (3) → 2; c (3) → 3; d (2) → 2 (tied with 3 at 3 ms: the lower index); e (1) → 3 (3 ms against 5 and 5)
    assert.deepEqual(lpt(jobs, 3), [
      { shard: 1, files: ["a"], loadMs: 5 },
      { shard: 2, files: ["b", "d"], loadMs: 5 },
      { shard: 3, files: ["c", "e"], loadMs: 4 },
    ]);
  });

  it("stays within 4/3 of the optimum on Graham's worst case for 2 shards", () => {
    // 3,3,2,2,2: the optimum is 6 (3+3 | 2+2+2); LPT gives 7 (3+2+2 | 3+2), which is 7/6 ≤ 4/3 − 1/6.
    const jobs = [3, 3, 2, 2, 2].map((t, i) => ({ name: `t${i}`, timeMs: t }));
    const plan = lpt(jobs, 2);
    const makespan = Math.max(...plan.map((s) => s.loadMs));
    assert.equal(makespan, 7);
    assert.ok(makespan <= (4 / 3) * 6);
  });

  it("stays within 4/3 of the optimum on the worst case for 3 shards (5,5,4,4,3,3,3: optimum 9, LPT 11)", () => {
    const jobs = [5, 5, 4, 4, 3, 3, 3].map((t, i) => ({ name: `t${i}`, timeMs: t }));
    const makespan = Math.max(...lpt(jobs, 3).map((s) => s.loadMs));
    assert.equal(makespan, 11);
    assert.ok(makespan <= (4 / 3 - 1 / 9) * 9 + 1e-9);
  });

  it("refuses a shard count that is not 1 to 256", () => {
    for (const n of [0, -1, 1.5, 257]) assert.throws(() => lpt([], n), { code: "CI_PLAN_INVALID" });
  });
});

describe("shardPlan", () => {
  const timings = new Map([
    ["test/a.test.ts", 9000],
    ["test/b.test.ts", 4000],
    ["test/c.test.ts", 3000],
    ["test/gone.test.ts", 100],
  ]);

  it("plans the files that exist now, a new one at the median, and gives a matrix and a cache key", () => {
    const plan = shardPlan(timings, 2, ["test/a.test.ts", "test/b.test.ts", "test/c.test.ts", "test/new.test.ts"]);
    assert.deepEqual(plan.matrix, { shard: [1, 2] });
    assert.deepEqual(plan.unmeasured, ["test/new.test.ts"]);
    // the median of 100, 3000, 4000, 9000 is taken as the lower middle one: 3000
    assert.equal(plan.totalMs, 9000 + 4000 + 3000 + 3000);
    assert.deepEqual(plan.plan.map((s) => s.files), [["test/a.test.ts"], ["test/b.test.ts", "test/c.test.ts", "test/new.test.ts"]]);
    assert.equal(plan.makespanMs, 10_000);
    assert.match(plan.cacheKey, /^sha256:[0-9a-f]{64}$/);
  });

  it("gives the same cache key for the same inputs in any order, and another when they change", () => {
    const key = shardPlan(timings, 2).cacheKey;
    assert.equal(shardPlan(new Map([...timings].reverse()), 2).cacheKey, key);
    assert.notEqual(shardPlan(timings, 3).cacheKey, key);
    assert.notEqual(shardPlan(new Map([...timings, ["test/d.test.ts", 1]]), 2).cacheKey, key);
  });
});
