/** A known incident history for the post-mortem tests: web v2 in production, rolled back by its watch 41 s after its switch. */
import type { IncidentRecord } from "../store/index.js";
import type { TimelineEntry } from "./draft.js";

export const t0 = Date.parse("2026-12-01T10:00:00Z");

export function rolledBackIncident(overrides: Partial<IncidentRecord> = {}): IncidentRecord {
  return {
    id: "inc_test_1",
    title: "web v2 rolled back in production",
    state: "resolved",
    severity: "SEV2",
    severityReasons: ["production: the last environment of the chain (+2)", "23% of 812 requests failing (web v2 in production)"],
    severitySource: "computed",
    cause: { kind: "rollback", ref: "rel_2" },
    keys: ["target:web/production"],
    services: ["web"],
    environments: ["production"],
    releaseIds: ["rel_2"],
    openedBy: "engine",
    openedAt: t0 + 43_000,
    startedAt: t0,
    commander: "bob",
    ack: { by: "alice", at: t0 + 103_000 },
    milestones: { mitigated: { at: t0 + 43_000, by: "engine" }, resolved: { at: t0 + 600_000, by: "alice" } },
    escalatedAt: null,
    notes: [{ at: t0 + 200_000, by: "alice", text: "ERROR_EVERY reverted in engineroom.yaml" }],
    signals: [{ at: t0 + 43_000, kind: "rollback", ref: "rel_2", eventId: 12, summary: "web v2 rolled back" }],
    links: [
      {
        kind: "release",
        ref: "rel_2",
        at: t0 + 43_000,
        detail: {
          service: "web",
          environment: "production",
          number: 2,
          state: "rolled-back",
          artifactDigest: "sha256:bbbb",
          configHash: "c2",
          switchedAt: t0,
          previous: { releaseId: "rel_1", number: 1, artifactDigest: "sha256:aaaa", configHash: "c1" },
          configDiff: [{ key: "env.ERROR_EVERY", to: "20" }],
          deployedBy: "apply of engineroom.yaml by cli",
          approvedBy: null,
          planHash: "plan123",
          rolledBack: { reason: "web v2 in production is rolled-back: analysis failed: error rate 23% > 5% (812 requests)", at: t0 + 41_000 },
        },
      },
    ],
    timelineAfterId: 3,
    updatedAt: t0 + 600_000,
    ...overrides,
  };
}

export const knownTimeline: TimelineEntry[] = [
  { id: 10, time: t0 - 5_000, type: "release.pending", service: "web", environment: "production", releaseId: "rel_2", message: "release v2 created: apply of engineroom.yaml by cli" },
  { id: 11, time: t0, type: "release.live", service: "web", environment: "production", releaseId: "rel_2", message: "v2 live" },
  { id: 12, time: t0 + 41_000, type: "release.rolled-back", service: "web", environment: "production", releaseId: "rel_2", message: "analysis failed: error rate 23% > 5% (812 requests)" },
  { id: 13, time: t0 + 43_000, type: "incident.opened", service: "web", environment: "production", releaseId: "rel_2", message: "incident inc_test_1 opened (SEV2)" },
];
