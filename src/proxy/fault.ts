/**
 * A drill's fault, injected by the proxy into the requests it sends to one release's instances (a
 * rollback drill's own release, never another): a share of them answered 500 by the proxy itself,
 * and/or every one held back before it goes upstream. Off (no `fault` on the route) it costs the hot
 * path one property check per request.
 */
import type { ServerResponse } from "node:http";
import type { ReleaseStats } from "./metrics.js";
import type { RouteFault } from "./types.js";

/** The header on every answer the fault made, so that the drill's load tells them from real failures. */
export const faultHeader = "x-engineroom-fault";

/** A route's fault as the worker keeps it: the error share is spread evenly (20% is every 5th request), not drawn at random. */
export interface FaultState {
  errorRate: number;
  latencyMs: number;
  /** Accumulates `errorRate` per request; each time it reaches 1, that request fails. */
  debt: number;
}

export function faultOf(fault: RouteFault | undefined): FaultState | undefined {
  if (fault === undefined) return undefined;
  const errorRate = Math.min(1, Math.max(0, fault.errorRate ?? 0));
  const latencyMs = Math.max(0, fault.latencyMs ?? 0);
  return errorRate === 0 && latencyMs === 0 ? undefined : { errorRate, latencyMs, debt: 0 };
}

/** True when this request is one of the share that fails. */
export function faultFails(fault: FaultState): boolean {
  if (fault.errorRate === 0) return false;
  fault.debt += fault.errorRate;
  if (fault.debt < 1 - 1e-9) return false;
  fault.debt -= 1;
  return true;
}

const body = "drill fault: injected by engineroom\n";

/** Answers 500 as the drill's fault, counted in the release's metrics as its own 5xx (what analysis must catch). */
export function answerFault(res: ServerResponse, release: ReleaseStats, start: number): void {
  res.writeHead(500, ["content-type", "text/plain; charset=utf-8", "content-length", String(body.length), faultHeader, "drill"]);
  res.end(body);
  release.response(500, performance.now() - start, Date.now());
}
