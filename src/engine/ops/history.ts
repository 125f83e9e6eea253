import type { Verdict } from "../../analysis/index.js";
import { diffServiceConfigs, type AttributeDiff } from "../../plan/index.js";
import type { EngineEvent, Release } from "../../store/index.js";
import type { Engine } from "../engine.js";
import { requireService } from "../queries.js";

/** One release of a service as its history page shows it. */
export interface ReleaseHistoryEntry {
  release: Release;
  /** The git commit the artifact was built from, when the deploy knew it. */
  commit: { sha: string; time: number } | null;
  /** Who started it (deploy or promotion), as recorded in its reason: `api`, a token's name, `engine`. */
  deployedBy: string | null;
  /** Who approved it, when the environment required approval. */
  approvedBy: string | null;
  /** Its config against the release before it (the older neighbour in the list): null for the first, [] when the same. */
  configChanges: AttributeDiff[] | null;
  /** The analysis verdict it was judged on (stable, rolled back), or the live one's latest. */
  evidence: Verdict | null;
  /** True for the release that serves now. */
  live: boolean;
  /** Its state transitions and approvals, oldest first. */
  events: Pick<EngineEvent, "id" | "time" | "type" | "message">[];
}

/** The dashboard's per-service release history (see ../operations.ts). */
export interface HistoryOperations {
  /** The service's releases in an environment (default the first), newest first, with commit, who, config diff, evidence. */
  releaseHistory(service: string, options?: { environment?: string; limit?: number }): Promise<ReleaseHistoryEntry[]>;
}

/** "deploy of ./build by alice" → "alice"; "v3 approved by bob" → "bob". */
function actorIn(text: string | undefined): string | null {
  const match = text && /\bby ([^\s;,]+)\s*$/.exec(text);
  return match ? match[1]! : null;
}

export function historyOperations(engine: Engine): HistoryOperations {
  return {
    async releaseHistory(service, options = {}) {
      requireService(engine, service);
      const environment = engine.environment(options.environment);
      const limit = Math.min(100, Math.max(1, Math.trunc(options.limit ?? 20)));
      // One more than asked: the oldest shown is diffed against it.
      const releases = await engine.store.releases.list({ service, environment: environment.name, limit: limit + 1 });
      const liveId = (await engine.store.live.get(service, environment.name))?.releaseId;
      const configs = new Map<string, Awaited<ReturnType<typeof engine.configSnapshots.load>>>();
      const configOf = async (hash: string) => {
        if (!configs.has(hash)) configs.set(hash, await engine.configSnapshots.load(hash));
        return configs.get(hash);
      };
      const entries: ReleaseHistoryEntry[] = [];
      for (const [i, release] of releases.slice(0, limit).entries()) {
        const events = await engine.store.events.list({ releaseId: release.id, types: ["release."], limit: 200 });
        const pending = events.find((e) => e.type === "release.pending");
        const approved = events.find((e) => e.type === "release.approved");
        const commit = pending?.data.commit as ReleaseHistoryEntry["commit"] | undefined;
        const judged = [...events].reverse().find((e) => e.data.verdict !== undefined || (e.data.evidence as { verdict?: unknown } | undefined)?.verdict !== undefined);
        const verdict = (judged?.data.verdict ?? (judged?.data.evidence as { verdict?: unknown } | undefined)?.verdict) as Verdict | undefined;
        const before = releases[i + 1];
        let configChanges: AttributeDiff[] | null = null;
        if (before) {
          const [a, b] = [await configOf(before.configHash), await configOf(release.configHash)];
          configChanges = before.configHash === release.configHash ? [] : a && b ? diffServiceConfigs(a, b) : [{ path: "(config)", before: before.configHash, after: release.configHash }];
        }
        entries.push({
          release,
          commit: commit ?? null,
          deployedBy: actorIn(pending?.message),
          approvedBy: actorIn(approved?.message),
          configChanges,
          evidence: verdict ?? environment.deployer.analysis.last(release.id) ?? null,
          live: release.id === liveId,
          events: events.map((e) => ({ id: e.id, time: e.time, type: e.type, message: e.message })),
        });
      }
      return entries;
    },
  };
}
