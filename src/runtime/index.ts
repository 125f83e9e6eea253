/**
 * The runtime adapter: what starts and stops instances. Import runtimes from here; the shared
 * contract suite lives in runtime.contract.ts and is imported directly by each runtime's tests.
 * The engine picks a runtime from the registry (`environments.<env>.runtime`, default `local`).
 */
export type { ExitInfo, InstanceInfo, InstanceProbe, InstanceSpec, InstanceUsage, InstanceStatus, ProbeResult, Runtime, StopOptions } from "./types.js";
export { probe, type ProbeRequest } from "./probe.js";
export { createRuntime, runtimeConfigSchema, runtimeTypes, type RuntimeConfig, type RuntimeContext, type RuntimeType, type RuntimeTypeName } from "./registry.js";
export { FleetRuntime, RemoteRuntime, sshRuntimeOptions, type AgentChannel, type FleetHost, type Placement, type RemoteRuntimeOptions, type SshHostConfig, type SshRuntimeConfig } from "./remote/index.js";
export { CompositeRuntime } from "./composite.js";
export { UnattachedRuntime } from "./unattached.js";
export { LocalRuntime, stopRecordedInstances, detectDrift, driftDetectionSupported, type LocalRuntimeOptions, type DriftFinding } from "./local/index.js";
