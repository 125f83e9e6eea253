import type { Clock } from "../core/index.js";
import { EventFeed, type AlertRepo, type EngineEvent, type EventLog, type IncidentCause, type ReleaseRepo } from "../store/index.js";

/** A signal that opens an incident, or joins the open one of the same cause. */
export interface IncidentTrigger {
  cause: IncidentCause;
  /** What an open incident of the same cause has among its keys: `alert:<fingerprint>`, `target:<service>/<environment>`. */
  keys: string[];
  service: string;
  environment: string;
  releaseId?: string;
  /** When the impact began (the alert's start, the bad release's switch). */
  startedAt: number;
  title: string;
  summary: string;
  eventId: number | null;
  alert?: { id: string; rule: string; fingerprint: string; labels: Record<string, string> };
  /** Set when traffic is already back on a healthy release (a rollback done): why it is mitigated. */
  mitigated?: string;
}

/** What the event source tells: triggers, alerts resolved, releases stopped. */
export interface TriggerSink {
  signal(trigger: IncidentTrigger): Promise<unknown>;
  alertResolved(alertId: string, eventId: number | null, recovered: boolean): Promise<unknown>;
  releaseStopped(releaseId: string, eventId: number | null): Promise<unknown>;
}

export const targetKey = (service: string, environment: string) => `target:${service}/${environment}`;

type Sources = { events: Pick<EventLog, "list">; alerts: Pick<AlertRepo, "get">; releases: Pick<ReleaseRepo, "get"> };

