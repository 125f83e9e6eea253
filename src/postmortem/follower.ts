import type { Clock } from "../core/index.js";
import { EventFeed, type EventLog } from "../store/index.js";

export interface ResolveFollowerOptions {
  events: Pick<EventLog, "list">;
  clock: Clock;
  /** Called once per `incident.resolved` event, in order. */
  onResolved: (incidentId: string) => Promise<unknown>;
  /** Time between two reads of the event log; default 2 s. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/** Follows the event log for `incident.resolved` (the incident manager need not know of post-mortems). */
export function resolveFollower(options: ResolveFollowerOptions): EventFeed {
  const { onResolved, ...rest } = options;
  return new EventFeed({ ...rest, types: ["incident.resolved"], onEvent: async (e) => (typeof e.data.incidentId === "string" ? onResolved(e.data.incidentId) : undefined) });
}
