/**
 * Post-mortems as the engine keeps them: drafted when an incident that needs one is resolved,
 * written to `<dir>/<yyyy-mm-dd>-<incident id>.md` in the project and kept in the store, refreshed
 * when its action items change, regenerated on request — and never over a file a person edited
 * (its hash differs from the one the engine wrote): a regenerated draft then goes beside it, as
 * `<yyyy-mm-dd>-<incident id>.draft.md`. Each resolved incident also appends its learning.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { EngineError, type Clock } from "../core/index.js";
import type { IncidentRecord, NewEvent, PostmortemRecord, Store } from "../store/index.js";
import type { PostmortemsConfig } from "./config.js";
import { buildDraft, derivedLearning, impactEnd, triggerReleases, type BudgetFacts, type PostmortemDraft, type TimelineEntry, type TrafficSample } from "./draft.js";
import type { LearningLog } from "./learnings.js";
import { postmortemMarkdown } from "./markdown.js";

/** What a draft reads of the engine beyond the store: traffic, SLO budgets, routes, the incident's timeline. */
export interface PostmortemSources {
  /** Requests clients made to the service (one release of it, when given) in [fromMs, toMs), and how many failed. */
  requests(query: { service: string; environment: string; releaseId?: string; fromMs: number; toMs: number }): Promise<{ requests: number; errors: number }>;
  budgets(service: string, environment: string): Promise<BudgetFacts[]>;
  /** The service's routes in the environment, e.g. `*\/`, `api.example.com/v1`. */
  routes(service: string, environment: string): string[];
  timeline(incident: IncidentRecord): Promise<TimelineEntry[]>;
}

export interface PostmortemsOptions {
  store: Pick<Store, "incidents" | "events" | "postmortems" | "actions">;
  clock: Clock;
  config: PostmortemsConfig;
  /** The project folder the post-mortems' folder is in. */
  projectDir: string;
  sources: PostmortemSources;
  learnings: LearningLog;
}

/** A post-mortem as `engineroom postmortem` shows it. */
export interface PostmortemView {
  incidentId: string;
  /** The file, relative to the project folder. */
  path: string;
  /** The file as it is now (a person's edits included), else the engine's draft. */
  markdown: string;
  /** The file no longer is what the engine wrote: a person edited it. */
  edited: boolean;
  /** Where a regenerated draft went when the file was a person's (relative to the project folder). */
  draftPath: string | null;
  draft: PostmortemDraft;
  createdAt: number;
  updatedAt: number;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export class Postmortems {
  readonly #o: PostmortemsOptions;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: PostmortemsOptions) {
    this.#o = options;
  }

  /** Whether the incident gets a post-mortem at resolve: its severity is one of `postmortems.severities`, or a release of it was rolled back. */
  needsPostmortem(incident: IncidentRecord): boolean {
    const rolledBack = incident.cause.kind === "rollback" || incident.signals.some((s) => s.kind === "rollback") || triggerReleases(incident).some((r) => r.rolledBack !== null);
    return rolledBack || this.#o.config.severities.includes(incident.severity);
  }