/** The event types incidents follow, each to what it means for them (a typed table, not a chain of ifs). */
const rules: Readonly<Record<string, (e: EngineEvent, s: Sources, sink: TriggerSink) => Promise<unknown>>> = {
  // A page alert, whatever its source (a check, an SLO burn, a metric rule, release-down).
  "alert.firing": async (e, s, sink) => {
    const labels = (e.data.labels ?? {}) as Record<string, string>;
    if (labels.severity !== "page" || typeof e.data.alert !== "string") return;
    const alert = await s.alerts.get(e.data.alert);
    // Silenced or inhibited, it notifies nobody: no incident either (an inhibiting alert opens its own).
    if (alert?.silencedBy || alert?.inhibitedBy) return;
    const service = labels.service ?? "";
    const environment = labels.environment ?? "";
    const summary = alert?.annotations.summary ?? e.message;
    return sink.signal({
      cause: { kind: "alert", ref: e.data.alert },
      keys: [`alert:${alert?.fingerprint ?? e.data.alert}`, ...(service && environment ? [targetKey(service, environment)] : [])],
      service,
      environment,
      ...(labels.release && { releaseId: labels.release }),
      startedAt: alert?.startsAt ?? e.time,
      title: `${labels.alertname ?? "alert"} firing${service ? ` for ${service}` : ""}${environment ? ` in ${environment}` : ""}: ${summary}`,
      summary: `alert ${e.data.alert} (${labels.alertname}, page) firing: ${summary}`,
      eventId: e.id,
      alert: { id: e.data.alert, rule: labels.alertname ?? "", fingerprint: alert?.fingerprint ?? "", labels },
    });
  },
  "alert.resolved": async (e, s, sink) => {
    if (typeof e.data.alert !== "string") return;
    const alert = await s.alerts.get(e.data.alert);
    // A one-off alert that timed out (its resolveAt passed) did not recover: nothing was seen to get better.
    const timedOut = alert?.resolveAt != null && alert.endsAt != null && alert.endsAt >= alert.resolveAt;
    return sink.alertResolved(e.data.alert, e.id, !timedOut);
  },
  // Automatic (a failed watch) or a person's: traffic is back on the release before, so it opens mitigated.
  "release.rolled-back": async (e, s, sink) => {
    if (!e.service || !e.environment || !e.releaseId) return;
    // A drill's own release, rolled back as the drill meant: practice, not an incident (a failed drill opens its own).
    if ((await s.events.list({ releaseId: e.releaseId, types: ["drill.fault-injected"], limit: 1 })).length > 0) return;
    const release = await s.releases.get(e.releaseId);
    const to = typeof e.data.to === "string" ? await s.releases.get(e.data.to) : undefined;
    const live = await s.events.list({ releaseId: e.releaseId, types: ["release.live"], limit: 1 });
    const name = `${e.service} v${release?.number ?? "?"}`;
    return sink.signal({
      cause: { kind: "rollback", ref: e.releaseId },
      keys: [targetKey(e.service, e.environment)],
      service: e.service,
      environment: e.environment,
      releaseId: e.releaseId,
      startedAt: live[0]?.time ?? e.time,
      title: `${name} rolled back in ${e.environment}`,
      summary: e.message,
      eventId: e.id,
      mitigated: `traffic is back on ${to ? `v${to.number}` : "the release before"} (the rollback of ${name} completed)`,
    });
  },
  "release.down": async (e, s, sink) => {
    if (!e.service || !e.environment || !e.releaseId) return;
    const release = await s.releases.get(e.releaseId);
    return sink.signal({
      cause: { kind: "release.down", ref: e.releaseId },
      keys: [targetKey(e.service, e.environment)],
      service: e.service,
      environment: e.environment,
      releaseId: e.releaseId,
      startedAt: e.time,
      title: `${e.service} v${release?.number ?? "?"} down in ${e.environment}: no healthy instance left`,
      summary: e.message,
      eventId: e.id,
    });
  },
  // A drill that failed its pass rule: one open incident per drill.
  "drill.finished": async (e, _s, sink) => {
    if (e.data.passed !== false || !e.service || !e.environment || typeof e.data.drill !== "string") return;
    return sink.signal({
      cause: { kind: "drill", ref: e.data.drill },
      keys: [`drill:${e.data.drill}`],
      service: e.service,
      environment: e.environment,
      ...(e.releaseId && { releaseId: e.releaseId }),
      startedAt: typeof e.data.startedAt === "number" ? e.data.startedAt : e.time,
      title: `drill ${e.data.drill} failed in ${e.environment}: ${String(e.data.reason ?? "")}`.slice(0, 200),
      summary: e.message,
      eventId: e.id,
    });
  },
  "release.stopped": async (e, _s, sink) => (e.releaseId ? sink.releaseStopped(e.releaseId, e.id) : undefined),
};

export interface IncidentTriggersOptions extends Sources {
  sink: TriggerSink;
  clock: Clock;
  /** Time between two reads of the event log; default 2 s. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Reads the event log (the least coupled way to hear of alerts and releases: no part calls the
 * incidents) and turns the events of `rules` into the sink's signals, in the order they happened.
 */
export class IncidentTriggers {
  readonly #o: IncidentTriggersOptions;
  #feed: EventFeed | undefined;

  constructor(options: IncidentTriggersOptions) {
    this.#o = options;
  }

  /** Reads from `afterId` on (the engine passes its own start), by default from where the log ends now. */
  async start(afterId?: number): Promise<void> {
    const [newest] = afterId === undefined ? await this.#o.events.list({ limit: 1 }) : [];
    const o = this.#o;
    this.#feed ??= new EventFeed({
      events: o.events,
      types: Object.keys(rules),
      clock: o.clock,
      intervalMs: o.intervalMs ?? 2_000,
      onEvent: async (event) => rules[event.type]?.(event, o, o.sink),
      ...(o.onError && { onError: o.onError }),
    });
    this.#feed.start(afterId ?? newest?.id ?? 0);
  }

  async stop(): Promise<void> {
    await this.#feed?.stop();
  }

  /** Reads what was appended since the last read and tells the sink; answers how many events it read. */
  poll(): Promise<number> {
    if (!this.#feed) throw new Error("IncidentTriggers.poll before start");
    return this.#feed.poll();
  }
}
