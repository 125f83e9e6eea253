import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { releaseStates, type ReleaseState } from "../store/index.js";
import { activeStates, canTransition, rollbackTargetStates } from "./state.js";

/**
 * The release state machine as DESIGN.md and the README state it, written out edge by edge so the
 * test does not restate the implementation's table: forward one step at a time, `failed` from any
 * step before live, `rolled-back` once traffic went to it, `superseded` only from watching, and back
 * to live from superseded (a rollback to it).
 */
const edges = new Set([
  ...["pending → starting", "starting → healthy", "healthy → verified", "verified → live", "live → watching", "watching → stable"],
  ...["pending → failed", "starting → failed", "healthy → failed", "verified → failed"],
  ...["live → rolled-back", "watching → rolled-back", "stable → rolled-back", "superseded → rolled-back"],
  ...["live → stable", "watching → superseded"],
  // A superseded release that a rollback sends traffic back to is live again, and can earn stable.
  ...["superseded → live"],
]);
const expected = (from: ReleaseState) => releaseStates.filter((to) => edges.has(`${from} → ${to}`));

describe("release state machine", () => {
  for (const from of releaseStates) {
    it(`from ${from}: allows exactly ${expected(from).join(", ") || "nothing"}`, () => {
      assert.deepEqual(releaseStates.filter((to) => canTransition(from, to)), expected(from));
    });
  }

  it("never lets a release that did not go live be rolled back, nor one that went live fail", () => {
    for (const before of ["pending", "starting", "healthy", "verified"] as const) assert.equal(canTransition(before, "rolled-back"), false, before);
    for (const after of ["live", "watching", "stable", "superseded"] as const) assert.equal(canTransition(after, "failed"), false, after);
  });

  it("counts as active only states whose instances may run for a deploy or serve", () => {
    assert.deepEqual(new Set(activeStates), new Set(["pending", "starting", "healthy", "verified", "live", "watching"]));
  });

  it("offers as rollback targets only releases that went live and were not rolled back", () => {
    assert.deepEqual(new Set(rollbackTargetStates), new Set(["live", "watching", "stable", "superseded"]));
    for (const state of rollbackTargetStates) assert.ok(canTransition(state, "rolled-back"), state);
  });
});
