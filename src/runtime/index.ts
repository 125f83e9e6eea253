/**
 * The runtime adapter: what starts and stops instances. Import runtimes from here; the shared
 * contract suite lives in runtime.contract.ts and is imported directly by each runtime's tests.
 */
export type { ExitInfo, InstanceInfo, InstanceSpec, InstanceStatus, Runtime, StopOptions } from "./types.js";
export { LocalRuntime, detectDrift, driftDetectionSupported, type LocalRuntimeOptions, type DriftFinding } from "./local/index.js";
