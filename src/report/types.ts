/**
 * The scorecard's shape, as `engineroom report --json` and GET /v1/report answer it. Every figure
 * names what it was computed from (`from`): release ids with their event ids, incident ids with
 * theirs, alert ids, checks and request-history queries. Durations are milliseconds, ratios 0..1.
 */
import type { CostFigure } from "../cost/index.js";
import type { DurationSummary } from "./stats.js";
import type { DrillsSection } from "./drills.js";

/** The events one release's figure rests on. */
export interface ReleaseTrace {
  releaseId: string;
  service: string;
  environment: string;
  number: number | null;
  /** The event ids of its transitions, oldest first. */
  eventIds: number[];
}

export type ReleaseOutcome = "succeeded" | "failed" | "rolled-back" | "in-progress";

export interface ReleaseRow extends ReleaseTrace {
  outcome: ReleaseOutcome;
  /** Its last state, as its events tell. */
  state: string;
  startedAt: number;
  liveAt: number | null;
}

export interface UptimeRow {
  service: string;
  environment: string;
  /** From the proxy's request history: good (not 5xx, no upstream error a client saw) over valid. */
  requests: { good: number; valid: number; ratio: number | null; meets: boolean | null; from: { service: string; environment: string; fromMs: number; toMs: number } };
  /** From the service's health check `<service>.health.<environment>`: passes over runs. */
  checks: { check: string; passes: number; runs: number; ratio: number | null; meets: boolean | null };
}

export interface IncidentRow {
  incidentId: string;
  severity: string | null;
  services: string[];
  environments: string[];
  releaseIds: string[];
  cause: { kind: string; ref: string } | null;
  startedAt: number;
  openedAt: number;
  acknowledgedAt: number | null;
  mitigatedAt: number | null;
  resolvedAt: number | null;
  closedAt: number | null;
  cancelledAt: number | null;
  /** startedAt → mitigated (or resolved when it skipped mitigated): when the service recovered. */
  recoveryMs: number | null;
  eventIds: number[];
}

/** An open action item of a post-mortem, with its age at the end of the period. */
export interface ActionItemRow {
  id: string;
  incidentId: string;
  type: string;
  owner: string;
  /** yyyy-mm-dd. */
  due: string;
  text: string;
  createdAt: number;
  ageMs: number;
  overdue: boolean;
}

export interface Figure {
  /** Whether the measured value meets the target; null when there is nothing to measure. */
  meets: boolean | null;
  /** The value as a person reads it, e.g. "99.95%", "4m12s (median 3m)", "no incidents". */
  text: string;
}

/** DORA's buckets, as fourkeys names them. */
export type FrequencyBucket = "daily" | "weekly" | "monthly" | "yearly" | "none";

export interface Report {
  period: { since: number; until: number; days: number; environment: string | null };
  scorecard: {
    uptime: Figure & { target: number; rows: UptimeRow[] };
    deploymentSuccess: Figure & {
      target: number;
      rate: number | null;
      started: number;
      succeeded: number;
      failed: number;
      rolledBack: number;
      inProgress: number;
      definition: string;
      from: { releases: ReleaseRow[] };
    };
    recovery: Figure & {
      targetMs: number;
      definition: string;
      incidents: number;
      open: number;
      cancelled: number;
      mttrMs: number | null;
      recovery: DurationSummary | null;
      detect: DurationSummary | null;
      acknowledge: DurationSummary | null;
      mitigate: DurationSummary | null;
      resolve: DurationSummary | null;
      from: { incidents: IncidentRow[] };
    };
    alertNoise: Figure & {
      target: number;
      ratio: number | null;
      alerts: number;
      actionable: number;
      noise: number;
      duplicate: number;
      unclassified: number;
      open: number;
      noisiest: string[];
      rules: { rule: string; alerts: number; falsePositiveRatio: number | null }[];
      from: { alerts: { actionable: string[]; noise: string[]; duplicate: string[] } };
    };
    /** From the price sheet and the instances' measured usage; without a sheet, a stable shape that says so. */
    cost: CostFigure;
  };
  /** The post-mortems' action items still open at the end of the period, oldest first. */
  actionItems: { open: number; overdue: number; text: string; items: ActionItemRow[] };
  /** The drills that finished in the period, newest first, with their timings (from `drill.finished` events). */
  drills: DrillsSection;
  dora: {
    /** The environment DORA's keys are about: the last of the promotion chain, or --env. */
    environment: string;
    deploymentFrequency: Figure & { deployments: number; perDay: number; perWeek: number; bucket: FrequencyBucket; daily: { day: string; count: number }[]; from: { releases: ReleaseTrace[] } };
    leadTime: Figure & { measured: number; notMeasured: number; summary: DurationSummary | null; bucket: string | null; from: { releases: (ReleaseTrace & { commit: string; commitTime: number; leadTimeMs: number })[]; notMeasured: string[] } };
    changeFailureRate: Figure & { rate: number | null; deployments: number; failures: number; bucket: string | null; from: { releases: (ReleaseTrace & { rolledBack: boolean; incidentIds: string[] })[] } };
    recoveryTime: Figure & { summary: DurationSummary | null; unrecovered: number; bucket: string | null; from: { releases: (ReleaseTrace & { recoveredBy: string | null; recoveryMs: number | null })[] } };
  };
}
