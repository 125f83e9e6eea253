import type { RouteConfig, ServiceConfig } from "../config/index.js";
import type { ReleaseState } from "../store/index.js";

/** What engineroom.yaml declares: per environment of the chain (first to last), each service as it runs there. */
export interface DesiredState {
  /** The promotion chain in order; each environment with its resolved services (overrides merged). */
  readonly environments: readonly DesiredEnvironment[];
  /** sha256 of engineroom.yaml as it is now, when known; compared with the one last applied. */
  readonly fileHash?: string;
}

export interface DesiredEnvironment {
  readonly name: string;
  readonly services: Readonly<Record<string, ServiceConfig>>;
}

/** What runs and what the store recorded, as the engine gathered it for a plan. */
export interface CurrentState {
  /** By environment name; an environment with nothing live may be left out. */
  readonly environments: Readonly<Record<string, CurrentEnvironment>>;
  /** sha256 of engineroom.yaml at the last apply, if there was one. */
  readonly appliedFileHash?: string;
}

export interface CurrentEnvironment {
  /** Services with a live release in this environment, by name. */
  readonly services: Readonly<Record<string, CurrentService>>;
}

/** One service's live release in one environment. */
export interface CurrentService {
  readonly live: LiveRelease;
  /** The resolved config recorded for the live release (its snapshot by configHash); undefined when the snapshot is missing. */
  readonly config: ServiceConfig | undefined;
  /** Instances of the live release that are running and healthy now. */
  readonly runningInstances: number;
  /** The routes the proxy serves to this release now. */
  readonly routes: readonly RouteConfig[];
}

/** The parts of a live release a plan needs. `state` tells whether it may be promoted (only `stable` is). */
export interface LiveRelease {
  readonly id: string;
  readonly number: number;
  readonly artifactDigest: string;
  readonly configHash: string;
  readonly state: ReleaseState;
}

export type ChangeAction = "create" | "update" | "delete" | "no-op";

/**
 * One attribute that differs between the recorded config (`before`) and the declared one (`after`).
 * `path` reads like `instances`, `env.GREETING`, `health.path`, `routes`, `smoke[0].expect.status`.
 * A side that is left out did not exist there. Values are config values as written: an env value
 * that is a secret reference stays the reference (`{ secret: "db_password" }`); no value is ever looked up.
 */
export interface AttributeDiff {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** Reality differs from what the engine last applied, though the config may not. */
export interface DriftNote {
  readonly kind: "instances" | "routes";
  /** e.g. "2 of 3 instances running". */
  readonly message: string;
}

/** What apply would do for a change. */
export type ApplyStep =
  /** First environment of the chain: deploy the service's declared artifact. */
  | { readonly kind: "deploy"; readonly artifact: string }
  /** A later environment: promote the release that is stable in the environment before. */
  | { readonly kind: "promote"; readonly from: string; readonly releaseId: string; readonly number: number; readonly artifactDigest: string; readonly initial: boolean }
  /** A new release of the live artifact with the declared config, switched with zero downtime. */
  | { readonly kind: "redeploy"; readonly artifactDigest: string }
  /** Stop the live release: the service (or its environment) is no longer declared. */
  | { readonly kind: "stop"; readonly releaseId: string };

/** The plan for one service in one environment. Optional fields are left out, never `undefined`. */
export interface Change {
  readonly environment: string;
  readonly service: string;
  readonly action: ChangeAction;
  /** Why, in a few words: "not live yet", "config changed", "drift", "no longer declared". */
  readonly reason: string;
  /** The live release this change starts from (update, delete, no-op). */
  readonly live?: { readonly id: string; readonly number: number; readonly artifactDigest: string; readonly configHash: string };
  /** Hash of the declared config (create, update, no-op). */
  readonly configHash?: string;
  /** Attribute changes, recorded → declared (update). */
  readonly diffs: readonly AttributeDiff[];
  /** The recorded config of the live release is missing, so its attribute changes cannot be shown (update). */
  readonly recordedConfigMissing?: true;
  readonly drift: readonly DriftNote[];
  /** What apply would do; left out for no-op and for blocked changes. */
  readonly step?: ApplyStep;
  /** Why apply cannot do this change now, readable, e.g. "web v4 in staging is watching, not stable". */
  readonly blockedBy?: string;
  /** What the change does to the monthly cost, when the project has a price sheet (added by the engine from cost/). */
  readonly cost?: ChangeCost;
}

/**
 * A change's monthly cost (730 hours) before and after, as exact decimal strings in the sheet's
 * currency, with the texts a person reads. `before` is null when nothing ran (create).
 */
export interface ChangeCost {
  readonly before: string | null;
  readonly after: string;
  readonly delta: string;
  /** e.g. "+$14.20/month". */
  readonly deltaText: string;
  /** e.g. "$28.40 → $42.60/month". */
  readonly text: string;
}

/** The plan's cost: every change's, summed; the budget guardrail's verdict when `cost.budget` is set. */
export interface PlanCost {
  readonly currency: string;
  readonly hoursPerMonth: number;
  readonly before: string;
  readonly after: string;
  readonly delta: string;
  /** e.g. "Cost: $28.40 → $42.60 per month (+$14.20/month; a month is 730 h, prices in USD)". */
  readonly text: string;
  readonly budget?: { readonly maxMonthlyIncrease: string; readonly exceeded: boolean; readonly text: string };
}

export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly delete: number;
  readonly noOp: number;
  /** Changes (not no-ops) that apply cannot do now. */
  readonly blocked: number;
}

/** A plan: every environment × service, what to do, and the hash of the state it was made from. */
export interface Plan {
  readonly version: 1;
  /** planHash(desired, current): a saved plan is applied only while this still matches. */
  readonly hash: string;
  readonly summary: PlanSummary;
  /** Environments in chain order (undeclared ones after), services sorted by name. */
  readonly changes: readonly Change[];
  /** engineroom.yaml now and at the last apply; `changed` when both are known and differ. */
  readonly configFile: { readonly current?: string; readonly applied?: string; readonly changed: boolean };
  /** The monthly cost of the changes, when the project has a price sheet. */
  readonly cost?: PlanCost;
}

export interface PlanOptions {
  /** Plan only these environments (default: all, including undeclared ones with something live). */
  readonly environments?: readonly string[];
}
