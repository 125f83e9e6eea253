import type { ErrorCode } from "../core/index.js";

/**
 * The CLI's exit codes (documented in the README):
 * 0 done; 1 the operation failed (a deploy that did not go live, a rollback that could not happen);
 * 2 bad input (config, arguments, unknown service); 3 no engine runs; 4 refused because something
 * else holds the service (a deploy in progress, a lock); 130 interrupted.
 */
export const exitCodes = { ok: 0, failed: 1, badInput: 2, noEngine: 3, conflict: 4, interrupted: 130 } as const;

export function exitCodeFor(code: ErrorCode): number {
  if (code.startsWith("CONFIG_") || code === "SERVICE_UNKNOWN" || code === "API_BAD_REQUEST" || code.startsWith("ARTIFACT_")) return exitCodes.badInput;
  if (code === "ENGINE_NOT_RUNNING") return exitCodes.noEngine;
  if (code === "DEPLOY_IN_PROGRESS" || code === "LOCK_HELD" || code === "ENGINE_ALREADY_RUNNING") return exitCodes.conflict;
  if (code === "DEPLOY_CANCELLED") return exitCodes.interrupted;
  return exitCodes.failed;
}
