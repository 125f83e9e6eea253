/**
 * The contract between alert sources (checks, SLO burn, metric thresholds over the proxies'
 * metrics, the engine's own events) and the alert manager that groups, routes, inhibits, silences,
 * acknowledges and notifies (Alertmanager's semantics), and measures noise.
 */

/** How urgent: `page` wakes someone, `ticket` is for working hours, `info` is for the record. */
export type Severity = "page" | "ticket" | "info";

/**
 * A source's current verdict for one alert. Sources report every evaluation (or every change):
 * the manager keeps one alert per rule and labels, firing while `active`, resolved when a signal
 * says it is not any more. Reporting the same state again changes nothing.
 */
export interface AlertSignal {
  /** The rule's name, e.g. `check-down`, `slo-burn`, `high-latency`, `error-rate`, `release-rolled-back`; it becomes the `alertname` label. */
  rule: string;
  severity: Severity;
  /** What tells this alert apart from others of its rule, e.g. { service, environment } or { check }. `alertname` and `severity` are added. */
  labels: Readonly<Record<string, string>>;
  /** `summary` is one line for people; `description` may say more; other keys are free (e.g. `value`, `runbook`). */
  annotations: Readonly<{ summary: string; description?: string } & Record<string, string>>;
  active: boolean;
  /**
   * For alerts from one-off events (a rollback, a failed deploy): the alert resolves by itself this
   * long after it fired, unless another signal comes first (Alertmanager's resolve_timeout).
   */
  resolveAfterMs?: number;
  /** When the condition began (default: when the manager first sees it active), epoch ms. */
  since?: number;
}

/** Where sources report. */
export interface AlertSink {
  report(signal: AlertSignal): void;
}
