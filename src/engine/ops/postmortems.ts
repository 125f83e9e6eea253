import { EngineError, parseDuration } from "../../core/index.js";
import type { NewActionItem, OpenActionItem, PostmortemView } from "../../postmortem/index.js";
import type { ActionItem, LearningEntry } from "../../store/index.js";
import type { Engine } from "../engine.js";
import type { PostmortemParts } from "../postmortem-wiring.js";
import { requireService } from "../queries.js";

/** The post-mortem, action item and learning log operations of the façade (see ../operations.ts). */
export interface PostmortemOperations {
  /** The incident's post-mortem; with `regenerate`, drafted afresh (INCIDENT_NOT_FOUND, POSTMORTEM_NOT_FOUND). */
  postmortem(incidentId: string, options?: { regenerate?: boolean; by?: string }): Promise<PostmortemView>;
  /** Action items, oldest first; `open` only those not closed, `incident` only that incident's. */
  actionItems(options?: { open?: boolean; incident?: string }): Promise<ActionItem[]>;
  /** The open action items with their age. */
  openActionItems(): Promise<OpenActionItem[]>;
  addActionItem(input: NewActionItem): Promise<ActionItem>;
  closeActionItem(id: string, by: string): Promise<ActionItem>;
  /** The learning log, oldest first; of a service (SERVICE_UNKNOWN), since a duration ago (e.g. `30d`). */
  learnings(options?: { service?: string; since?: string }): Promise<LearningEntry[]>;
  /** A person's entry in the learning log (LEARNING_INVALID, SERVICE_UNKNOWN). */
  addLearning(input: { services: string[]; text: string; by: string; incident?: string; environment?: string }): Promise<LearningEntry>;
  /** The latest entries about each of `services` (declared ones only), newest first: what plan and deploy show. */
  learnedBefore(services: string[], perService?: number): Promise<Record<string, LearningEntry[]>>;
}

export function postmortemOperations(engine: Engine): PostmortemOperations {
  const parts = (): PostmortemParts => {
    if (!engine.postmortems) throw new EngineError("ENGINE_NOT_RUNNING", "The post-mortems have not started yet.");
    return engine.postmortems;
  };
  return {
    postmortem: (incidentId, options = {}) => parts().postmortems.show(incidentId, options),
    actionItems: (options = {}) => parts().actions.list({ ...(options.open && { open: true }), ...(options.incident !== undefined && { incidentId: options.incident }) }),
    openActionItems: () => parts().actions.open(),
    addActionItem: (input) => parts().actions.add(input),
    closeActionItem: (id, by) => parts().actions.close(id, by),
    learnings: async (options = {}) => {
      if (options.service !== undefined) requireService(engine, options.service);
      const ms = options.since === undefined ? undefined : parseDuration(options.since);
      if (options.since !== undefined && ms === undefined) throw new EngineError("API_BAD_REQUEST", `--since takes a duration such as 30d or 12h, not "${options.since}".`);
      const since = ms === undefined ? undefined : engine.clock.now() - ms;
      return engine.learnings.list({ ...(options.service !== undefined && { service: options.service }), ...(since !== undefined && { since }) });
    },
    addLearning: async (input) => {
      if (input.services.length === 0) throw new EngineError("LEARNING_INVALID", "A learning is about at least one service (--service).");
      for (const service of input.services) requireService(engine, service);
      if (input.environment !== undefined) engine.environment(input.environment);
      if (input.incident !== undefined && !(await engine.store.incidents.get(input.incident))) throw new EngineError("INCIDENT_NOT_FOUND", `No incident with id ${input.incident}.`);
      return engine.learnings.append({
        learning: input.text,
        source: input.incident ? `${input.by} on incident ${input.incident}` : input.by,
        services: input.services,
        ...(input.environment !== undefined && { environment: input.environment }),
      });
    },
    learnedBefore: (services, perService = 3) => {
      const declared = services.filter((s) => Object.hasOwn(engine.project.config.services, s));
      return engine.learnings.latest(declared, perService);
    },
  };
}
