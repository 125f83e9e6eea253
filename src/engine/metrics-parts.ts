/**
 * The monitoring parts' metrics in `GET /metrics`, each pulled from its part at scrape time: the
 * checks (state, last duration, the scheduler's runs and start lag), the SLOs (budget left, burn
 * rates), the alerts (firing, by what holds them back) and the notifications (deliveries by state).
 */
import type { AlertView } from "../alert/index.js";
import type { CheckStatus, MonitorStats } from "../monitor/index.js";
import type { Delivery } from "../notify/index.js";
import type { SloStatus } from "../slo/index.js";
import type { Store } from "../store/index.js";
import type { MetricsExport, Sample } from "./metrics-export.js";

/** What the metrics read of the parts; each is undefined while its part does not run. */
export interface MonitoringParts {
  checks(): { statuses(): CheckStatus[]; stats(): MonitorStats } | undefined;
  slos(): { statuses(): Promise<SloStatus[]> } | undefined;
  alerts(): { list(): Promise<AlertView[]> } | undefined;
  /** Where the live and previous releases are read (their numbers name them for people). */
  store: Pick<Store, "live" | "releases">;
}

/** The labels of a check's series: its name and type, and its service, environment and component when it has them (an empty label is no label to Prometheus). */
function checkLabels(status: CheckStatus): Record<string, string> {
  const labels: Record<string, string> = { check: status.name, type: status.type };
  for (const key of ["service", "environment", "component"]) if (status.labels[key]) labels[key] = status.labels[key]!;
  return labels;
}

const checkLabelNames = ["check", "type", "service", "environment", "component"];

/** A percentage as a ratio, without the float noise of dividing decimals (99.9 / 100 is 0.9990000000000001). */
function ratio(percent: number): number {
  return Number((percent / 100).toPrecision(12));
}

/** `read()` once per scrape (several metrics of one part share one read: at 10,000 checks `statuses()` sorts them all). */
function perScrape<T>(metrics: MetricsExport, read: () => T): () => T {
  let cached: { scrape: number; value: T } | undefined;
  return () => {
    if (cached?.scrape !== metrics.scrapes) cached = { scrape: metrics.scrapes, value: read() };
    return cached.value;
  };
}

