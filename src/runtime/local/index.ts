export { LocalRuntime, type LocalRuntimeOptions } from "./local-runtime.js";
export { stopRecordedInstances } from "./cleanup.js";
export { localRuntimeOptions, type LocalRuntimeConfig } from "./options.js";
export { detectDrift, driftDetectionSupported, type DriftFinding, type DriftInput, type DriftInstance } from "./drift.js";
