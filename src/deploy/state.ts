import type { ReleaseState } from "../store/index.js";

/**
 * The release state machine of DESIGN.md:
 * pending → starting → healthy → verified → live → watching → stable,
 * `failed` from any step before live, `rolled-back` from live or later (traffic went back).
 *
 * `superseded` is this codebase's addition: a release that was live and watching when a newer
 * release replaced it, so it never earned `stable` (and must not be promoted). It stays the warm
 * rollback target through its successor's watch. When a rollback (or an abort) sends traffic back
 * to it, it is live again: `superseded → live`, with the rollback as the reason, then `watching`
 * for a watch window of its own, from which it can earn `stable` like any release (and then be
 * promoted). A rollback to a `stable` release leaves it `stable`: it had earned that already.
 */
const allowed: Record<ReleaseState, readonly ReleaseState[]> = {
  pending: ["starting", "failed"],
  starting: ["healthy", "failed"],
  healthy: ["verified", "failed"],
  verified: ["live", "failed"],
  live: ["watching", "rolled-back", "stable"],
  watching: ["stable", "rolled-back", "superseded"],
  stable: ["rolled-back"],
  superseded: ["live", "rolled-back"],
  failed: [],
  "rolled-back": [],
};

export function canTransition(from: ReleaseState, to: ReleaseState): boolean {
  return allowed[from].includes(to);
}

/** States in which a release may be running instances that serve or may serve traffic. */
export const activeStates: readonly ReleaseState[] = ["pending", "starting", "healthy", "verified", "live", "watching"];

/** States of a release that went live and was never rolled back: candidates for rollback targets. */
export const rollbackTargetStates: readonly ReleaseState[] = ["stable", "superseded", "watching", "live"];

/** States of a deploy cut off before its switch (by an engine stop): it never got traffic. */
export const beforeSwitchStates: readonly ReleaseState[] = ["pending", "starting", "healthy", "verified"];
