/**
 * What the incident domain keeps across restarts: each incident whole (its state, severity with the
 * reasons, cause, milestones, notes, attached signals and links). The events it appends are the
 * record of what happened; this is the state that answers `engineroom incidents`.
 */
import type { EngineEvent, NewEvent } from "./types.js";

/** The lifecycle of an incident (rules in src/incident/lifecycle.ts). */
export const incidentStates = ["triage", "investigating", "mitigated", "resolved", "closed", "cancelled"] as const;
export type IncidentState = (typeof incidentStates)[number];

/** SEV1 is the worst. */
export const incidentSeverities = ["SEV1", "SEV2", "SEV3", "SEV4"] as const;
export type IncidentSeverity = (typeof incidentSeverities)[number];

/** What opened an incident: an alert (its id), a rollback or a release down (the release id), or a person (who). */
export interface IncidentCause {
  kind: "alert" | "rollback" | "release.down" | "manual" | "drill";
  ref: string;
}

/** Something an incident points at; `kind` says what `ref` names (a runbook run can be attached later the same way). */
export interface IncidentLink {
  kind: "release" | "alert" | "check" | "runbook-run" | "event";
  ref: string;
  /** When it was attached. */
  at: number;
  /** What is known about it (for a release: digest, config diff, who deployed and approved it, plan hash). */
  detail: Record<string, unknown>;
}

/** A signal the incident took: the one that opened it and every later one of the same cause. */
export interface IncidentSignal {
  at: number;
  kind: IncidentCause["kind"] | "alert-resolved" | "release.stopped";
  ref: string;
  /** The event it came from, if any (so a signal read twice is attached once). */
  eventId: number | null;
  summary: string;
}

export interface IncidentNote {
  at: number;
  by: string;
  text: string;
}

export interface IncidentRecord {
  /** e.g. `inc_lx2k9a1b_8f3c2d1e`. */
  id: string;
  title: string;
  state: IncidentState;
  severity: IncidentSeverity;
  /** Why the severity is what it is: the blast radius's factors, or a person's reason. */
  severityReasons: string[];
  /** `computed` from the blast radius (the engine may raise it as signals join), or set by a `person` (never recomputed). */
  severitySource: "computed" | "person";
  cause: IncidentCause;
  /** What later signals of the same cause match while the incident is open: `alert:<fingerprint>`, `target:<service>/<environment>`. */
  keys: string[];
  services: string[];
  environments: string[];
  releaseIds: string[];
  /** `engine`, or the person who opened it. */
  openedBy: string;
  openedAt: number;
  /** When the impact began (the alert's startsAt, the bad release's switch), epoch ms. */
  startedAt: number;
  commander: string | null;
  ack: { by: string; at: number } | null;
  /** When each state after triage was entered (monotone: never before the one before it). */
  milestones: Partial<Record<Exclude<IncidentState, "triage">, { at: number; by: string }>>;
  escalatedAt: number | null;
  notes: IncidentNote[];
  signals: IncidentSignal[];
  links: IncidentLink[];
  /** The timeline reads the event log from after this event id. */
  timelineAfterId: number;
  updatedAt: number;
}

export interface IncidentQuery {
  /** Only incidents not yet resolved, closed or cancelled. */
  open?: boolean;
  /** At most this many, newest opened first. Default 100. */
  limit?: number;
}

export interface IncidentRepo {
  /** Writes the incident whole (insert or replace by id) and appends `events` in the same transaction; answers the events as appended. */
  put(incident: IncidentRecord, events?: readonly NewEvent[]): Promise<EngineEvent[]>;
  get(id: string): Promise<IncidentRecord | undefined>;
  /** Newest opened first. */
  list(query?: IncidentQuery): Promise<IncidentRecord[]>;
}
