/**
 * The alert manager: alerts from signals, grouped and routed, inhibited and silenced, acknowledged,
 * notified on the clock's timers with Alertmanager's timing, and classified for the noise report.
 * Its state lives in memory while it runs and is written to the store in order, asynchronously, so
 * that `report()` never waits; a new manager on the same store resumes it without notifying again.
 */
import { EngineError, formatDuration, type Clock } from "../core/index.js";
import type { Delivery } from "../notify/index.js";
import type { AlertGroupRecord, AlertOutcome, AlertRecord, NewEvent, SilenceRecord, Store } from "../store/index.js";
import type { AlertsConfig } from "./config.js";
import { ackActive, planFlush } from "./dispatcher.js";
import { alertLabels, fingerprint } from "./fingerprint.js";
import { AlertTable, newAlert } from "./alert-table.js";
import { buildInhibitRules, inhibitorOf, type InhibitRule } from "./inhibition.js";
import { decideOutcome, type NoiseSettings } from "./noise.js";
import { buildRoutes, groupOf, matchRoutes, routesById, type Route } from "./routing.js";
import { Sender, type NotificationOutbox } from "./sender.js";
import { makeSilence, SilenceBook, type ActiveSilence, type NewSilence } from "./silences.js";
import type { AlertSignal, AlertSink } from "./types.js";
import { TimerLoop } from "./timer-loop.js";
import { WorkQueue } from "./work-queue.js";

export interface AlertManagerOptions {
  store: Pick<Store, "alerts" | "events">;
  clock: Clock;
  config: AlertsConfig;
  /** The names of the declared channels (the default receiver is all of them). */
  channels: readonly string[];
  outbox: NotificationOutbox;
  /** Where a person can look (the engine's API), carried by every notification. */
  externalURL?: string;
  /** Told of a failure of the background work (a store write); the manager carries on. */
  onError?: (error: unknown) => void;
}

/** An alert as `engineroom alerts` shows it. */
export interface AlertView extends AlertRecord {
  acknowledged: boolean;
}

/** Signals kept while the manager loads its state; a source reports again on its next evaluation anyway. */
const maxEarlySignals = 100_000;

/**
 * @example
 * const manager = new AlertManager({ store, clock, config: parseAlertsConfig(yaml.alerts, ["ops"]), channels: ["ops"], outbox: notifier });
 * notifier.subscribe((delivery) => manager.recordDelivery(delivery));
 * await manager.start();
 * manager.report({ rule: "check-down", severity: "page", labels: { service: "web", environment: "production" }, annotations: { summary: "web is down" }, active: true });
 */
export class AlertManager implements AlertSink {
  readonly #o: AlertManagerOptions;
  readonly #root: Route;
  readonly #routes: Map<string, Route>;
  readonly #inhibit: InhibitRule[];
  readonly #noise: NoiseSettings;
  readonly #alerts: AlertTable;
  readonly #groups = new Map<string, AlertGroupRecord>();
  readonly #silences: SilenceBook;
  readonly #outcomeDue = new Map<string, number>();
  readonly #ackDue = new Map<string, number>();
  readonly #work: WorkQueue;
  readonly #timers: TimerLoop;
  readonly #send: Sender;
  /** Signals reported before start() has loaded the state: replayed, in order, once it has. */
  #early: AlertSignal[] | undefined = [];

  constructor(options: AlertManagerOptions) {
    this.#o = options;
    this.#root = buildRoutes(options.config.route, options.channels);
    this.#routes = routesById(this.#root);
    this.#inhibit = buildInhibitRules(options.config.inhibit_rules);
    this.#alerts = new AlertTable(this.#inhibit);
    this.#silences = new SilenceBook(options.config.silences.expire_unused_after);
    this.#noise = { selfResolveWithinMs: options.config.noise.self_resolve_within, actionWithinMs: options.config.noise.action_within };
    this.#work = new WorkQueue(options.onError);
    this.#timers = new TimerLoop(options.clock, (now) => this.#runDue(now));
    this.#send = new Sender(options.outbox, this.#root, options.externalURL ?? "", (error) => options.onError?.(error));
  }

