import { createHash } from "node:crypto";
import type { Clock } from "../../core/index.js";
import type { EngineEvent, EventLog } from "../../store/index.js";
import type { AlertSignal, AlertSink } from "../types.js";
import { Ticker } from "./ticker.js";

/** A one-off alert from a release event resolves by itself after this long (Alertmanager's resolve_timeout, for events that have no "over" of their own). */
export const eventAlertResolveMs = 30 * 60_000;
/** A drift alert resolves with its `drift.resolved`; this is only the backstop for one whose resolution an engine restart lost. */
export const driftAlertResolveMs = 24 * 3_600_000;

/** Turns one event into the signals it means: a new alert, the end of another. */
type EventRule = (event: EngineEvent) => AlertSignal[];

const releaseLabels = (e: EngineEvent) => ({ service: e.service ?? "", environment: e.environment ?? "", release: e.releaseId ?? "" });

function oneOff(rule: string, severity: AlertSignal["severity"], e: EngineEvent): AlertSignal {
  return { rule, severity, labels: releaseLabels(e), annotations: { summary: e.message, event: String(e.id) }, active: true, resolveAfterMs: eventAlertResolveMs, since: e.time };
}

/** A release that traffic left (rolled back from, or stopped) is no longer down for anyone. */
function noLongerDown(e: EngineEvent): AlertSignal {
  return { rule: "release-down", severity: "page", labels: releaseLabels(e), annotations: { summary: `${e.message} (no longer serving)` }, active: false };
}

function drift(e: EngineEvent, active: boolean): AlertSignal {
  const data = e.data as { kind?: unknown; message?: unknown };
  const finding = typeof data.message === "string" ? data.message : e.message;
  // DriftWatch tells findings apart by their message; a short hash of it keeps the label readable.
  const id = createHash("sha256").update(finding).digest("hex").slice(0, 12);
  return {
    rule: "drift-detected",
    severity: "ticket",
    labels: { kind: typeof data.kind === "string" ? data.kind : "unknown", drift: id },
    annotations: { summary: e.message, event: String(e.id) },
    active,
    ...(active && { resolveAfterMs: driftAlertResolveMs, since: e.time }),
  };
}

/**
 * The engine's own events that are alerts, by event type (a typed table, not a chain of ifs):
 * - `release.rolled-back` → `release-rolled-back` (ticket), automatic or an operator's; it also ends
 *   the release's `release-down`, since traffic left it;
 * - `release.down` → `release-down` (page): a serving release has no healthy instance left;
 * - `release.failed` → `deploy-failed` (ticket): a release that never got live;
 * - `drift.detected` / `drift.resolved` → `drift-detected` (ticket) firing / resolved.
 */
export const eventRules: Readonly<Record<string, EventRule>> = {
  "release.rolled-back": (e) => [oneOff("release-rolled-back", "ticket", e), noLongerDown(e)],
  "release.stopped": (e) => [noLongerDown(e)],
  "release.down": (e) => [oneOff("release-down", "page", e)],
  "release.failed": (e) => [oneOff("deploy-failed", "ticket", e)],
  "drift.detected": (e) => [drift(e, true)],
  "drift.resolved": (e) => [drift(e, false)],
};

export interface EventAlertsOptions {
  events: Pick<EventLog, "list">;
  sink: AlertSink;
  clock: Clock;
  /** Time between two reads of the event log; default 2 s. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * The alert source over the event log: polls it for the event types of `eventRules`, from where
 * it starts on (history from before is never replayed as alerts), and reports their signals in
 * the order the events happened.
 */
export class EventAlerts {
  readonly #o: EventAlertsOptions;
  readonly #ticker: Ticker;
  #afterId: number | undefined;

  constructor(options: EventAlertsOptions) {
    this.#o = options;
    this.#ticker = new Ticker(options.clock, options.intervalMs ?? 2_000, async () => void (await this.poll()), options.onError ?? (() => {}));
  }

  /**
   * Polls from `afterId` on (the engine passes its own `engine.started` event, so what its restore
   * found, a release that could not come back, still alerts), or by default from where the log
   * ends now.
   */
  async start(afterId?: number): Promise<void> {
    const [newest] = afterId === undefined ? await this.#o.events.list({ limit: 1 }) : [];
    this.#afterId = afterId ?? newest?.id ?? 0;
    this.#ticker.start();
  }

  stop(): Promise<void> {
    return this.#ticker.stop();
  }

  /** Reads the events appended since the last poll and reports their signals; returns how many events it read. */
  async poll(): Promise<number> {
    if (this.#afterId === undefined) throw new Error("EventAlerts.poll before start");
    const types = Object.keys(eventRules);
    let read = 0;
    for (;;) {
      const batch = await this.#o.events.list({ afterId: this.#afterId, types, limit: 100 });
      for (const event of batch) {
        for (const signal of eventRules[event.type]?.(event) ?? []) this.#o.sink.report(signal);
        this.#afterId = event.id;
      }
      read += batch.length;
      if (batch.length < 100) return read;
    }
  }
}
