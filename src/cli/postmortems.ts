import type { Command } from "commander";
import { formatDuration } from "../core/index.js";
import type { PostmortemView } from "../postmortem/index.js";
import type { ActionItem, LearningEntry } from "../store/index.js";
import type { ApiClient } from "./client.js";
import { connect, type GlobalOptions } from "./connect.js";
import { operatorName, wantsJson } from "./group-support.js";
import { bold, dim, green, out, table, yellow } from "./render.js";

type Json = { json?: boolean };
type Globals = (command: Command) => GlobalOptions;

/** Every value of an option given more than once. */
const repeated = (value: string, before: string[] | undefined) => [...(before ?? []), value];

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `engineroom postmortem <incident> [--json] [--regenerate]`: the incident's post-mortem, as its file reads. */
export function registerPostmortemCommand(program: Command, globals: Globals): void {
  program
    .command("postmortem <incident>")
    .description("an incident's post-mortem (drafted at resolve for SEV1–SEV2 and rollbacks), as its Markdown file in the project reads")
    .option("--regenerate", "draft it afresh from the events (a file a person edited is kept: the draft goes beside it as .draft.md)")
    .option("--json", "print JSON: the file, the draft's fields, whether a person edited it")
    .action(async (incident: string, options: Json & { regenerate?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const path = `/v1/incidents/${encodeURIComponent(incident)}/postmortem`;
      const view = options.regenerate ? await api.post<PostmortemView>(path, { by: operatorName() }) : await api.get<PostmortemView>(path);
      if (wantsJson(options, command)) return out(JSON.stringify(view, null, 2));
      const where = view.draftPath
        ? yellow(`${view.path} was edited by a person and is kept; the new draft is ${view.draftPath}`)
        : `${view.path}${view.edited ? " (edited by a person)" : ""}`;
      out(`${dim(where)}\n\n${view.markdown}`);
    });
}

/** `engineroom actions add|list|close`: post-mortems' action items, tracked until closed. */
export function registerActionCommands(program: Command, globals: Globals): void {
  const list = async (options: Json & { open?: boolean; incident?: string }, command: Command) => {
    const api = await connect(globals(command));
    // `--open` is the group's option too: commander gives it to the group.
    const open = options.open ?? (command.optsWithGlobals() as { open?: boolean }).open;
    const query = new URLSearchParams({ ...(open && { open: "true" }), ...(options.incident && { incident: options.incident }) });
    const { actions } = await api.get<{ actions: ActionItem[] }>(`/v1/actions${query.size ? `?${query}` : ""}`);
    out(wantsJson(options, command) ? JSON.stringify({ actions }, null, 2) : renderActions(actions));
  };
  const actions = program
    .command("actions")
    .description("post-mortems' action items: list (--open), add <incident>, close <id>")
    .option("--open", "only the items not closed")
    .option("--json", "print JSON")
    .action(list);
  actions.command("list").description("action items, oldest first").option("--open", "only the items not closed").option("--incident <id>", "only this incident's").option("--json", "print JSON").action(list);
  actions
    .command("add <incident> <text>")
    .description("add an action item to an incident; its post-mortem lists it")
    .requiredOption("--type <type>", "prevent, mitigate or process")
    .requiredOption("--owner <name>", "who does it")
    .requiredOption("--due <yyyy-mm-dd>", "when it is due")
    .option("--json", "print JSON")
    .action(async (incident: string, text: string, options: Json & { type: string; owner: string; due: string }, command: Command) => {
      const api = await connect(globals(command));
      const item = await api.post<ActionItem>("/v1/actions", { incident, text, type: options.type, owner: options.owner, due: options.due, by: operatorName() });
      out(wantsJson(options, command) ? JSON.stringify(item, null, 2) : `${green("added")} ${item.id} (${item.type}) to ${item.incidentId}: ${item.text} — ${item.owner}, due ${item.due}`);
    });
  actions
    .command("close <id>")
    .description("close an action item")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json, command: Command) => {
      const api = await connect(globals(command));
      const item = await api.post<ActionItem>(`/v1/actions/${encodeURIComponent(id)}/close`, { by: operatorName() });
      out(wantsJson(options, command) ? JSON.stringify(item, null, 2) : `${green("closed")} ${item.id}: ${item.text}`);
    });
}

