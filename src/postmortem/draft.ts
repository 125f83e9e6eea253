/**
 * A post-mortem draft from what the engine recorded: the Google SRE template's fields, every
 * measurable one (impact, trigger, detection, response, timeline, action items) filled from the
 * incident, its links, the request counts and the SLO budgets; the root cause and the lessons are
 * left for the responders and marked as such. Pure: the same facts make the same draft.
 */
import { formatDuration } from "../core/index.js";
import type { ActionItem, EngineEvent, IncidentRecord } from "../store/index.js";
import { isoDate } from "./learnings.js";

/** One event of the incident's timeline (the incident domain's IncidentView timeline). */
export type TimelineEntry = Pick<EngineEvent, "id" | "time" | "type" | "service" | "environment" | "releaseId" | "message">;

/** Requests clients made to one target over the incident's impact, and how many failed. */
export interface TrafficSample {
  /** e.g. `web v2 in production` or `web in production`. */
  where: string;
  service: string;
  environment: string;
  releaseId: string | null;
  fromMs: number;
  toMs: number;
  requests: number;
  errors: number;
}

/** An SLO of a service the incident touched, as evaluated at drafting. */
export interface BudgetFacts {
  slo: string;
  service: string;
  environment: string;
  kind: string;
  /** The objective in percent, e.g. 99.9. */
  target: number;
  window: string;
  /** Bad events the budget allows in its window. */
  allowedBad: number;
  /** Percent left now. */
  budgetLeft: number;
}

/** Everything a draft is made from. */
export interface PostmortemFacts {
  incident: IncidentRecord;
  timeline: TimelineEntry[];
  traffic: TrafficSample[];
  budgets: BudgetFacts[];
  /** Routes of each service in each environment of the incident, e.g. `web: *\/`. */
  routes: string[];
  actions: ActionItem[];
  /** When the draft is made. */
  now: number;
}

/** A release involved, as the trigger names it (the incident's release link). */
export interface TriggerRelease {
  releaseId: string;
  service: string;
  environment: string;
  number: number | null;
  artifactDigest: string | null;
  previous: { releaseId: string; number: number; artifactDigest: string } | null;
  configDiff: { key: string; from?: unknown; to?: unknown }[];
  deployedBy: string | null;
  approvedBy: string | null;
  planHash: string | null;
  switchedAt: number | null;
  rolledBack: { reason: string; at: number } | null;
}

/** The marker of a field left for people. */
export const toBeWritten = "_To be written by the responders_";

export interface PostmortemDraft {
  incidentId: string;
  title: string;
  /** The day the incident opened, yyyy-mm-dd (UTC). */
  date: string;
  status: "draft";
  severity: string;
  severityReasons: string[];
  services: string[];
  environments: string[];
  commander: string | null;
  /** Generated from the measured fields; the responders may rewrite it. */
  summary: string;
  impact: {
    startedAt: number;
    /** When the impact ended: mitigated (traffic back on a healthy release), else resolved; null while it lasts. */
    endedAt: number | null;
    durationMs: number | null;
    requests: number;
    requestsFailed: number;
    /** requestsFailed / requests, 0..1; null without requests. */
    failedShare: number | null;
    samples: TrafficSample[];
    budgets: (BudgetFacts & { burnedPercent: number | null })[];
    routes: string[];
  };
  trigger: { releases: TriggerRelease[]; text: string };
  detection: { how: string; signal: string; detectMs: number | null };
  response: {
    acknowledgeMs: number | null;
    acknowledgedBy: string | null;
    mitigateMs: number | null;
    mitigatedBy: string | null;
    resolveMs: number | null;
    resolvedBy: string | null;
    escalated: boolean;
  };
  timeline: TimelineEntry[];
  notes: IncidentRecord["notes"];
  actionItems: ActionItem[];
  /** Left for people (null until written in the file). */
  rootCause: null;
  lessons: { wentWell: null; wentWrong: null; gotLucky: null };
  /** The fields the engine could not measure, left for the responders. */
  forPeople: string[];
  generatedAt: number;
}

/**
 * When the incident's impact ended: the rollback that opened it (traffic left the bad release
 * then, before the incident was even opened), else when it was mitigated, resolved or cancelled.
 */
export function impactEnd(incident: IncidentRecord): number | null {
  const m = incident.milestones;
  const ended = m.mitigated?.at ?? m.resolved?.at ?? m.cancelled?.at ?? null;
  const cause = incident.cause.kind === "rollback" ? incident.links.find((l) => l.kind === "release" && l.ref === incident.cause.ref) : undefined;
  const rolledBackAt = (cause?.detail.rolledBack as { at?: number } | null | undefined)?.at;
  return typeof rolledBackAt === "number" ? Math.min(rolledBackAt, ended ?? rolledBackAt) : ended;
}