  /** Loads the state a previous manager left, then runs the timers. */
  async start(): Promise<void> {
    const { alerts } = this.#o.store;
    for (const s of await alerts.listSilences({ active: true, limit: 10_000 })) this.#silences.add(s);
    for (const a of await alerts.list({ state: "firing", limit: 100_000 })) this.#remember(a);
    const groups = await alerts.listGroups();
    for (const g of groups) {
      if (!this.#routes.has(g.route)) {
        // Its route went with a config change; its firing alerts join their new groups below.
        this.#work.push(() => alerts.removeGroup(g.key));
        continue;
      }
      for (const id of g.alertIds) if (!this.#alerts.has(id)) await alerts.get(id).then((a) => a && this.#remember(a));
      this.#groups.set(g.key, { ...g, alertIds: g.alertIds.filter((id) => this.#alerts.has(id)) });
    }
    for (const a of this.#alerts.firing()) this.#join(a);
    for (const a of await alerts.list({ state: "resolved", limit: 1000 })) {
      if (a.outcome === null && !this.#alerts.has(a.id)) this.#remember(a);
    }
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const signal of early) this.report(signal);
    this.#timers.start();
  }

  /** Stops the timers and waits for the store writes queued so far. */
  async stop(): Promise<void> {
    await this.#timers.stop();
    await this.#work.idle();
  }

  /** Resolves once every store write queued so far is done. */
  idle(): Promise<void> {
    return this.#work.idle();
  }

  /**
   * Synchronous and cheap: updates the state in memory, queues the writes, wakes the timers on a
   * change. Signals reported before start() has loaded the state are kept and replayed after it.
   */
  report(signal: AlertSignal): void {
    const now = this.#o.clock.now();
    if (this.#early) {
      if (this.#early.length < maxEarlySignals) this.#early.push({ ...signal, since: signal.since ?? now });
      return;
    }
    const labels = alertLabels(signal);
    const fp = fingerprint(labels);
    const existing = this.#alerts.firingWith(fp);
    if (!signal.active) {
      if (existing) this.#resolve(existing, now);
      return;
    }
    const resolveAt = signal.resolveAfterMs === undefined ? null : Math.max(now, signal.since ?? now) + signal.resolveAfterMs;
    if (existing) {
      const annotations = { ...signal.annotations } as Record<string, string>;
      if (JSON.stringify(annotations) === JSON.stringify(existing.annotations) && resolveAt === existing.resolveAt) return;
      Object.assign(existing, { annotations, resolveAt, updatedAt: now });
      this.#save(existing);
      this.#wakeUp();
      return;
    }
    const alert = newAlert(signal, labels, fp, { now, resolveAt, duplicateOf: this.#alerts.duplicateOf(labels, fp) });
    this.#remember(alert);
    this.#muted(alert, now);
    this.#save(alert);
    this.#event({ type: "alert.firing", ...where(alert), message: `${alert.rule} firing (${alert.severity}): ${alert.annotations.summary ?? ""}`, data: { alert: alert.id, labels } });
    this.#join(alert);
    this.#wakeUp();
  }

  /** Acknowledges a firing alert: it stops repeating until `forMs` passes (or it resolves). */
  async ack(id: string, input: { by: string; forMs?: number; comment?: string }): Promise<AlertRecord> {
    const alert = await this.#find(id);
    if (alert.state !== "firing" || !this.#alerts.has(alert.id)) {
      throw new EngineError("ALERT_NOT_FIRING", `Alert ${id} resolved at ${new Date(alert.endsAt ?? 0).toISOString()}; only a firing alert is acknowledged.`);
    }
    const now = this.#o.clock.now();
    const until = input.forMs === undefined ? null : now + input.forMs;
    alert.ack = { by: input.by, at: now, until, comment: input.comment ?? null };
    alert.updatedAt = now;
    if (until === null) this.#ackDue.delete(alert.id);
    else this.#ackDue.set(alert.id, until);
    this.#save(alert);
    const lasting = until === null ? "until it resolves" : `for ${formatDuration(input.forMs!)}`;
    this.#event({ type: "alert.acknowledged", ...where(alert), message: `${alert.rule} ${alert.id} acknowledged by ${input.by} ${lasting}`, data: { alert: alert.id, by: input.by, until, comment: alert.ack.comment } });
    this.#wakeUp();
    return { ...alert };
  }

  /** Sets an alert's outcome by a person; inference never replaces it. */
  async setOutcome(id: string, value: AlertOutcome, input: { by: string; reason?: string }): Promise<AlertRecord> {
    const alert = await this.#find(id);
    const now = this.#o.clock.now();
    alert.outcome = { value, source: "person", by: input.by, reason: input.reason ?? "", at: now };
    alert.updatedAt = now;
    this.#outcomeDue.delete(alert.id);
    if (this.#alerts.has(alert.id)) this.#save(alert);
    else this.#work.push(() => this.#o.store.alerts.put({ ...alert }));
    this.#event({ type: "alert.outcome", ...where(alert), message: `${alert.rule} ${alert.id} marked ${value} by ${input.by}${input.reason ? `: ${input.reason}` : ""}`, data: { alert: alert.id, outcome: alert.outcome } });
    await this.#work.idle();
    this.#forgetIfDone(alert);
    return { ...alert };
  }

  /** Creates a silence (SILENCE_INVALID without matchers, reason or expiry, or longer than max_duration) and sends its notice. */
  createSilence(input: NewSilence): SilenceRecord {
    const now = this.#o.clock.now();
    const record = makeSilence(input, now, this.#o.config.silences.max_duration);
    const silence = this.#silences.add(record);
    for (const a of this.#alerts.firing()) this.#muted(a, now);
    this.#work.push(() => this.#o.store.alerts.putSilence({ ...record }));
    const text = `${record.matchers.join(", ")} until ${new Date(record.endsAt).toISOString()}: ${record.reason}`;
    this.#event({ type: "silence.created", message: `silence ${record.id} by ${record.createdBy}: ${text}`, data: { silence: record } });
    this.#send.notice(silence, { status: "firing", reason: "silence.created", title: `Silence ${record.id} created by ${record.createdBy} for ${formatDuration(record.endsAt - now)}`, text }, now);
    this.#wakeUp();
    return { ...record };
  }

  /** Expires a silence now (SILENCE_NOT_FOUND for an unknown id); expiring an expired one changes nothing. */
  async expireSilence(id: string, by: string): Promise<SilenceRecord> {
    const active = this.#silences.get(id);
    if (active) return this.#expire(active, this.#o.clock.now(), by, `expired by ${by}`);
    const stored = await this.#o.store.alerts.getSilence(id);
    if (!stored) throw new EngineError("SILENCE_NOT_FOUND", `No silence ${id}.`);
    return stored;
  }

  /** The latest 200 silences, active and expired, newest first. */
  async silences(): Promise<SilenceRecord[]> {
    await this.#work.idle();
    return this.#o.store.alerts.listSilences({ limit: 200 });
  }

  /** Firing alerts (newest first), and with `all` recent resolved ones too. */
  async list(options: { all?: boolean; limit?: number } = {}): Promise<AlertView[]> {
    const now = this.#o.clock.now();
    const firing = this.#alerts.firing().map((a) => (this.#muted(a, now), a));
    const views = firing.sort((a, b) => b.startsAt - a.startsAt || b.id.localeCompare(a.id)).map((a) => this.#view(a, now));
    if (!options.all) return views;
    await this.#work.idle();
    const resolved = (await this.#o.store.alerts.list({ state: "resolved", limit: options.limit ?? 50 })).map((a) => this.#view(this.#alerts.get(a.id) ?? a, now));
    return [...views, ...resolved];
  }

  /** The firing alerts of these rules, from memory (after start(): what was firing when the engine stopped, too). */
  firingOf(rules: readonly string[]): AlertRecord[] {
    return this.#alerts.firing().filter((a) => rules.includes(a.rule)).map((a) => structuredClone(a));
  }

  /** One alert by id, or ALERT_NOT_FOUND. */
  async get(id: string): Promise<AlertView> {
    return this.#view(await this.#find(id), this.#o.clock.now());
  }

  /** The Notifier's callback: every state change of a delivery goes to the delivery log, in order. */
  recordDelivery(delivery: Delivery): void {
    this.#work.push(() => this.#o.store.alerts.putDelivery({ ...delivery }));
  }

  // --- state ---

  #view(alert: AlertRecord, now: number): AlertView {
    return { ...alert, acknowledged: ackActive(alert, now) };
  }

  async #find(id: string): Promise<AlertRecord> {
    const known = this.#alerts.get(id);
    if (known) return known;
    await this.#work.idle();
    const stored = await this.#o.store.alerts.get(id);
    if (!stored) throw new EngineError("ALERT_NOT_FOUND", `No alert ${id}.`);
    return stored;
  }

  #remember(alert: AlertRecord): void {
    this.#alerts.add(alert);
    if (alert.state === "firing") {
      if (alert.ack?.until != null) this.#ackDue.set(alert.id, alert.ack.until);
    } else if (alert.outcome === null) this.#outcomeDue.set(alert.id, alert.endsAt ?? alert.startsAt);
  }

  /** Adds a firing alert to the group of each route that takes it, creating groups (flushed after group_wait). */
  #join(alert: AlertRecord): void {
    const now = this.#o.clock.now();
    for (const route of matchRoutes(this.#root, alert.labels)) {
      const { key, groupLabels } = groupOf(route, alert.labels);
      let group = this.#groups.get(key);
      if (!group) {
        group = { key, route: route.id, receivers: route.receivers, groupLabels, alertIds: [], notifiedFiring: [], lastNotifiedAt: null, nextFlushAt: now + route.groupWaitMs, createdAt: now, updatedAt: now };
        this.#groups.set(key, group);
      }
      if (group.alertIds.includes(alert.id)) continue;
      group.alertIds.push(alert.id);
      group.updatedAt = now;
      this.#saveGroup(group);
    }
  }

  #resolve(alert: AlertRecord, now: number): void {
    Object.assign(alert, { state: "resolved", endsAt: now, resolveAt: null, updatedAt: now });
    this.#alerts.resolved(alert);
    this.#ackDue.delete(alert.id);
    this.#outcomeDue.set(alert.id, now);
    this.#save(alert);
    this.#event({ type: "alert.resolved", ...where(alert), message: `${alert.rule} resolved after ${formatDuration(now - alert.startsAt)}`, data: { alert: alert.id } });
    this.#wakeUp();
  }

  /** Whether the alert is muted now, recording by which silence or alert (and that the silence was used). */
  #muted(alert: AlertRecord, now: number): boolean {
    const muting = this.#silences.muting(alert.labels, now);
    const silencedBy = muting?.silence.record.id ?? null;
    if (muting?.save) {
      const record = { ...muting.silence.record };
      this.#work.push(() => this.#o.store.alerts.putSilence(record));
    }
    const inhibitedBy = inhibitorOf(this.#inhibit, alert, this.#alerts.sources());
    if (silencedBy !== alert.silencedBy || inhibitedBy !== alert.inhibitedBy) {
      Object.assign(alert, { silencedBy, inhibitedBy, updatedAt: now });
      this.#save(alert);
    }
    return silencedBy !== null || inhibitedBy !== null;
  }

  #save(alert: AlertRecord): void {
    const copy = structuredClone(alert);
    this.#work.push(() => this.#o.store.alerts.put(copy));
  }

  #saveGroup(group: AlertGroupRecord): void {
    const copy = structuredClone(group);
    this.#work.push(() => this.#o.store.alerts.putGroup(copy));
  }

  #event(event: NewEvent): void {
    this.#work.push(() => this.#o.store.events.append(event));
  }

  // --- timers ---

  #wakeUp(): void {
    this.#timers.wake();
  }

  #nextDue(): number | undefined {
    let next = Number.POSITIVE_INFINITY;
    for (const g of this.#groups.values()) next = Math.min(next, g.nextFlushAt);
    for (const a of this.#alerts.firing()) if (a.resolveAt !== null) next = Math.min(next, a.resolveAt);
    for (const at of this.#ackDue.values()) next = Math.min(next, at);
    for (const at of this.#outcomeDue.values()) next = Math.min(next, at);
    next = Math.min(next, this.#silences.nextDue());
    return Number.isFinite(next) ? next : undefined;
  }

  /**
   * Everything due by `now`, in the order that matters (ends of alerts, acks and silences before the
   * flushes that see them); answers when the next thing is due.
   */
  #runDue(now: number): number | undefined {
    for (const a of this.#alerts.firing()) if (a.resolveAt !== null && a.resolveAt <= now) this.#resolve(a, now);
    for (const [id, at] of this.#ackDue) {
      if (at > now) continue;
      this.#ackDue.delete(id);
      const a = this.#alerts.get(id);
      if (a?.ack) this.#event({ type: "alert.ack-ended", ...where(a), message: `${a.rule} ${a.id}: the acknowledgement by ${a.ack.by} ended; repeats resume`, data: { alert: a.id } });
    }
    const inUse = (s: ActiveSilence) => this.#alerts.firing().some((a) => s.matches(a.labels));
    for (const { silence, reason } of this.#silences.due(now, inUse)) this.#expire(silence, now, "engineroom", reason);
    for (const group of [...this.#groups.values()]) if (group.nextFlushAt <= now) this.#flush(group, now);
    for (const [id, at] of this.#outcomeDue) {
      if (at > now) continue;
      this.#outcomeDue.delete(id);
      this.#work.push(() => this.#classify(id));
    }
    return this.#nextDue();
  }

  #flush(group: AlertGroupRecord, now: number): void {
    const route = this.#routes.get(group.route)!;
    const members = group.alertIds.map((id) => this.#alerts.get(id)).filter((a): a is AlertRecord => a !== undefined);
    const plan = planFlush(group, members, route, now, (a) => this.#muted(a, now));
    if (plan.send) this.#send.group(route, group, plan.send, now);
    if (plan.next) {
      this.#groups.set(group.key, plan.next);
      this.#saveGroup(plan.next);
    } else {
      this.#groups.delete(group.key);
      this.#work.push(() => this.#o.store.alerts.removeGroup(group.key));
    }
    for (const a of members) if (a.state === "resolved") this.#forgetIfDone(a);
  }

  /** Drops a resolved alert from memory once no group holds it and its outcome is decided. */
  #forgetIfDone(alert: AlertRecord): void {
    if (alert.state !== "resolved" || this.#outcomeDue.has(alert.id) || alert.outcome === null) return;
    const keys = matchRoutes(this.#root, alert.labels).map((route) => groupOf(route, alert.labels).key);
    if (keys.some((key) => this.#groups.get(key)?.alertIds.includes(alert.id))) return;
    this.#alerts.delete(alert.id);
  }

  #expire(silence: ActiveSilence, now: number, by: string, reason: string): SilenceRecord {
    const record = this.#silences.end(silence, now, by, reason);
    // What it silenced is notified at once, not at the next repeat.
    for (const g of this.#groups.values()) {
      if (g.alertIds.some((id) => this.#alerts.get(id)?.silencedBy === record.id)) g.nextFlushAt = Math.min(g.nextFlushAt, now);
    }
    this.#work.push(() => this.#o.store.alerts.putSilence({ ...record }));
    const why = reason === "unused" ? `it matched no alert for ${formatDuration(this.#o.config.silences.expire_unused_after)}` : reason;
    this.#event({ type: "silence.expired", message: `silence ${record.id} (${record.matchers.join(", ")}) expired: ${why}`, data: { silence: record.id, by, reason } });
    const text = `${record.matchers.join(", ")} (created by ${record.createdBy}: ${record.reason})`;
    this.#send.notice(silence, { status: "resolved", reason: "silence.expired", title: `Silence ${record.id} expired: ${why}`, text }, now);
    this.#wakeUp();
    return { ...record };
  }

  /** Infers a resolved alert's outcome (in the work queue, after the writes before it); a person's is never replaced. */
  async #classify(id: string): Promise<void> {
    const alert = this.#alerts.get(id);
    if (!alert || alert.outcome !== null) return;
    const decided = await decideOutcome(alert, this.#o.store.events, this.#noise, () => this.#o.clock.now());
    if (alert.outcome !== null) return; // a person set one meanwhile
    if ("retryAt" in decided) {
      this.#outcomeDue.set(id, decided.retryAt);
      return this.#wakeUp();
    }
    alert.outcome = { ...decided, source: "inferred", by: null, at: this.#o.clock.now() };
    alert.updatedAt = alert.outcome.at;
    await this.#o.store.alerts.put(structuredClone(alert));
    await this.#o.store.events.append({ type: "alert.outcome", ...where(alert), message: `${alert.rule} ${alert.id}: ${decided.value} (${decided.reason})`, data: { alert: alert.id, outcome: alert.outcome } });
    this.#forgetIfDone(alert);
  }
}

function where(alert: AlertRecord): { service?: string; environment?: string } {
  return { ...(alert.labels.service && { service: alert.labels.service }), ...(alert.labels.environment && { environment: alert.labels.environment }) };
}