/** `engineroom learnings [--service] [--since] [--json]`, `learnings add --service <s> "text"`: the learning log. */
export function registerLearningCommands(program: Command, globals: Globals): void {
  const list = async (options: Json & { service?: string[]; since?: string }, command: Command) => {
    const api = await connect(globals(command));
    const given = command.optsWithGlobals() as { service?: string[]; since?: string };
    const service = (options.service ?? given.service)?.at(-1);
    const since = options.since ?? given.since;
    const query = new URLSearchParams({ ...(service && { service }), ...(since && { since }) });
    const { learnings } = await api.get<{ learnings: LearningEntry[] }>(`/v1/learnings${query.size ? `?${query}` : ""}`);
    out(wantsJson(options, command) ? JSON.stringify({ learnings }, null, 2) : renderLearnings(learnings));
  };
  const learnings = program
    .command("learnings")
    .description("the learning log: date | learning | source (each resolved incident, each drill, people's entries)")
    .option("--service <service>", "only the entries about this service", repeated)
    .option("--since <duration>", "only the entries of the last 30d, 12h…")
    .option("--json", "print JSON")
    .action(list);
  learnings.command("list").description("the learning log, oldest first").option("--service <service>", "only this service's", repeated).option("--since <duration>", "only the last 30d, 12h…").option("--json", "print JSON").action(list);
  learnings
    .command("add <text>")
    .description("add what was learned to the log (dated now, with you as its source)")
    .option("--service <service>", "the service it is about (required; repeat it for more than one)", repeated)
    .option("--incident <id>", "the incident it was learned from")
    .option("--env <environment>", "the environment it is about")
    .option("--json", "print JSON")
    .action(async (text: string, options: Json & { service?: string[]; incident?: string; env?: string }, command: Command) => {
      const api = await connect(globals(command));
      // `learnings --service` is the group's option too: commander gives it to the group.
      const services = options.service ?? (command.optsWithGlobals() as { service?: string[] }).service ?? [];
      const entry = await api.post<LearningEntry>("/v1/learnings", { text, services, incident: options.incident, environment: options.env, by: operatorName() });
      out(wantsJson(options, command) ? JSON.stringify(entry, null, 2) : `${green("added")} ${day(entry.date)} ${entry.learning} ${dim(`(${entry.source})`)}`);
    });
}

export function renderActions(actions: readonly ActionItem[]): string {
  if (actions.length === 0) return "No action items.";
  const today = day(Date.now());
  const rows = actions.map((a) => [a.id, a.incidentId, a.type, a.owner, a.state === "open" && a.due < today ? yellow(`${a.due} (overdue)`) : a.due, a.state === "open" ? `open ${formatDuration(Math.max(0, Date.now() - a.createdAt))}` : dim("closed"), a.text]);
  return table(["id", "incident", "type", "owner", "due", "state", "action"], rows);
}

export function renderLearnings(entries: readonly LearningEntry[]): string {
  if (entries.length === 0) return "The learning log is empty: each resolved incident and each drill adds an entry; `engineroom learnings add --service <service> \"text\"` adds yours.";
  return table(["date", "learning", "source"], entries.map((e) => [day(e.date), e.learning, e.source]));
}

/**
 * The "Learned before:" block of `plan` and `deploy`: the latest entries of the learning log about
 * the services they touch (empty when there are none, or the engine cannot say).
 */
export async function learnedBefore(api: ApiClient, services: readonly string[], perService = 3): Promise<string> {
  if (services.length === 0) return "";
  try {
    const query = new URLSearchParams({ services: [...new Set(services)].join(","), per: String(perService) });
    const { learnings } = await api.get<{ learnings: Record<string, LearningEntry[]> }>(`/v1/learnings/latest?${query}`);
    const rows = Object.entries(learnings).flatMap(([service, entries]) => entries.map((e) => `  ${service}  ${day(e.date)}  ${e.learning} ${dim(`(${e.source})`)}`));
    return rows.length ? [bold("Learned before:"), ...rows].join("\n") : "";
  } catch {
    return ""; // an engine without a learning log: the plan or deploy goes on without the block
  }
}
