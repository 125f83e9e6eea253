import { createHash } from "node:crypto";
import type { AlertSignal } from "./types.js";

/** An alert's labels: the signal's, plus `alertname` (the rule) and `severity`, which win over the signal's own. */
export function alertLabels(signal: Pick<AlertSignal, "rule" | "severity" | "labels">): Record<string, string> {
  return { ...signal.labels, alertname: signal.rule, severity: signal.severity };
}

/** Stable hash of the sorted labels (16 hex digits): the same labels give the same fingerprint in any order, on any engine. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((name) => [name, labels[name]!]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}
