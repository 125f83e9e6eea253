/**
 * Action items of post-mortems (type prevent / mitigate / process, owner, due date, state), tracked
 * until closed. Each change is an event; the post-mortem that lists them is redrafted.
 */
import { EngineError, newId, redactor, type Clock } from "../core/index.js";
import { actionTypes, type ActionItem, type ActionType, type Store } from "../store/index.js";

export interface NewActionItem {
  incidentId: string;
  type: string;
  owner: string;
  /** yyyy-mm-dd. */
  due: string;
  text: string;
  by: string;
}

export interface ActionItemsOptions {
  store: Pick<Store, "actions" | "incidents" | "events">;
  clock: Clock;
  /** Called after an item of the incident changed (the post-mortem lists them). */
  onChange?: (incidentId: string) => Promise<void>;
}

/** An open item with its age, as the report lists it. */
export interface OpenActionItem extends ActionItem {
  ageMs: number;
  /** Its due date has passed. */
  overdue: boolean;
}

const invalid = (message: string) => new EngineError("ACTION_INVALID", message);

/** A calendar date `yyyy-mm-dd` that exists, else ACTION_INVALID. */
function dueDate(value: string): string {
  const due = value.trim();
  const ms = Date.parse(`${due}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(due) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== due) {
    throw invalid(`The due date "${value}" is not a date: write it yyyy-mm-dd, e.g. 2026-12-31.`);
  }
  return due;
}

export class ActionItems {
  readonly #o: ActionItemsOptions;

  constructor(options: ActionItemsOptions) {
    this.#o = options;
  }

  /** Adds an open item to an incident (INCIDENT_NOT_FOUND; ACTION_INVALID for a bad type, owner, due date or text). */
  async add(input: NewActionItem): Promise<ActionItem> {
    if (!(actionTypes as readonly string[]).includes(input.type)) throw invalid(`The type "${input.type}" is not one of ${actionTypes.join(", ")}.`);
    const owner = input.owner.trim();
    const text = redactor.redact(input.text.trim().replace(/\s+/g, " "));
    if (!owner) throw invalid("An action item needs an owner (--owner).");
    if (!text) throw invalid("An action item needs its text.");
    const due = dueDate(input.due);
    const incident = await this.#o.store.incidents.get(input.incidentId);
    if (!incident) throw new EngineError("INCIDENT_NOT_FOUND", `No incident with id ${input.incidentId}.`);
    const now = this.#o.clock.now();
    const item: ActionItem = { id: newId("act", now), incidentId: incident.id, type: input.type as ActionType, text, owner, due, state: "open", createdAt: now, createdBy: input.by, closedAt: null, closedBy: null };
    await this.#o.store.actions.put(item);
    await this.#record(item, "action.added", `action item ${item.id} (${item.type}) of incident ${incident.id} added by ${input.by}: ${text} — ${owner}, due ${due}`, incident);
    return item;
  }

  /** Oldest first; with `open`, only those not closed. */
  list(query: { open?: boolean; incidentId?: string } = {}): Promise<ActionItem[]> {
    return this.#o.store.actions.list(query);
  }

  /** The open items with their age at `now` (what `engineroom report` lists). */
  async open(now = this.#o.clock.now()): Promise<OpenActionItem[]> {
    const today = new Date(now).toISOString().slice(0, 10);
    return (await this.#o.store.actions.list({ open: true })).map((a) => ({ ...a, ageMs: Math.max(0, now - a.createdAt), overdue: a.due < today }));
  }

  /** Closes an item (ACTION_NOT_FOUND); closing a closed one changes nothing. */
  async close(id: string, by: string): Promise<ActionItem> {
    const item = await this.#o.store.actions.get(id);
    if (!item) throw new EngineError("ACTION_NOT_FOUND", `No action item with id ${id}.`);
    if (item.state === "closed") return item;
    const closed: ActionItem = { ...item, state: "closed", closedAt: this.#o.clock.now(), closedBy: by };
    await this.#o.store.actions.put(closed);
    await this.#record(closed, "action.closed", `action item ${id} of incident ${item.incidentId} closed by ${by}: ${item.text}`);
    return closed;
  }

  async #record(item: ActionItem, type: string, message: string, known?: { services: string[]; environments: string[] }): Promise<void> {
    const incident = known ?? (await this.#o.store.incidents.get(item.incidentId));
    // `data.incident`, not `incidentId`: an item added after the resolve is no part of the incident's timeline.
    await this.#o.store.events.append({ type, service: incident?.services[0] ?? null, environment: incident?.environments[0] ?? null, message, data: { incident: item.incidentId, actionId: item.id, type: item.type, owner: item.owner, due: item.due } });
    await this.#o.onChange?.(item.incidentId);
  }
}
