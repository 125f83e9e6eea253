/**
 * The incident manager: opens incidents from the engine's own signals (a page alert, a rollback, a
 * release down) and by hand, one open incident per cause; computes their severity from the blast
 * radius; moves them through their lifecycle; tells the coordinator on the configured channels; and
 * escalates the ones nobody acknowledges. Every change is written with its events in one store
 * transaction, one change at a time.
 */
import { EngineError, type Clock } from "../core/index.js";
import type { IncidentLink, IncidentRecord, IncidentSeverity, IncidentState, NewEvent, Store } from "../store/index.js";
import type { IncidentsConfig } from "./config.js";
import { checkTransition, isOpen, monotoneTime } from "./lifecycle.js";
import { releaseFacts, type ConfigReader, type ReleaseFacts } from "./links.js";
import { incidentNotification, type IncidentNotice, type IncidentOutbox } from "./notices.js";
import { gatherRadius, type ImpactSource } from "./radius.js";
import { blankIncident, incidentEvent, openedEvent } from "./records.js";
import { assessSeverity, worse } from "./severity.js";
import { buildTimeline, firstEventSince } from "./timeline.js";
import { targetKey, type IncidentTrigger } from "./triggers.js";

export interface IncidentManagerOptions {
  store: Pick<Store, "incidents" | "events" | "releases">;
  clock: Clock;
  config: IncidentsConfig;
  /** The engine's Notifier; without one, incidents are kept but nobody is told. */
  outbox?: IncidentOutbox;
  impact: ImpactSource;
  configs: ConfigReader;
  /** Where a person can look (the engine's API). */
  externalURL?: string;
  /** How often unacknowledged incidents are looked at for escalation; default 5 s. */
  escalationCheckMs?: number;
  onError?: (error: unknown) => void;
}

/** What a person gives to open an incident by hand. */
export interface ManualIncident {
  title: string;
  service: string;
  environment: string;
  /** Without it, computed from the blast radius. */
  severity?: IncidentSeverity;
  commander?: string;
  note?: string;
  by: string;
}

/** A person's update: each given field is its own recorded change, applied in this order. */
export interface IncidentUpdate {
  severity?: IncidentSeverity;
  /** Required with `severity`. */
  reason?: string;
  commander?: string;
  note?: string;
  status?: IncidentState;
  by: string;
}

/** An incident as `engineroom incidents show` gives it: the record and its timeline from the event log. */
export interface IncidentView {
  incident: IncidentRecord;
  timeline: { id: number; time: number; type: string; service: string | null; environment: string | null; releaseId: string | null; message: string }[];
}

/** One change in the making: the record as it becomes, the events and the lines of the notice. */
interface Change {
  incident: IncidentRecord;
  events: NewEvent[];
  lines: string[];
  reason: string;
}

