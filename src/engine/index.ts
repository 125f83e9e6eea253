export { Engine, expandEnv, secretProviders, type EngineOptions } from "./engine.js";
export { forwardEnvironmentHosts, prepareEnvironmentHosts, type ForwardedEnvironment } from "./hosts-wiring.js";
export { EnvironmentRuntime } from "./environment.js";
export { createOperations, forceUnlock, type Operations, type Call, type Followed, type Unlocked } from "./operations.js";
export { projectStatus, serviceReleases, serviceLogs, requireService, type ProjectStatus, type EnvironmentStatus, type ServiceStatus, type InstanceLogs, type ReleaseWithProvenance } from "./queries.js";
export { StateFiles, processAlive, type EngineInfo } from "./state-files.js";
export { applyPlan, currentState, planProject, readApplied, type AppliedRevision } from "./apply.js";
export { DriftWatch, scanDrift, type Drift } from "./drift.js";
export type { SloOperations, SloReport } from "./ops/slo.js";
export type { RunbookOperations, RunbookSummary } from "./ops/runbooks.js";
export type { DrillOperations, DrillView, MeasuredDrill } from "./ops/drills.js";
export { projectJsonSchema } from "./schema.js";
export {
  adminCaller,
  adminTokenName,
  authorize,
  can,
  grants,
  parseScope,
  scopeFor,
  environmentScopeKinds,
  type Access,
  type Audit,
  type AuditDecision,
  type AuditEntry,
  type AuditInput,
  type Caller,
  type EnvironmentScopeKind,
  type Scope,
  type TokenRecord,
  type Tokens,
} from "./access.js";
export { apiListen, isLoopback, reachableHost, type ApiListen } from "./api-listen.js";
export { changeHash, defaultApprovalExpiryMs, type ApprovalAction, type ApprovalKind, type ApprovalParty, type ApprovalRequest, type ApprovalStatus } from "./approvals.js";
export type { ApprovalOperations } from "./ops/approvals.js";
