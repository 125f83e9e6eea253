export { LocalRuntime, type LocalRuntimeOptions } from "./local-runtime.js";
export { detectDrift, driftDetectionSupported, type DriftFinding, type DriftInput, type DriftInstance } from "./drift.js";