/** A rollback's reason without the event's "<release> is rolled-back: " before it. */
export const rollbackReason = (message: string) => message.replace(/^.*? is rolled-back: /, "");

/** The incident's release links as the trigger names them, oldest first. */
export function triggerReleases(incident: IncidentRecord): TriggerRelease[] {
  return incident.links
    .filter((l) => l.kind === "release")
    .map((l) => {
      const d = l.detail as Record<string, unknown>;
      const previous = d.previous as TriggerRelease["previous"] | null | undefined;
      return {
        releaseId: l.ref,
        service: String(d.service ?? incident.services[0] ?? ""),
        environment: String(d.environment ?? incident.environments[0] ?? ""),
        number: typeof d.number === "number" ? d.number : null,
        artifactDigest: typeof d.artifactDigest === "string" ? d.artifactDigest : null,
        previous: previous ? { releaseId: previous.releaseId, number: previous.number, artifactDigest: previous.artifactDigest } : null,
        configDiff: Array.isArray(d.configDiff) ? (d.configDiff as TriggerRelease["configDiff"]) : [],
        deployedBy: typeof d.deployedBy === "string" ? d.deployedBy : null,
        approvedBy: typeof d.approvedBy === "string" ? d.approvedBy : null,
        planHash: typeof d.planHash === "string" ? d.planHash : null,
        switchedAt: typeof d.switchedAt === "number" ? d.switchedAt : null,
        rolledBack: (d.rolledBack as TriggerRelease["rolledBack"]) ?? null,
      };
    });
}

export const percentText = (share: number) => `${Math.round(share * 1000) / 10}%`;
const releaseName = (r: TriggerRelease) => `${r.service} v${r.number ?? "?"}`;

/** How the incident was detected, by what signal, and how long after its impact began. */
function detection(incident: IncidentRecord, releases: TriggerRelease[]): PostmortemDraft["detection"] {
  const first = incident.signals[0];
  const detectMs = Math.max(0, incident.openedAt - incident.startedAt);
  const cause = incident.cause;
  if (cause.kind === "rollback") {
    const release = releases.find((r) => r.releaseId === cause.ref);
    const reason = rollbackReason(release?.rolledBack?.reason ?? first?.summary ?? "rolled back");
    const automatic = /^analysis\b|kept crashing|release\.down|no healthy instance/.test(reason);
    const ms = release?.switchedAt != null && release.rolledBack ? Math.max(0, release.rolledBack.at - release.switchedAt) : detectMs;
    const how = automatic ? `the release's watch rolled ${release ? releaseName(release) : "it"} back by itself` : `${release ? releaseName(release) : "the release"} was rolled back by hand`;
    return { how, signal: reason, detectMs: ms };
  }
  if (cause.kind === "alert") {
    const alert = incident.links.find((l) => l.kind === "alert" && l.ref === cause.ref);
    const rule = String(alert?.detail.rule ?? "alert");
    const check = incident.links.find((l) => l.kind === "check")?.ref;
    return { how: `a page alert: ${rule}${check ? ` (check ${check})` : ""}`, signal: first?.summary ?? cause.ref, detectMs };
  }
  if (cause.kind === "release.down") return { how: "release.down: the release had no healthy instance left", signal: first?.summary ?? cause.ref, detectMs };
  return { how: `opened by hand by ${incident.openedBy}`, signal: incident.title, detectMs: null };
}

/** The learning the log records for a resolved incident, e.g. `web v2: error rate 23% after deploy; rolled back in 41 s`. */
export function derivedLearning(draft: Pick<PostmortemDraft, "trigger" | "impact" | "detection" | "response" | "title" | "services" | "environments">): string {
  const release = draft.trigger.releases.find((r) => r.rolledBack) ?? draft.trigger.releases[0];
  const share = draft.impact.failedShare;
  const failing = share !== null && draft.impact.requests > 0 ? `error rate ${percentText(share)} of ${draft.impact.requests} requests` : null;
  if (release) {
    const changed = release.configDiff.length ? ` (config: ${release.configDiff.map((c) => c.key).join(", ")})` : "";
    const after = `${failing ?? "failed"} after deploy${changed}`;
    const rolled = release.rolledBack && release.switchedAt !== null ? `rolled back in ${formatDuration(release.rolledBack.at - release.switchedAt)}` : null;
    const end = rolled ?? (draft.response.mitigateMs !== null ? `mitigated in ${formatDuration(draft.response.mitigateMs)}` : `resolved in ${formatDuration(draft.response.resolveMs ?? 0)}`);
    return `${releaseName(release)} in ${release.environment}: ${after}; ${end}`;
  }
  const where = `${draft.services.join(", ") || "?"}${draft.environments.length ? ` in ${draft.environments.join(", ")}` : ""}`;
  const parts = [draft.detection.how, failing, draft.response.mitigateMs !== null ? `mitigated in ${formatDuration(draft.response.mitigateMs)}` : null, draft.response.resolveMs !== null ? `resolved in ${formatDuration(draft.response.resolveMs)}` : null];
  return `${where}: ${parts.filter(Boolean).join("; ")}`;
}