/** Adds every part's metrics to `metrics`. */
export function addMonitoringMetrics(metrics: MetricsExport, parts: MonitoringParts): void {
  const statuses = perScrape(metrics, () => parts.checks()?.statuses() ?? []);
  const stats = perScrape(metrics, () => parts.checks()?.stats());
  metrics.gauge("engineroom_check_up", "1 while the check is up, 0 while it is down (a check still pending has no sample).", checkLabelNames, () =>
    statuses().filter((s) => s.state !== "pending").map((s) => ({ labels: checkLabels(s), value: s.state === "up" ? 1 : 0 })),
  );
  metrics.gauge("engineroom_check_duration_seconds", "How long the check's last run took.", checkLabelNames, () =>
    statuses().flatMap((s) => (s.lastResult ? [{ labels: checkLabels(s), value: s.lastResult.durationMs / 1000 }] : [])),
  );
  metrics.counter("engineroom_check_runs_total", "Check runs the scheduler finished (result=run) and slots it skipped because the check's previous run still went on (result=skipped), since the engine started.", ["result"], () => {
    const current = stats();
    return current ? [{ labels: { result: "run" }, value: current.runs }, { labels: { result: "skipped" }, value: current.skipped }] : [];
  });
  metrics.gauge("engineroom_check_scheduler_lag_seconds", "How late check runs started against their slot (quantile 0.5, 0.99, and max), since the engine started.", ["quantile"], () => {
    const lag = stats()?.lagMs;
    if (!lag || lag.count === 0) return [];
    return [
      { labels: { quantile: "0.5" }, value: lag.p50 / 1000 },
      { labels: { quantile: "0.99" }, value: lag.p99 / 1000 },
      { labels: { quantile: "1" }, value: lag.max / 1000 },
    ];
  });
  metrics.gauge("engineroom_checks", "Checks by state.", ["state"], () => {
    const states = stats()?.states;
    return states ? Object.entries(states).map(([state, n]) => ({ labels: { state }, value: n })) : [];
  });

  const sloStatuses = perScrape(metrics, async () => (await parts.slos()?.statuses().catch(() => [])) ?? []);
  metrics.gauge("engineroom_slo_budget_remaining_ratio", "The share of the SLO's error budget left over its window (1 untouched, 0 spent, negative overspent).", ["slo", "service", "environment"], async () =>
    (await sloStatuses()).map((s) => ({ labels: { slo: s.slo, service: s.service, environment: s.environment }, value: ratio(s.budgetLeft) })),
  );
  metrics.gauge("engineroom_slo_attained_ratio", "Good events / valid events over the SLO's window (no sample without events).", ["slo", "service", "environment"], async () =>
    (await sloStatuses()).flatMap((s) => (s.attained === null ? [] : [{ labels: { slo: s.slo, service: s.service, environment: s.environment }, value: ratio(s.attained) }])),
  );
  metrics.gauge("engineroom_slo_target_ratio", "The SLO's objective, e.g. 0.999.", ["slo", "service", "environment"], async () =>
    (await sloStatuses()).map((s) => ({ labels: { slo: s.slo, service: s.service, environment: s.environment }, value: ratio(s.target) })),
  );
  metrics.gauge("engineroom_slo_burn_rate", "How fast the SLO's error budget burns over each window of its alert rules (1: exactly spent by the window's end).", ["slo", "service", "environment", "window"], async () =>
    (await sloStatuses()).flatMap((s) =>
      s.burnRates.flatMap((b) => (b.burnRate === null ? [] : [{ labels: { slo: s.slo, service: s.service, environment: s.environment, window: b.window }, value: b.burnRate }])),
    ),
  );

  metrics.gauge("engineroom_release_info", "1 for each live release and its previous one (the warm rollback target), with its number: join it on `release` to read versions.", ["service", "environment", "release", "version", "role"], async () => {
    const samples: Sample[] = [];
    for (const live of await parts.store.live.list()) {
      for (const [role, id] of [["live", live.releaseId], ["previous", live.previousReleaseId]] as const) {
        const release = id === null ? undefined : await parts.store.releases.get(id);
        if (release) samples.push({ labels: { service: live.service, environment: live.environment, release: release.id, version: `v${release.number}`, role }, value: 1 });
      }
    }
    return samples;
  });

  metrics.gauge("engineroom_alerts", "Firing alerts by severity and state: firing (notified), acknowledged, silenced, inhibited.", ["state", "severity"], async () => {
    const counts = new Map<string, Sample>();
    for (const alert of (await parts.alerts()?.list().catch(() => [])) ?? []) {
      const state = alert.silencedBy ? "silenced" : alert.inhibitedBy ? "inhibited" : alert.acknowledged ? "acknowledged" : "firing";
      const key = `${state}\0${alert.severity}`;
      const sample = counts.get(key) ?? { labels: { state, severity: alert.severity }, value: 0 };
      sample.value++;
      counts.set(key, sample);
    }
    return [...counts.values()];
  });
}

/**
 * Notifications by channel and how their delivery ended (delivered, failed), since the engine
 * started: fed with every delivery update the notifier publishes; a delivery counts once, at its end.
 */
export class NotificationCounts {
  readonly #counts = new Map<string, Sample>();

  /** A delivery update; `pending` ones (retries left) are not counted yet. */
  record(delivery: Pick<Delivery, "channel" | "state">): void {
    if (delivery.state === "pending") return;
    const key = `${delivery.channel}\0${delivery.state}`;
    const sample = this.#counts.get(key) ?? { labels: { channel: delivery.channel, state: delivery.state }, value: 0 };
    sample.value++;
    this.#counts.set(key, sample);
  }

  /** Adds `engineroom_notifications_total` to `metrics`. */
  register(metrics: MetricsExport): void {
    metrics.counter("engineroom_notifications_total", "Notifications by channel and how their delivery ended (delivered, failed), since the engine started.", ["channel", "state"], () => [...this.#counts.values()]);
  }
}
