import { errorCatalogue, type ErrorCode } from "../core/index.js";

/**
 * The CLI's exit codes (documented in the README):
 * 0 done; 1 the operation failed (a deploy that did not go live, a rollback that could not happen,
 * a request the current state refuses); 2 bad input (config, arguments, an unknown service,
 * environment, release or secret); 3 no engine runs, or it went away during the command; 4 refused
 * because something else holds the service (a deploy in progress, a lock); 130 interrupted.
 */
export const exitCodes = { ok: 0, failed: 1, badInput: 2, noEngine: 3, conflict: 4, interrupted: 130 } as const;

/**
 * The codes whose exit code their HTTP status does not tell: 503 is "no engine" only for the
 * engine's own absence, 409 is "busy" only when something else holds the service.
 */
const exceptions: Partial<Record<ErrorCode, number>> = {
  ENGINE_NOT_RUNNING: exitCodes.noEngine,
  ENGINE_GONE: exitCodes.noEngine,
  DEPLOY_IN_PROGRESS: exitCodes.conflict,
  LOCK_HELD: exitCodes.conflict,
  DRILL_BUSY: exitCodes.conflict,
  RUNBOOK_BUSY: exitCodes.conflict,
  ENGINE_ALREADY_RUNNING: exitCodes.conflict,
  DEPLOY_CANCELLED: exitCodes.interrupted,
};

/**
 * The exit code of an error, from the catalogue: the client's mistakes (400 bad request, 401, 404
 * unknown name) are bad input; what the state refused (409) or what failed (422, 5xx) is a failure;
 * the few `exceptions` above say more.
 */
export function exitCodeFor(code: ErrorCode): number {
  const exception = exceptions[code];
  if (exception !== undefined) return exception;
  const status = errorCatalogue[code]?.status ?? 500;
  return status === 400 || status === 401 || status === 404 ? exitCodes.badInput : exitCodes.failed;
}