/** The draft of `facts.incident`'s post-mortem. */
export function buildDraft(facts: PostmortemFacts): PostmortemDraft {
  const { incident } = facts;
  const releases = triggerReleases(incident);
  const endedAt = impactEnd(incident);
  const requests = facts.traffic.reduce((sum, s) => sum + s.requests, 0);
  const requestsFailed = facts.traffic.reduce((sum, s) => sum + s.errors, 0);
  const failedShare = requests > 0 ? requestsFailed / requests : null;
  const since = (at: number | undefined) => (at === undefined ? null : Math.max(0, at - incident.startedAt));
  const m = incident.milestones;
  const response: PostmortemDraft["response"] = {
    acknowledgeMs: incident.ack ? Math.max(0, incident.ack.at - incident.openedAt) : null,
    acknowledgedBy: incident.ack?.by ?? null,
    mitigateMs: since(m.mitigated?.at),
    mitigatedBy: m.mitigated?.by ?? null,
    resolveMs: since(m.resolved?.at),
    resolvedBy: m.resolved?.by ?? null,
    escalated: incident.escalatedAt !== null,
  };
  const budgets = facts.budgets.map((b) => {
    const mine = facts.traffic.filter((s) => s.service === b.service && s.environment === b.environment).reduce((sum, s) => sum + s.errors, 0);
    const burnedPercent = b.kind === "availability" && b.allowedBad > 0 ? Math.round((mine / b.allowedBad) * 10_000) / 100 : null;
    return { ...b, burnedPercent };
  });
  const trigger = { releases, text: triggerText(releases) };
  const detected = detection(incident, releases);
  const draft: PostmortemDraft = {
    incidentId: incident.id,
    title: incident.title,
    date: isoDate(incident.openedAt),
    status: "draft",
    severity: incident.severity,
    severityReasons: incident.severityReasons,
    services: incident.services,
    environments: incident.environments,
    commander: incident.commander,
    summary: "",
    impact: { startedAt: incident.startedAt, endedAt, durationMs: endedAt === null ? null : Math.max(0, endedAt - incident.startedAt), requests, requestsFailed, failedShare, samples: facts.traffic, budgets, routes: facts.routes },
    trigger,
    detection: detected,
    response,
    timeline: facts.timeline,
    notes: incident.notes,
    actionItems: facts.actions,
    rootCause: null,
    lessons: { wentWell: null, wentWrong: null, gotLucky: null },
    forPeople: ["root cause", "lessons learned: what went well", "lessons learned: what went wrong", "lessons learned: where we got lucky"],
    generatedAt: facts.now,
  };
  draft.summary = summaryText(draft);
  return draft;
}

function triggerText(releases: TriggerRelease[]): string {
  if (releases.length === 0) return "No release is linked to this incident.";
  return releases
    .map((r) => {
      const diff = r.configDiff.length ? `${r.configDiff.length} config key(s) changed against v${r.previous?.number ?? "?"}` : r.previous ? `the same config as v${r.previous.number}` : "no earlier release to compare with";
      const digest = r.previous && r.previous.artifactDigest !== r.artifactDigest ? "a new artifact" : r.previous ? "the same artifact" : "its artifact";
      return `${releaseName(r)} in ${r.environment}: ${digest}, ${diff}; ${r.deployedBy ?? "made by an unknown path"}`;
    })
    .join("\n");
}

function summaryText(d: PostmortemDraft): string {
  const where = `${d.services.join(", ") || "no service"}${d.environments.length ? ` in ${d.environments.join(", ")}` : ""}`;
  const failing = d.impact.failedShare !== null ? `${d.impact.requestsFailed} of ${d.impact.requests} requests failed (${percentText(d.impact.failedShare)})` : "no requests were recorded";
  const lasted = d.impact.durationMs !== null ? `for ${formatDuration(d.impact.durationMs)}` : "and it is not over";
  const detectedIn = d.detection.detectMs !== null ? ` It was detected ${formatDuration(d.detection.detectMs)} after the impact began: ${d.detection.how}.` : ` ${d.detection.how[0]!.toUpperCase()}${d.detection.how.slice(1)}.`;
  const resolved = d.response.resolveMs !== null ? ` Resolved ${formatDuration(d.response.resolveMs)} after the impact began.` : "";
  return `${d.severity} incident of ${where}: ${failing} ${lasted}.${detectedIn}${resolved}`;
}
