import { AlertManager, CheckAlerts, EventAlerts, MetricRules, type AlertsConfig, type AlertSink, type MetricRule } from "../alert/index.js";
import { guardPromotion } from "../slo/index.js";
import type { Monitor } from "../monitor/index.js";
import { EngineChecks } from "./check-wiring.js";
import { startChannels, type ChannelParts } from "./channel-wiring.js";
import type { Channel, Notifier } from "../notify/index.js";
import type { Engine } from "./engine.js";
import type { MonitoringConfig } from "./monitoring-config.js";
import { startSlos, type SloParts } from "./slo-wiring.js";
import { MetricsExport } from "./metrics-export.js";
import { addMonitoringMetrics, NotificationCounts } from "./metrics-parts.js";
import { startIncidents, type IncidentParts } from "./incident-wiring.js";
import type { IncidentManager } from "../incident/index.js";
import { ServiceTrafficIndex } from "./service-traffic.js";
import { startRunbooks, type RunbookParts } from "./runbook-wiring.js";
import type { RunbookRunner } from "../runbook/index.js";

/**
 * Monitoring as the engine runs it, built from engineroom.yaml once the environments have started:
 * checks (monitor/), SLOs (slo/), alerts (alert/) and their channels (notify/), fed by the proxies'
 * metrics, the checks' results and the event log. Each part has its own section below.
 */
export class Monitoring {
  readonly #engine: Engine;
  // --- sources (alert/sources/) and metrics out ---
  /** What `GET /metrics` serves. */
  readonly metrics = new MetricsExport();
  /** Each service's traffic per environment, its releases summed: what metric rules read. */
  readonly traffic: ServiceTrafficIndex;
  #metricRules: MetricRules | undefined;
  #eventAlerts: EventAlerts | undefined;
  #checkAlerts: CheckAlerts | undefined;
  #unsubscribe: (() => void)[] = [];
  readonly #notifications = new NotificationCounts();

  constructor(engine: Engine) {
    this.#engine = engine;
    this.traffic = new ServiceTrafficIndex(() => engine.environments);
  }

  /**
   * Starts every part from `config`: every section parsed (and the channels' secrets resolved) by
   * `monitoringConfig` at the top of Engine.start, before anything was created or started.
   */
  async start(config: MonitoringConfig): Promise<void> {
    const { rules, incidents } = config;
    // --- alerts (alert/): made first, so that what the parts before it report waits for it ---
    this.#createAlerts(config.alerts);
    // --- checks (monitor/) ---
    this.#checks = await EngineChecks.start(this.#engine, config);
    // --- SLOs (slo/) ---
    await this.#startSlos(config.slos);
    // --- channels (notify/) ---
    this.#channels = startChannels(this.#engine, config.channels);
    // --- alerts (alert/) ---
    await this.#startAlerts();
    // --- sources (alert/sources/) and metrics out ---
    await this.#startSources(rules);
    // --- incidents (incident/) ---
    this.#incidents = await startIncidents(this.#engine, this, incidents);
    // --- runbooks (runbook/): after the incidents, which their runs attach to ---
    this.#runbooks = await startRunbooks(this.#engine, this, { runbooks: config.runbooks, metricRules: rules.map((r) => r.name), announceTo: incidents.channels });
  }

  // --- runbooks (runbook/) ---
  #runbooks: RunbookParts | undefined;

  /** The runbook runner, once started. */
  get runbooks(): RunbookRunner | undefined {
    return this.#runbooks?.runner;
  }

  // --- incidents (incident/) ---
  #incidents: IncidentParts | undefined;

  /** The incident manager, once started (after every other part: it reads their signals from the event log). */
  get incidents(): IncidentManager | undefined {
    return this.#incidents?.manager;
  }

