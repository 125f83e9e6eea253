import type { CheckResult, CheckTransition, DegradedChange, Monitor } from "../../monitor/index.js";
import type { Clock } from "../../core/index.js";
import type { AlertSignal, AlertSink, Severity } from "../types.js";
import { Ticker } from "./ticker.js";

const severities: readonly string[] = ["page", "ticket", "info"] satisfies Severity[];

/** What the alert manager answers of the alerts firing now (its `firingOf`). */
export interface FiringAlerts {
  firingOf(rules: readonly string[]): readonly { rule: string; severity: string; labels: Readonly<Record<string, string>> }[];
}

/** The rules this source fires. */
const checkRules = ["check-down", "certificate-expiring", "check-degraded"] as const;

/** The field a certificate's days left are read from; a check failing only on it has a certificate expiring, not a service down. */
const certificateField = "cert_expires";

/**
 * Whether the probe completed (conditions were judged: `failed` is empty when it could not), every
 * condition that failed reads the certificate's expiry, and the certificate is still valid: an
 * expired one is an outage (clients refuse it), so that is `check-down`.
 */
export function onlyCertificateExpiring(result: CheckResult): boolean {
  const left = result.fields[certificateField];
  return result.failed.length > 0 && result.failed.every((condition) => condition.trim().startsWith(certificateField)) && typeof left === "number" && left > 0;
}

/**
 * The alert of a check that is down: `certificate-expiring` (ticket) when only its `cert_expires`
 * conditions failed (a tls or https check whose certificate is still valid but ends soon),
 * else `check-down` with the check's own severity (its `severity` label, default page). Labels:
 * `check` and the check's labels (service, environment, component, …) but `severity`, which the
 * manager adds from the signal's severity.
 */
export function checkDownSignal(check: string, labels: Readonly<Record<string, string>>, result: CheckResult | null, since?: number): AlertSignal {
  const { severity: declared, ...rest } = labels;
  const expiring = result !== null && onlyCertificateExpiring(result);
  const severity: Severity = expiring ? "ticket" : declared !== undefined && severities.includes(declared) ? (declared as Severity) : "page";
  const why = result?.error ?? "failing";
  const summary = expiring ? `check ${check}: the certificate expires soon (${result!.failed.join(", ")} failed)` : `check ${check} is down: ${why}`;
  return {
    rule: expiring ? "certificate-expiring" : "check-down",
    severity,
    labels: { ...rest, check },
    annotations: { summary, ...(result && { duration: `${Math.round(result.durationMs)}ms` }) },
    active: true,
    ...(since !== undefined && { since }),
  };
}

/**
 * The alert of an up check that is degraded: `check-degraded`, severity ticket (a degraded check
 * still serves), labelled as `check-down` is; its summary names the degraded conditions that failed.
 */
export function checkDegradedSignal(check: string, labels: Readonly<Record<string, string>>, result: CheckResult | null, since?: number): AlertSignal {
  const { severity: _declared, ...rest } = labels;
  return {
    rule: "check-degraded",
    severity: "ticket",
    labels: { ...rest, check },
    annotations: { summary: `check ${check} is degraded: ${result?.error ?? "degraded conditions failing"}`, ...(result && { duration: `${Math.round(result.durationMs)}ms` }) },
    active: true,
    ...(since !== undefined && { since }),
  };
}

/**
 * The alert source over the checks: a check going down fires its alert (`checkDownSignal`), and
 * coming back resolves it. A check stays down through changes of why it fails, so every
 * `intervalMs` the source looks at its down checks again: one whose certificate was expiring and
 * that now fails outright pages (`check-down` replaces `certificate-expiring`), and the reverse;
 * one no longer monitored (removed from the config) resolves. An up check that is degraded fires
 * `check-degraded` (`checkDegradedSignal`), resolved when it is no longer degraded or goes down.
 */
type WatchedMonitor = Pick<Monitor, "onTransition" | "statuses" | "status"> & Partial<Pick<Monitor, "onDegradedChange">>;

export class CheckAlerts {
  readonly #monitor: WatchedMonitor;
  readonly #sink: AlertSink;
  readonly #firing: FiringAlerts | undefined;
  readonly #ticker: Ticker;
  /** The alert each down check fired, to resolve the same one when it comes back. */
  readonly #fired = new Map<string, AlertSignal>();
  /** The `check-degraded` alert of each degraded check. */
  readonly #degraded = new Map<string, AlertSignal>();
  #unsubscribe: (() => void) | undefined;
  #unsubscribeDegraded: (() => void) | undefined;