  /**
   * The incident's post-mortem. One not drafted yet is drafted now if the incident is over and needs
   * one; `regenerate` drafts it afresh from the events, for any incident (INCIDENT_NOT_FOUND,
   * POSTMORTEM_NOT_FOUND).
   */
  show(incidentId: string, options: { regenerate?: boolean; by?: string } = {}): Promise<PostmortemView> {
    return this.#exclusive(async () => {
      const incident = await this.#incident(incidentId);
      const record = await this.#o.store.postmortems.get(incidentId);
      if (options.regenerate) return this.#generate(incident, record, "regenerate", options.by ?? "a person");
      if (record) return this.#view(record, null);
      const over = incident.state === "resolved" || incident.state === "closed";
      if (over && this.needsPostmortem(incident)) return this.#generate(incident, undefined, "resolve", "engine");
      const why = !this.needsPostmortem(incident)
        ? `it is ${incident.severity} without a rollback (post-mortems are drafted for ${this.#o.config.severities.join(", ")} and for incidents with a rollback)`
        : `it is ${incident.state}: its post-mortem is drafted when it is resolved`;
      throw new EngineError("POSTMORTEM_NOT_FOUND", `Incident ${incidentId} has no post-mortem: ${why}.`, {
        hint: `\`engineroom postmortem ${incidentId} --regenerate\` drafts one now from its events.`,
        details: { state: incident.state, severity: incident.severity },
      });
    });
  }

  /**
   * An incident was resolved: its learning is appended to the log (once), and its post-mortem is
   * drafted if it needs one and has none yet. Answers the post-mortem, if any.
   */
  resolved(incidentId: string): Promise<PostmortemView | undefined> {
    return this.#exclusive(async () => {
      const incident = await this.#incident(incidentId);
      const record = await this.#o.store.postmortems.get(incidentId);
      const view = record ? await this.#view(record, null) : this.needsPostmortem(incident) ? await this.#generate(incident, undefined, "resolve", "engine") : undefined;
      // A learning is about services (what plan and deploy show it for): an incident of none has none.
      if (incident.services.length === 0) return view;
      const draft = view?.draft ?? buildDraft(await this.gather(incident));
      await this.#o.learnings.append({
        date: incident.milestones.resolved?.at ?? this.#o.clock.now(),
        learning: derivedLearning(draft),
        source: `incident ${incident.id}`,
        services: incident.services,
        ...(incident.environments[0] !== undefined && { environment: incident.environments[0] }),
        key: `incident:${incident.id}`,
      });
      return view;
    });
  }

  /** Redrafts a post-mortem that exists (its action items changed): the store always, the file only while nobody edited it. */
  refresh(incidentId: string): Promise<void> {
    return this.#exclusive(async () => {
      const record = await this.#o.store.postmortems.get(incidentId);
      if (!record) return;
      await this.#generate(await this.#incident(incidentId), record, "refresh", "engine");
    });
  }

  /** Everything the draft of `incident` is made from, read now. */
  async gather(incident: IncidentRecord): Promise<Parameters<typeof buildDraft>[0]> {
    const s = this.#o.sources;
    const now = this.#o.clock.now();
    const end = impactEnd(incident) ?? now;
    const traffic: TrafficSample[] = [];
    const covered = new Set<string>();
    // A release's own traffic from its switch to its rollback; the rest of a service's since the impact began.
    for (const r of triggerReleases(incident)) {
      if (r.switchedAt === null) continue;
      covered.add(`${r.service}/${r.environment}`);
      const toMs = Math.max(r.rolledBack?.at ?? end, r.switchedAt + 1);
      const counts = await s.requests({ service: r.service, environment: r.environment, releaseId: r.releaseId, fromMs: r.switchedAt, toMs });
      traffic.push({ where: `${r.service} v${r.number ?? "?"} in ${r.environment}`, service: r.service, environment: r.environment, releaseId: r.releaseId, fromMs: r.switchedAt, toMs, ...counts });
    }
    const targets = incident.services.flatMap((service) => incident.environments.map((environment) => ({ service, environment })));
    for (const { service, environment } of targets) {
      if (covered.has(`${service}/${environment}`)) continue;
      const toMs = Math.max(end, incident.startedAt + 1);
      const counts = await s.requests({ service, environment, fromMs: incident.startedAt, toMs });
      traffic.push({ where: `${service} in ${environment}`, service, environment, releaseId: null, fromMs: incident.startedAt, toMs, ...counts });
    }
    const budgets = (await Promise.all(targets.map((t) => s.budgets(t.service, t.environment)))).flat();
    const routes = targets.flatMap((t) => s.routes(t.service, t.environment).map((r) => `${t.service} in ${t.environment}: ${r}`));
    return { incident, timeline: await s.timeline(incident), traffic, budgets, routes, actions: await this.#o.store.actions.list({ incidentId: incident.id }), now };
  }

  /** The file of an incident's post-mortem, relative to the project folder. */
  pathOf(incident: Pick<IncidentRecord, "id" | "openedAt">): string {
    return `${this.#o.config.dir.replace(/\/+$/, "")}/${new Date(incident.openedAt).toISOString().slice(0, 10)}-${incident.id}.md`;
  }

  // --- inside ---

  async #incident(id: string): Promise<IncidentRecord> {
    const incident = await this.#o.store.incidents.get(id);
    if (!incident) throw new EngineError("INCIDENT_NOT_FOUND", `No incident with id ${id}.`);
    return incident;
  }

  /**
   * Drafts the post-mortem and writes it: to its file when the file is missing or still the
   * engine's; beside it (`.draft.md`) when a person edited it and the draft was asked for; not at
   * all to the file on a refresh of a person's file. The store always holds the newest draft.
   */
  async #generate(incident: IncidentRecord, record: PostmortemRecord | undefined, why: "resolve" | "regenerate" | "refresh", by: string): Promise<PostmortemView> {
    const draft = buildDraft(await this.gather(incident));
    const markdown = postmortemMarkdown(draft);
    const path = record?.path ?? this.pathOf(incident);
    const absolute = join(this.#o.projectDir, path);
    const onDisk = await readIfThere(absolute);
    const persons = onDisk !== undefined && sha256(onDisk) !== record?.fileHash;
    let draftPath: string | null = null;
    let fileHash = record?.fileHash ?? sha256(markdown);
    if (!persons) {
      await writeAtomically(absolute, markdown);
      fileHash = sha256(markdown);
    } else if (why !== "refresh") {
      draftPath = path.replace(/\.md$/, ".draft.md");
      await writeAtomically(join(this.#o.projectDir, draftPath), markdown);
    }
    const now = this.#o.clock.now();
    const next: PostmortemRecord = { incidentId: incident.id, createdAt: record?.createdAt ?? now, updatedAt: now, path, fileHash, markdown, draft: draft as unknown as Record<string, unknown> };
    await this.#o.store.postmortems.put(next);
    if (why !== "refresh") {
      const where = draftPath ? `${draftPath} (beside ${path}, which a person edited)` : path;
      await this.#o.store.events.append(this.#event(incident, "postmortem.drafted", `post-mortem of incident ${incident.id} ${why === "resolve" ? "drafted" : `regenerated by ${by}`}: ${where}`, { path, draftPath, by }));
    }
    return this.#view(next, draftPath);
  }

  async #view(record: PostmortemRecord, draftPath: string | null): Promise<PostmortemView> {
    const onDisk = await readIfThere(join(this.#o.projectDir, record.path));
    const edited = onDisk !== undefined && sha256(onDisk) !== record.fileHash;
    return { incidentId: record.incidentId, path: record.path, markdown: onDisk ?? record.markdown, edited, draftPath, draft: record.draft as unknown as PostmortemDraft, createdAt: record.createdAt, updatedAt: record.updatedAt };
  }

  /** An event about an incident's post-mortem; `data.incident` (not `incidentId`) keeps it out of the incident's own timeline. */
  #event(incident: IncidentRecord, type: string, message: string, data: Record<string, unknown>): NewEvent {
    return { type, service: incident.services[0] ?? null, environment: incident.environments[0] ?? null, releaseId: null, message, data: { incident: incident.id, ...data } };
  }

  /** One draft at a time: a resolve, a refresh and a person's regenerate never write the same file at once. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
