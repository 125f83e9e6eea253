/**
 * What the alert manager keeps across restarts: alerts (firing and resolved, with their
 * acknowledgement and outcome), the state of each notification group (what it last notified, when
 * it flushes next), silences, and the delivery log of every notification per channel.
 */

export type AlertState = "firing" | "resolved";

/** How an alert turned out, for the noise report: inferred once it resolves, or set by a person. */
export const alertOutcomes = ["actionable", "noise", "duplicate", "unclassified"] as const;
export type AlertOutcome = (typeof alertOutcomes)[number];

export interface AlertAck {
  /** Who acknowledged: the OS user name the CLI sends, or the API's actor. */
  by: string;
  at: number;
  /** When the acknowledgement lapses (repeats resume); null: until the alert resolves. */
  until: number | null;
  comment: string | null;
}

export interface AlertOutcomeRecord {
  value: AlertOutcome;
  /** `inferred` from what followed, or `person` (an override, which inference never replaces). */
  source: "inferred" | "person";
  /** Who set it (null when inferred). */
  by: string | null;
  /** Why: the person's reason, or what the inference saw. */
  reason: string;
  at: number;
}

/** One firing of an alert rule for one set of labels. */
export interface AlertRecord {
  /** e.g. `alr_lx2k9a1b_8f3c2d1e`: a new id for every firing, even of the same labels. */
  id: string;
  /** Stable hash of the sorted labels. */
  fingerprint: string;
  rule: string;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  startsAt: number;
  endsAt: number | null;
  /** A one-off alert resolves by itself then (its signal's resolveAfterMs); null otherwise. */
  resolveAt: number | null;
  /** The silence that kept it from being notified, last time it was looked at. */
  silencedBy: string | null;
  /** The alert that inhibited it, last time it was looked at. */
  inhibitedBy: string | null;
  /** The alert of the same rule, service and environment that was already firing when this one began. */
  duplicateOf: string | null;
  ack: AlertAck | null;
  /** Null while not yet classified. */
  outcome: AlertOutcomeRecord | null;
  updatedAt: number;
}

/** One notification group (Alertmanager's aggregation group) and what it last told its receivers. */
export interface AlertGroupRecord {
  /** The route and the values of its group_by labels. */
  key: string;
  route: string;
  receivers: string[];
  groupLabels: Record<string, string>;
  /** Its alerts: firing ones, and resolved ones not yet notified as resolved. */
  alertIds: string[];
  /** The firing alerts the last notification carried. */
  notifiedFiring: string[];
  lastNotifiedAt: number | null;
  nextFlushAt: number;
  createdAt: number;
  updatedAt: number;
}

export interface SilenceRecord {
  /** e.g. `sil_…` */
  id: string;
  /** `name=value`, `name!=value`, `name=~regex`, `name!~regex`; all must match. */
  matchers: string[];
  reason: string;
  createdBy: string;
  createdAt: number;
  startsAt: number;
  endsAt: number;
  /** When it stopped applying early or at its end: null while active. */
  expiredAt: number | null;
  /** Who expired it (a person), or `engineroom` for expiry at its end or for being unused. */
  expiredBy: string | null;
  /** `ended`, `unused` or `expired by <person>`. */
  expiredReason: string | null;
  /** The last time it matched an alert (its creation time until it does). */
  lastMatchedAt: number;
  updatedAt: number;
}

/** One notification's delivery to one channel (the notify contract's Delivery), as the delivery log keeps it. */
export interface DeliveryRecord {
  notificationId: string;
  channel: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: number;
  updatedAt: number;
  title: string;
}

export interface AlertQuery {
  state?: AlertState;
  /** Only alerts that began at or after this time. */
  since?: number;
  /** At most this many, newest first. Default 100. */
  limit?: number;
}

/** The alert manager's tables. Every `put` writes the whole record (insert or replace). */
export interface AlertRepo {
  put(alert: AlertRecord): Promise<void>;
  get(id: string): Promise<AlertRecord | undefined>;
  /** Newest first (by start time). */
  list(query?: AlertQuery): Promise<AlertRecord[]>;
  putGroup(group: AlertGroupRecord): Promise<void>;
  removeGroup(key: string): Promise<void>;
  listGroups(): Promise<AlertGroupRecord[]>;
  putSilence(silence: SilenceRecord): Promise<void>;
  getSilence(id: string): Promise<SilenceRecord | undefined>;
  /** Newest first; `active` keeps those not expired. */
  listSilences(query?: { active?: boolean; limit?: number }): Promise<SilenceRecord[]>;
  putDelivery(delivery: DeliveryRecord): Promise<void>;
  /** Newest first. Default limit 50. */
  listDeliveries(query?: { limit?: number }): Promise<DeliveryRecord[]>;
}
