import type { EventLog, ReleaseRepo } from "../store/index.js";

/** Reads a release's resolved config by its hash (the engine's config snapshots). */
export interface ConfigReader {
  load(hash: string): Promise<unknown>;
}

/** One key whose value differs between two configs: dotted path, value before and after (absent: undefined). */
export interface ConfigChange {
  key: string;
  from?: unknown;
  to?: unknown;
}

/** What an incident knows of a release involved, by construction (store and event log), not by anyone's say-so. */
export interface ReleaseFacts {
  service: string;
  environment: string;
  number: number;
  state: string;
  artifactDigest: string;
  configHash: string;
  /** When traffic switched to it (its `release.live`), if it went live. */
  switchedAt: number | null;
  /** The release that served before it. */
  previous: { releaseId: string; number: number; artifactDigest: string; configHash: string } | null;
  /** The key-level diff of its resolved config against the previous release's (empty: the same config). */
  configDiff: ConfigChange[];
  /** How it was made: its `release.pending` reason, e.g. "deploy of ./app by cli", "promotion of staging v3 by apply". */
  deployedBy: string;
  /** Its `release.approved` message, when the environment required an approval. */
  approvedBy: string | null;
  /** The hash of the plan whose apply made it, when an apply did. */
  planHash: string | null;
  /** Its `release.rolled-back`, when it was rolled back: the reason and when traffic left it. */
  rolledBack: { reason: string; at: number } | null;
}

/** Leaf values by dotted path; lists are compared whole (a route list that changed is one change). */
function flatten(value: unknown, prefix: string, into: Map<string, unknown>): Map<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) into.set(prefix, {});
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, into);
  } else if (prefix) into.set(prefix, value);
  return into;
}

/** The key-level diff of two resolved configs, sorted by key. */
export function configDiff(before: unknown, after: unknown): ConfigChange[] {
  const a = flatten(before ?? {}, "", new Map());
  const b = flatten(after ?? {}, "", new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys
    .filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)))
    .map((key) => ({ key, ...(a.has(key) && { from: a.get(key) }), ...(b.has(key) && { to: b.get(key) }) }));
}

/** Gathers a release's facts from the store and the event log. */
export async function releaseFacts(store: { releases: Pick<ReleaseRepo, "get">; events: Pick<EventLog, "list"> }, configs: ConfigReader, releaseId: string): Promise<ReleaseFacts | undefined> {
  const release = await store.releases.get(releaseId);
  if (!release) return undefined;
  const events = await store.events.list({ releaseId, types: ["release.pending", "release.live", "release.approved", "release.rolled-back"], limit: 50 });
  const first = (type: string) => events.find((e) => e.type === type);
  const live = first("release.live");
  const pending = first("release.pending");
  const rolledBack = first("release.rolled-back");
  const previousId = typeof live?.data.previousReleaseId === "string" ? live.data.previousReleaseId : null;
  const previous = previousId ? await store.releases.get(previousId) : undefined;
  const [config, previousConfig] = await Promise.all([configs.load(release.configHash), previous ? configs.load(previous.configHash) : undefined]);
  return {
    service: release.service,
    environment: release.environment,
    number: release.number,
    state: release.state,
    artifactDigest: release.artifactDigest,
    configHash: release.configHash,
    switchedAt: live?.time ?? null,
    previous: previous ? { releaseId: previous.id, number: previous.number, artifactDigest: previous.artifactDigest, configHash: previous.configHash } : null,
    configDiff: previous ? configDiff(previousConfig, config) : [],
    deployedBy: pending ? pending.message.replace(/^.*? created: /, "") : "unknown",
    approvedBy: first("release.approved")?.message ?? null,
    planHash: pending ? await planHashBefore(store.events, pending.id, pending.message) : null,
    rolledBack: rolledBack ? { reason: rolledBack.message, at: rolledBack.time } : null,
  };
}

/** The plan hash of the apply that made a release: the newest `apply.started` before its `release.pending`, when an apply made it. */
async function planHashBefore(events: Pick<EventLog, "list">, pendingId: number, reason: string): Promise<string | null> {
  if (!/\bby apply\b|\bapply:/.test(reason)) return null;
  const applies = await events.list({ types: ["apply.started"], limit: 50 });
  const apply = applies.filter((e) => e.id < pendingId).at(-1);
  return typeof apply?.data.planHash === "string" ? apply.data.planHash : null;
}