  async #startSources(rules: readonly MetricRule[]): Promise<void> {
    const engine = this.#engine;
    for (const environment of engine.environments) {
      this.#unsubscribe.push(
        environment.proxy.onMetrics((buckets) => {
          this.traffic.record(buckets);
          this.metrics.requests.add(buckets);
        }),
      );
    }
    const sink = this.#alertSink();
    const onError = (source: string) => (error: unknown) => engine.logger.warn(`alert source ${source} failed`, { error: String(error) });
    this.#metricRules = new MetricRules({ rules, traffic: this.traffic, sink, clock: engine.clock, onError: onError("metric-rules") });
    this.#eventAlerts = new EventAlerts({ events: engine.store.events, sink, clock: engine.clock, onError: onError("events") });
    this.#metricRules.start();
    // From this engine's start on: what its restore of the live releases found alerts too.
    const [started] = await engine.store.events.list({ types: ["engine.started"], limit: 1 });
    await this.#eventAlerts.start(started ? started.id - 1 : undefined);
    if (this.checks) {
      this.#checkAlerts = new CheckAlerts({ monitor: this.checks, sink, firing: this.alerts, clock: engine.clock, onError: onError("checks") });
      this.#checkAlerts.start();
    }
    const notifications = this.#notifier()?.subscribe((delivery) => this.#notifications.record(delivery));
    if (notifications) this.#unsubscribe.push(notifications);
    addMonitoringMetrics(this.metrics, {
      checks: () => this.checks,
      slos: () => this.slos?.evaluator,
      alerts: () => this.alerts,
      store: engine.store,
    });
    this.#notifications.register(this.metrics);
  }

  /** Where the sources report: the alert manager (started before the sources; a signal before it is dropped). */
  #alertSink(): AlertSink {
    return { report: (signal) => this.alerts?.report(signal) };
  }

  // --- checks (monitor/) ---
  #checks: EngineChecks | undefined;

  /** The checks' monitor (declared and derived checks), once started: `onTransition`, `statuses()`, `stats()`, `summaries()`. */
  get checks(): Monitor | undefined {
    return this.#checks?.monitor;
  }

  /** The same as `checks`. */
  get monitor(): Monitor | undefined {
    return this.#checks?.monitor;
  }

  /** Brings the derived checks up to date with the live table now (they follow it every 2 s by themselves). */
  async refreshChecks(): Promise<void> {
    await this.#checks?.refresh();
  }

  // --- SLOs (slo/) ---
  /** The request history's recorder and the SLO evaluator, once started. */
  slos: SloParts | undefined;

  async #startSlos(slos: MonitoringConfig["slos"]): Promise<void> {
    this.slos = await startSlos(this.#engine, this.#alertSink(), slos);
  }

  /**
   * The error-budget guardrail of a promotion of `service` into `environment`: SLO_BUDGET_EXHAUSTED
   * while a budget of its SLOs there is spent, unless `override` gives a reason (recorded).
   */
  async guardPromotion(service: string, environment: string, override?: string, actor?: string): Promise<void> {
    if (!this.slos) return;
    await guardPromotion(this.slos.evaluator, this.#engine.store.events, service, environment, override === undefined ? undefined : { reason: override, actor });
  }

  // --- channels (notify/) ---
  #channels: ChannelParts | undefined;

  /** The configured channels (`channels:` of engineroom.yaml), once started. */
  get channels(): readonly Channel[] {
    return this.#channels?.channels ?? [];
  }

  /** The one Notifier: `send(channel, notification)` answers the final Delivery; `subscribe` sees every state change. Undefined before start. */
  get notifier(): Notifier | undefined {
    return this.#channels?.notifier;
  }

  // --- alerts (alert/) ---
  /**
   * The alert manager, once made (at the start of `start()`): the AlertSink every source reports to
   * (signals before it has loaded its state wait for it), and what the alerts operations use.
   */
  alerts: AlertManager | undefined;
  #stopDeliveries: (() => void) | undefined;

  #createAlerts(config: AlertsConfig): void {
    const engine = this.#engine;
    const channels = Object.keys((engine.project.config.channels ?? {}) as Record<string, unknown>);
    this.alerts = new AlertManager({
      store: engine.store,
      clock: engine.clock,
      config,
      channels,
      // The channels section's Notifier (made after this): it queues per channel and never blocks the manager.
      outbox: { send: (channel, notification) => this.#notifier()?.send(channel, notification) ?? engine.logger.warn("no notifier for an alert notification", { channel }) },
      externalURL: `http://${engine.project.config.api.listen}`,
      onError: (error) => engine.logger.warn("alert manager: background work failed", { error: String(error) }),
    });
  }

  async #startAlerts(): Promise<void> {
    const manager = this.alerts!;
    this.#stopDeliveries = this.#notifier()?.subscribe((delivery) => manager.recordDelivery(delivery));
    await manager.start();
  }

  #notifier(): Notifier | undefined {
    return this.notifier;
  }

  /** Stops every part: no check, evaluation or notification runs after it resolves. */
  async stop(): Promise<void> {
    // --- runbooks (runbook/): first, as they started last ---
    await this.#runbooks?.stop();
    // --- incidents (incident/) ---
    await this.#incidents?.stop();
    // --- sources (alert/sources/) and metrics out ---
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await Promise.all([this.#metricRules?.stop(), this.#eventAlerts?.stop(), this.#checkAlerts?.stop()]);
    // --- alerts (alert/) ---
    await this.alerts?.stop();
    this.#stopDeliveries?.();
    // --- channels (notify/) ---
    await this.#channels?.notifier.close();
    // --- SLOs (slo/) ---
    await this.slos?.stop();
    // --- checks (monitor/) ---
    await this.#checks?.stop();
  }
}
