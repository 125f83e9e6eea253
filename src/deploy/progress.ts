import { EngineError } from "../core/index.js";
import type { Progress, ProgressListener } from "./types.js";

/** The error of a deploy cancelled before its switch. */
export function cancelled(signal: AbortSignal): EngineError {
  const why = signal.reason instanceof Error ? signal.reason.message : "cancelled";
  return new EngineError("DEPLOY_CANCELLED", `deploy cancelled before the switch (${why}); the previous release keeps serving`);
}

/** A progress callback that never throws into the deploy. */
export function progressOf(listener: ProgressListener | undefined): (p: Progress) => void {
  return (p) => {
    try {
      listener?.(p);
    } catch {
      // A listener that throws (e.g. a closed HTTP stream) must not break the deploy.
    }
  };
}