  /**
   * `firing`: the alerts firing now (the alert manager, started): those of a check no longer
   * monitored, left by an earlier engine, are resolved at start.
   */
  constructor(options: {
    monitor: WatchedMonitor;
    sink: AlertSink;
    firing?: FiringAlerts;
    clock: Clock;
    intervalMs?: number;
    onError?: (error: unknown) => void;
  }) {
    this.#monitor = options.monitor;
    this.#sink = options.sink;
    this.#firing = options.firing;
    this.#ticker = new Ticker(options.clock, options.intervalMs ?? 15_000, async () => this.review(), options.onError ?? (() => {}));
  }

  /**
   * Listens to the monitor, and reports every check's alert as it stands: firing for a down check,
   * `check-degraded` firing for a degraded one, resolved for the rest (every rule), so that what an
   * earlier engine left firing for a check that came back meanwhile is resolved, and what it left firing for a check removed from the
   * config while it was stopped too. Reporting an alert's state again changes nothing.
   */
  start(): void {
    this.#unsubscribe ??= this.#monitor.onTransition((t) => this.transition(t));
    this.#unsubscribeDegraded ??= this.#monitor.onDegradedChange?.((change) => this.degradedChange(change));
    for (const status of this.#monitor.statuses()) {
      const summary = `check ${status.name} is ${status.state}`;
      if (status.state === "down") {
        this.#fire(status.name, checkDownSignal(status.name, status.labels, status.lastResult, status.since));
        this.#sink.report({ ...checkDegradedSignal(status.name, status.labels, null), annotations: { summary }, active: false });
        continue;
      }
      if (status.degraded) this.#fireDegraded(status.name, checkDegradedSignal(status.name, status.labels, status.lastResult));
      const { labels, severity } = checkDownSignal(status.name, status.labels, null);
      for (const rule of checkRules) if (rule !== "check-degraded" || !status.degraded) this.#sink.report({ rule, severity: rule === "check-down" ? severity : "ticket", labels, annotations: { summary }, active: false });
    }
    for (const alert of this.#firing?.firingOf(checkRules) ?? []) {
      const { alertname: _rule, severity: _severity, ...labels } = alert.labels;
      const check = labels.check;
      if (check === undefined || this.#monitor.status(check)) continue;
      this.#sink.report({ rule: alert.rule, severity: alert.severity as Severity, labels, annotations: { summary: `check ${check} is no longer monitored` }, active: false });
    }
    this.#ticker.start();
  }

  stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#unsubscribeDegraded?.();
    this.#unsubscribeDegraded = undefined;
    return this.#ticker.stop();
  }

  /** Looks at every down check again: its alert follows why it fails now, and a check gone resolves (a degraded one too). */
  review(): void {
    for (const check of [...this.#degraded.keys()]) {
      const status = this.#monitor.status(check);
      if (!status?.degraded) this.#resolveDegraded(check, `check ${check} is ${status ? status.state : "no longer monitored"}`);
    }
    for (const [check, fired] of [...this.#fired]) {
      const status = this.#monitor.status(check);
      if (!status || status.state !== "down") {
        this.#resolve(check, `check ${check} is ${status ? status.state : "no longer monitored"}`);
        continue;
      }
      const now = checkDownSignal(check, status.labels, status.lastResult, fired.since);
      if (now.rule === fired.rule) continue;
      this.#resolve(check, `check ${check}: ${now.rule} instead`);
      this.#fire(check, now);
    }
  }

  /** One transition of a check, as the monitor tells it. */
  transition(t: CheckTransition): void {
    if (t.to === "down") this.#resolveDegraded(t.check, `check ${t.check} is down`);
    if (t.to === "down") return this.#fire(t.check, checkDownSignal(t.check, t.labels, t.result, t.at));
    if (t.from === "down") this.#resolve(t.check, `check ${t.check} is ${t.to} again (${t.consecutivePasses} passes in a row)`);
  }

  /** An up check becoming degraded, or no longer, as the monitor tells it. */
  degradedChange(change: DegradedChange): void {
    if (change.degraded) this.#fireDegraded(change.check, checkDegradedSignal(change.check, change.labels, change.result, change.at));
    else this.#resolveDegraded(change.check, `check ${change.check} is no longer degraded`);
  }

  #fireDegraded(check: string, signal: AlertSignal): void {
    this.#degraded.set(check, signal);
    this.#sink.report(signal);
  }

  #resolveDegraded(check: string, summary: string): void {
    const fired = this.#degraded.get(check);
    if (!fired) return;
    this.#degraded.delete(check);
    this.#sink.report({ ...fired, annotations: { summary }, active: false });
  }

  #resolve(check: string, summary: string): void {
    const fired = this.#fired.get(check);
    if (!fired) return;
    this.#fired.delete(check);
    this.#sink.report({ rule: fired.rule, severity: fired.severity, labels: fired.labels, annotations: { summary }, active: false });
  }

  #fire(check: string, signal: AlertSignal): void {
    this.#fired.set(check, signal);
    this.#sink.report(signal);
  }
}
