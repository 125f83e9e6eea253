export { Deployer, type DeployerOptions, type DeployResult, type RollbackResult, type RollbackOptions, type RunOptions, type ConfigSnapshots } from "./deployer.js";
export { Supervisor, type SupervisorOptions, type InstanceView } from "./instances.js";
export { canTransition, activeStates } from "./state.js";
export type { TrafficControl, RouteOptions, Artifacts, Progress, ProgressListener } from "./types.js";
export { probe, probeInstance, type ProbeResult } from "./probe.js";
export { promote, type PromoteOptions } from "./promote.js";
export { WriterLock, writerLockKey } from "./locks.js";
export { AnalysisLog } from "./analysis-log.js";
export { policyOf, watchRelease, Watches, type WatchOutcome } from "./watch.js";
