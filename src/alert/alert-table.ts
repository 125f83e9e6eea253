/**
 * The alerts the manager holds in memory (firing ones, and resolved ones until they are notified and
 * classified), with the indexes that keep `report()` cheap: by fingerprint, the possible
 * inhibition sources, and by rule, service and environment for duplicates.
 */
import { newId } from "../core/index.js";
import type { AlertRecord } from "../store/index.js";
import { canInhibit, type InhibitRule } from "./inhibition.js";
import type { AlertSignal } from "./types.js";

/** A new firing alert from a signal; it began at the signal's `since`, if given and not in the future. */
export function newAlert(
  signal: AlertSignal,
  labels: Record<string, string>,
  fingerprint: string,
  at: { now: number; resolveAt: number | null; duplicateOf: string | null },
): AlertRecord {
  return {
    id: newId("alr", at.now),
    fingerprint,
    rule: signal.rule,
    severity: signal.severity,
    labels,
    annotations: { ...signal.annotations },
    state: "firing",
    startsAt: Math.min(signal.since ?? at.now, at.now),
    endsAt: null,
    resolveAt: at.resolveAt,
    silencedBy: null,
    inhibitedBy: null,
    duplicateOf: at.duplicateOf,
    ack: null,
    outcome: null,
    updatedAt: at.now,
  };
}

export class AlertTable {
  readonly #alerts = new Map<string, AlertRecord>();
  readonly #firing = new Map<string, string>();
  readonly #sources = new Set<string>();
  readonly #byKind = new Map<string, Set<string>>();
  readonly #inhibit: readonly InhibitRule[];

  constructor(inhibit: readonly InhibitRule[]) {
    this.#inhibit = inhibit;
  }

  get(id: string): AlertRecord | undefined {
    return this.#alerts.get(id);
  }

  has(id: string): boolean {
    return this.#alerts.has(id);
  }

  /** The firing alert with these labels. */
  firingWith(fingerprint: string): AlertRecord | undefined {
    const id = this.#firing.get(fingerprint);
    return id === undefined ? undefined : this.#alerts.get(id);
  }

  firing(): AlertRecord[] {
    return [...this.#firing.values()].map((id) => this.#alerts.get(id)!);
  }

  /** Firing alerts that match the source side of an inhibition rule. */
  sources(): AlertRecord[] {
    return [...this.#sources].map((id) => this.#alerts.get(id)!);
  }

  add(alert: AlertRecord): void {
    this.#alerts.set(alert.id, alert);
    if (alert.state !== "firing") return;
    this.#firing.set(alert.fingerprint, alert.id);
    if (canInhibit(this.#inhibit, alert.labels)) this.#sources.add(alert.id);
    const kind = kindOf(alert.labels);
    if (!this.#byKind.has(kind)) this.#byKind.set(kind, new Set());
    this.#byKind.get(kind)!.add(alert.id);
  }

  /** Takes a resolved alert out of the firing indexes (it stays until `delete`). */
  resolved(alert: AlertRecord): void {
    this.#firing.delete(alert.fingerprint);
    this.#sources.delete(alert.id);
    this.#byKind.get(kindOf(alert.labels))?.delete(alert.id);
  }

  delete(id: string): void {
    this.#alerts.delete(id);
  }

  /** The earliest alert of the same rule, service and environment already firing under other labels. */
  duplicateOf(labels: Readonly<Record<string, string>>, fingerprint: string): string | null {
    const same = [...(this.#byKind.get(kindOf(labels)) ?? [])].map((id) => this.#alerts.get(id)!).filter((a) => a.fingerprint !== fingerprint);
    return same.sort((a, b) => a.startsAt - b.startsAt)[0]?.id ?? null;
  }
}

/** What duplicates share: the rule, service and environment. */
function kindOf(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify([labels.alertname, labels.service ?? "", labels.environment ?? ""]);
}