export class IncidentManager {
  readonly #o: IncidentManagerOptions;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: IncidentManagerOptions) {
    this.#o = options;
  }

  /** Runs the escalation checks on the clock until stopped. */
  start(): void {
    this.#loop ??= (async () => {
      const signal = this.#abort.signal;
      while (!signal.aborted) {
        try {
          await this.#o.clock.sleep(this.#o.escalationCheckMs ?? 5_000, signal);
          await this.escalate();
        } catch (error) {
          if (!signal.aborted) this.#o.onError?.(error);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    await this.#queue.catch(() => undefined);
  }

  /** Newest opened first: the open ones, or with `all` every one (up to `limit`). */
  list(options: { all?: boolean; limit?: number } = {}): Promise<IncidentRecord[]> {
    return this.#o.store.incidents.list({ open: !options.all, limit: options.limit ?? (options.all ? 50 : 500) });
  }

  /** The incident (INCIDENT_NOT_FOUND). */
  async get(id: string): Promise<IncidentRecord> {
    const incident = await this.#o.store.incidents.get(id);
    if (!incident) throw new EngineError("INCIDENT_NOT_FOUND", `No incident with id ${id}.`);
    return incident;
  }

  /** The incident with its timeline: the events of its services, environments and releases from before its impact began until it ended (or now). */
  async show(id: string): Promise<IncidentView> {
    const incident = await this.get(id);
    return { incident, timeline: await buildTimeline(this.#o.store.events, incident) };
  }

  /**
   * A signal from the engine: joins the open incident of the same cause (the same alert
   * fingerprint, or the same service and environment), or opens one. A signal read twice joins once.
   */
  signal(trigger: IncidentTrigger): Promise<IncidentRecord> {
    return this.#exclusive(async () => {
      const open = await this.#o.store.incidents.list({ open: true, limit: 1000 });
      const match = [...open].reverse().find((i) => trigger.keys.some((k) => i.keys.includes(k)));
      return match ? this.#attach(match, trigger) : this.#openFrom(trigger);
    });
  }

  /** An alert resolved: an incident opened by alerts whose every alert has resolved is mitigated, by the engine. */
  alertResolved(alertId: string, eventId: number | null, recovered: boolean): Promise<void> {
    return this.#exclusive(async () => {
      for (const incident of await this.#o.store.incidents.list({ open: true, limit: 1000 })) {
        const link = incident.links.find((l) => l.kind === "alert" && l.ref === alertId);
        if (!link || link.detail.resolvedAt !== undefined) continue;
        const change = this.#change(incident, "incident.updated");
        const now = this.#o.clock.now();
        change.incident.links = incident.links.map((l) => (l === link ? { ...l, detail: { ...l.detail, resolvedAt: now, recovered } } : l));
        change.incident.signals = [...incident.signals, { at: now, kind: "alert-resolved", ref: alertId, eventId, summary: `alert ${alertId} resolved${recovered ? "" : " (timed out, not a recovery)"}` }];
        const alerts = change.incident.links.filter((l) => l.kind === "alert");
        if (incident.cause.kind === "alert" && (incident.state === "triage" || incident.state === "investigating") && recovered && alerts.every((l) => l.detail.resolvedAt !== undefined && l.detail.recovered !== false)) {
          this.#transition(change, "mitigated", "engine", true);
          change.lines.push("mitigated by the engine: every alert of the incident resolved");
          await this.#commit(change);
        } else {
          await this.#o.store.incidents.put(change.incident);
        }
      }
    });
  }

  /** A release was stopped (traffic left it): an incident opened because it was down is mitigated. */
  releaseStopped(releaseId: string, eventId: number | null): Promise<void> {
    return this.#exclusive(async () => {
      for (const incident of await this.#o.store.incidents.list({ open: true, limit: 1000 })) {
        if (incident.cause.kind !== "release.down" || incident.cause.ref !== releaseId || !(incident.state === "triage" || incident.state === "investigating")) continue;
        const change = this.#change(incident, "incident.updated");
        change.incident.signals = [...incident.signals, { at: this.#o.clock.now(), kind: "release.stopped", ref: releaseId, eventId, summary: `release ${releaseId} stopped: traffic left it` }];
        this.#transition(change, "mitigated", "engine", true);
        change.lines.push("mitigated by the engine: traffic left the release that was down");
        await this.#commit(change);
      }
    });
  }

  /** Opens an incident by hand (always a new one: a person's call); the engine's later signals of its service and environment join it. */
  async open(input: ManualIncident): Promise<IncidentRecord> {
    if (!input.title.trim()) throw new EngineError("INCIDENT_INVALID", "An incident needs a title (--title).");
    return this.#exclusive(async () => {
      const now = this.#o.clock.now();
      const incident = blankIncident({
        title: input.title.trim(),
        cause: { kind: "manual", ref: input.by },
        // The engine's later signals about the same service and environment join the person's incident.
        keys: [targetKey(input.service, input.environment)],
        services: [input.service],
        environments: [input.environment],
        releaseIds: [],
        startedAt: now,
        openedBy: input.by,
        now,
      });
      incident.commander = input.commander ?? null;
      if (input.note) incident.notes.push({ at: now, by: input.by, text: input.note });
      incident.timelineAfterId = await firstEventSince(this.#o.store.events, input.service, now - 60_000);
      await this.#assess(incident, []);
      if (input.severity) {
        Object.assign(incident, { severity: input.severity, severityReasons: [`set by ${input.by} at open`], severitySource: "person" });
      }
      const change: Change = { incident, events: [openedEvent(incident)], lines: [`opened by ${input.by}`], reason: "incident.opened" };
      return this.#commit(change);
    });
  }

  /** Records who acknowledged, and when (once; later acknowledgements change nothing). */
  ack(id: string, by: string): Promise<IncidentRecord> {
    return this.#exclusive(async () => {
      const incident = await this.get(id);
      if (!isOpen(incident.state)) throw new EngineError("INCIDENT_TRANSITION_INVALID", `Incident ${id} is ${incident.state}: only an open incident is acknowledged.`, { details: { state: incident.state } });
      if (incident.ack) return incident;
      const change = this.#change(incident, "incident.updated");
      change.incident.ack = { by, at: this.#o.clock.now() };
      change.events.push(incidentEvent(change.incident, "incident.acknowledged", `incident ${id} acknowledged by ${by}`, { by }));
      change.lines.push(`acknowledged by ${by}`);
      return this.#commit(change);
    });
  }

  /** A person's update: severity (with a reason), commander, note, status — each recorded, one notice for all. */
  async update(id: string, input: IncidentUpdate): Promise<IncidentRecord> {
    const given = [input.severity, input.commander, input.note, input.status].filter((v) => v !== undefined);
    if (given.length === 0) throw new EngineError("INCIDENT_INVALID", `Nothing to update on incident ${id}: give a status, a note, a commander or a severity.`);
    if (input.severity !== undefined && !input.reason?.trim()) throw new EngineError("INCIDENT_INVALID", `A severity change needs a reason (--reason).`);
    return this.#exclusive(async () => {
      const incident = await this.get(id);
      const change = this.#change(incident, input.status === "resolved" ? "incident.resolved" : "incident.updated");
      if (input.status !== undefined) checkTransition(incident, input.status);
      if (!isOpen(incident.state) && input.status === undefined && (input.severity || input.commander)) {
        throw new EngineError("INCIDENT_TRANSITION_INVALID", `Incident ${id} is ${incident.state}: its severity and commander no longer change.`, { details: { state: incident.state } });
      }
      const next = change.incident;
      if (input.severity !== undefined && input.severity !== incident.severity) {
        const reason = input.reason!.trim();
        change.events.push(incidentEvent(next, "incident.severity-changed", `incident ${id} severity ${incident.severity} → ${input.severity} by ${input.by}: ${reason}`, { from: incident.severity, to: input.severity, by: input.by, reason }));
        Object.assign(next, { severity: input.severity, severityReasons: [`set by ${input.by}: ${reason}`], severitySource: "person" });
        change.lines.push(`severity ${incident.severity} → ${input.severity} by ${input.by}: ${reason}`);
      }
      if (input.commander !== undefined || input.note !== undefined) {
        if (input.commander !== undefined) next.commander = input.commander;
        if (input.note !== undefined) next.notes = [...next.notes, { at: this.#o.clock.now(), by: input.by, text: input.note }];
        const what = [input.commander !== undefined && `commander ${input.commander}`, input.note !== undefined && `note: ${input.note}`].filter(Boolean).join("; ");
        change.events.push(incidentEvent(next, "incident.updated", `incident ${id} updated by ${input.by}: ${what}`, { ...(input.note !== undefined && { note: input.note }), ...(input.commander !== undefined && { commander: input.commander }) }));
        change.lines.push(`${input.by}: ${what}`);
      }
      if (input.status !== undefined) {
        this.#transition(change, input.status, input.by);
        change.lines.push(`${incident.state} → ${input.status} by ${input.by}`);
      }
      if (change.events.length === 0) return incident; // the severity it already has: nothing to record or tell
      return this.#commit(change);
    });
  }

  /** Resolves a mitigated incident, with an optional note. */
  resolve(id: string, input: { note?: string; by: string }): Promise<IncidentRecord> {
    return this.update(id, { status: "resolved", ...(input.note !== undefined && { note: input.note }), by: input.by });
  }

  /** Closes a resolved incident. */
  close(id: string, by: string): Promise<IncidentRecord> {
    return this.update(id, { status: "closed", by });
  }

  /**
   * Attaches something to an incident (a runbook run, an event, a check) as a link of its kind;
   * attaching the same kind and ref again changes nothing. Recorded as `incident.updated`.
   */
  async link(id: string, link: { kind: IncidentLink["kind"]; ref: string; detail?: Record<string, unknown> }, by: string): Promise<IncidentRecord> {
    return this.#exclusive(async () => {
      const incident = await this.get(id);
      if (incident.links.some((l) => l.kind === link.kind && l.ref === link.ref)) return incident;
      const change = this.#change(incident, "incident.updated");
      change.incident.links = [...incident.links, { kind: link.kind, ref: link.ref, at: this.#o.clock.now(), detail: link.detail ?? {} }];
      const note = `${link.kind} ${link.ref} attached by ${by}`;
      change.events.push(incidentEvent(change.incident, "incident.updated", `incident ${id}: ${note}`, { note }));
      change.lines.push(note);
      return this.#commit(change);
    });
  }

  /** Escalates every open incident nobody acknowledged within `escalate_after` of its opening (once each). */
  escalate(): Promise<number> {
    return this.#exclusive(async () => {
      const now = this.#o.clock.now();
      let escalated = 0;
      for (const incident of await this.#o.store.incidents.list({ open: true, limit: 1000 })) {
        if (incident.ack || incident.escalatedAt !== null || now - incident.openedAt < this.#o.config.escalateAfterMs) continue;
        const change = this.#change(incident, "incident.escalated");
        change.incident.escalatedAt = now;
        change.events.push(incidentEvent(change.incident, "incident.escalated", `incident ${incident.id} escalated: nobody acknowledged it within ${Math.round(this.#o.config.escalateAfterMs / 60_000)}m`, {}));
        change.lines.push(`nobody acknowledged this incident within ${Math.round(this.#o.config.escalateAfterMs / 60_000)} minutes of its opening: engineroom incidents ack ${incident.id}`);
        await this.#commit(change, this.#o.config.escalationChannels);
        escalated++;
      }
      return escalated;
    });
  }

  // --- inside ---

  async #openFrom(trigger: IncidentTrigger): Promise<IncidentRecord> {
    const now = this.#o.clock.now();
    const incident = blankIncident({
      title: trigger.title,
      cause: trigger.cause,
      keys: trigger.keys,
      services: trigger.service ? [trigger.service] : [],
      environments: trigger.environment ? [trigger.environment] : [],
      releaseIds: trigger.releaseId ? [trigger.releaseId] : [],
      startedAt: Math.min(trigger.startedAt, now),
      openedBy: "engine",
      now,
    });
    incident.signals.push({ at: now, kind: trigger.cause.kind, ref: trigger.cause.ref, eventId: trigger.eventId, summary: trigger.summary });
    const facts = await this.#link(incident, trigger, now);
    const since = Math.min(incident.startedAt, ...facts.map((f) => f.switchedAt ?? incident.startedAt)) - 60_000;
    incident.timelineAfterId = await firstEventSince(this.#o.store.events, trigger.service || undefined, since);
    await this.#assess(incident, facts);
    const change: Change = { incident, events: [openedEvent(incident)], lines: [`opened by the engine: ${trigger.summary}`], reason: "incident.opened" };
    if (trigger.mitigated) {
      this.#transition(change, "mitigated", "engine", true);
      change.lines.push(`mitigated by the engine: ${trigger.mitigated}`);
    }
    return this.#commit(change);
  }

  async #attach(incident: IncidentRecord, trigger: IncidentTrigger): Promise<IncidentRecord> {
    if (trigger.eventId !== null && incident.signals.some((s) => s.eventId === trigger.eventId)) return incident;
    const now = this.#o.clock.now();
    const change = this.#change(incident, "incident.updated");
    const next = change.incident;
    const union = (list: string[], value: string | undefined) => (value && !list.includes(value) ? [...list, value] : list);
    next.services = union(next.services, trigger.service);
    next.environments = union(next.environments, trigger.environment);
    next.releaseIds = union(next.releaseIds, trigger.releaseId);
    next.keys = [...new Set([...next.keys, ...trigger.keys])];
    next.signals = [...next.signals, { at: now, kind: trigger.cause.kind, ref: trigger.cause.ref, eventId: trigger.eventId, summary: trigger.summary }];
    const facts = await this.#link(next, trigger, now);
    const note = `signal joined: ${trigger.summary}`;
    change.events.push(incidentEvent(next, "incident.updated", `incident ${incident.id}: ${note}`, { note }));
    change.lines.push(note);
    if (next.severitySource === "computed") {
      const before = next.severity;
      await this.#assess(next, facts);
      if (worse(next.severity, before)) {
        const reason = `the blast radius grew: ${next.severityReasons.join("; ")}`;
        change.events.push(incidentEvent(next, "incident.severity-changed", `incident ${incident.id} severity ${before} → ${next.severity} by the engine`, { from: before, to: next.severity, by: "engine", reason }));
        change.lines.push(`severity ${before} → ${next.severity} (the blast radius grew)`);
      } else if (next.severity !== before) Object.assign(next, { severity: before, severityReasons: incident.severityReasons }); // never lowered by itself
    }
    if (trigger.mitigated && (incident.state === "triage" || incident.state === "investigating")) {
      this.#transition(change, "mitigated", "engine", true);
      change.lines.push(`mitigated by the engine: ${trigger.mitigated}`);
    }
    return this.#commit(change);
  }

  /** Adds the links a trigger brings (its release with its facts, its alert, its check); answers the facts of every release of the incident. */
  async #link(incident: IncidentRecord, trigger: IncidentTrigger, now: number): Promise<ReleaseFacts[]> {
    const has = (kind: IncidentLink["kind"], ref: string) => incident.links.some((l) => l.kind === kind && l.ref === ref);
    if (trigger.alert && !has("alert", trigger.alert.id)) {
      incident.links.push({ kind: "alert", ref: trigger.alert.id, at: now, detail: { rule: trigger.alert.rule, fingerprint: trigger.alert.fingerprint, labels: trigger.alert.labels, startsAt: trigger.startedAt } });
    }
    if (trigger.alert?.labels.check && !has("check", trigger.alert.labels.check)) incident.links.push({ kind: "check", ref: trigger.alert.labels.check, at: now, detail: {} });
    const facts: ReleaseFacts[] = [];
    for (const releaseId of incident.releaseIds) {
      const found = await releaseFacts(this.#o.store, this.#o.configs, releaseId);
      if (!found) continue;
      facts.push(found);
      const link: IncidentLink = { kind: "release", ref: releaseId, at: now, detail: { ...found } };
      const i = incident.links.findIndex((l) => l.kind === "release" && l.ref === releaseId);
      if (i >= 0) incident.links[i] = { ...link, at: incident.links[i]!.at };
      else incident.links.push(link);
    }
    return facts;
  }

  async #assess(incident: IncidentRecord, facts: ReleaseFacts[]): Promise<void> {
    const ids = incident.releaseIds.filter((id) => incident.links.some((l) => l.kind === "release" && l.ref === id));
    const radius = await gatherRadius(incident, facts, ids, this.#o.impact, this.#o.clock.now());
    const { severity, reasons } = assessSeverity(radius);
    Object.assign(incident, { severity, severityReasons: reasons });
  }

  #change(incident: IncidentRecord, reason: string): Change {
    return { incident: structuredClone(incident), events: [], lines: [], reason };
  }

  /** Moves the change's incident to `to` (checked) and adds the transition's event. */
  #transition(change: Change, to: IncidentState, by: string, automatic = false): void {
    const incident = change.incident;
    checkTransition(incident, to, automatic);
    const from = incident.state;
    const at = monotoneTime(incident, this.#o.clock.now());
    incident.state = to;
    incident.milestones = { ...incident.milestones, [to]: { at, by } };
    change.events.push(incidentEvent(incident, `incident.${to}`, `incident ${incident.id} ${from} → ${to} by ${by}`, { from, by }));
    if (to === "resolved" || to === "cancelled" || to === "closed") change.reason = `incident.${to}`;
  }

  /** Writes the change with its events, then tells the coordinator (on `channels`, default the incidents' channel). */
  async #commit(change: Change, channels = this.#o.config.channels): Promise<IncidentRecord> {
    const now = this.#o.clock.now();
    change.incident.updatedAt = Math.max(now, change.incident.updatedAt);
    await this.#o.store.incidents.put(change.incident, change.events);
    const notice: IncidentNotice = { reason: change.reason, changes: change.lines };
    for (const channel of channels) {
      try {
        this.#o.outbox?.send(channel, incidentNotification(change.incident, channel, notice, { now, externalURL: this.#o.externalURL ?? "" }));
      } catch (error) {
        this.#o.onError?.(error);
      }
    }
    return change.incident;
  }

  /** One change at a time: signals, people's updates and escalations never interleave. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

