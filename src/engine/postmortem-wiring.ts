import { join } from "node:path";
import type { LoadedProject } from "../config/index.js";
import type { Clock, Logger } from "../core/index.js";
import { buildTimeline } from "../incident/index.js";
import { ActionItems, LearningLog, Postmortems, resolveFollower, postmortemsConfigSchema, type PostmortemSources, type PostmortemsConfig } from "../postmortem/index.js";
import type { Store } from "../store/index.js";
import { parseSection, type Engine } from "./engine.js";
import { impactOf } from "./incident-wiring.js";

/** `postmortems:` of engineroom.yaml: CONFIG_INVALID with the paths. */
export function postmortemsConfig(project: LoadedProject): PostmortemsConfig {
  return parseSection(project, "postmortems", postmortemsConfigSchema, project.config.postmortems);
}

/** The learning log over the store, exported to its file in the project folder. */
export function createLearningLog(project: LoadedProject, config: PostmortemsConfig, store: Store, clock: Clock, logger: Logger): LearningLog {
  return new LearningLog({
    store,
    clock,
    exportPath: join(project.dir, config.learningLog),
    onError: (error) => logger.warn("learning log: the Markdown export failed", { error: String(error) }),
  });
}

/** The post-mortems as the engine runs them: the drafts, the action items, and what follows the resolves. */
export interface PostmortemParts {
  postmortems: Postmortems;
  actions: ActionItems;
  stop(): Promise<void>;
}

/** What a draft reads of the engine: the incidents' request counts, the SLOs' budgets, the routes, the incident's timeline. */
function sourcesOf(engine: Engine): PostmortemSources {
  const impact = impactOf(engine, engine.monitoring);
  return {
    requests: (query) => impact.requests(query),
    budgets: async (service, environment) => {
      const statuses = (await engine.monitoring.slos?.evaluator.statuses()) ?? [];
      return statuses
        .filter((s) => s.service === service && s.environment === environment)
        .map((s) => ({ slo: s.slo, service, environment, kind: s.kind, target: s.target, window: s.window, allowedBad: s.allowedBad, budgetLeft: s.budgetLeft }));
    },
    routes: (service, environment) => {
      const config = engine.environments.find((e) => e.name === environment)?.config.services[service];
      return (config?.routes ?? []).map((r) => `${r.host}${r.path}`);
    },
    timeline: (incident) => buildTimeline(engine.store.events, incident),
  };
}

/** How many of the latest resolves are looked at again when the engine starts. */
const catchUp = 100;

/**
 * Starts the post-mortems once monitoring serves: every `incident.resolved` from this engine's
 * start on drafts the incident's post-mortem (if it needs one) and appends its learning.
 */
export async function startPostmortems(engine: Engine): Promise<PostmortemParts> {
  const postmortems = new Postmortems({
    store: engine.store,
    clock: engine.clock,
    config: engine.postmortemsConfig,
    projectDir: engine.project.dir,
    sources: sourcesOf(engine),
    learnings: engine.learnings,
  });
  const actions = new ActionItems({ store: engine.store, clock: engine.clock, onChange: (incidentId) => postmortems.refresh(incidentId) });
  const follower = resolveFollower({
    events: engine.store.events,
    clock: engine.clock,
    onResolved: (incidentId) => postmortems.resolved(incidentId),
    onError: (error) => engine.logger.warn("post-mortems: a draft failed", { error: String(error) }),
  });
  // From this engine's start, and back over the latest resolves: one resolved while no engine followed
  // (it stopped before its next read) still gets its post-mortem and learning; the rest change nothing.
  const [started] = await engine.store.events.list({ types: ["engine.started"], limit: 1 });
  const recent = await engine.store.events.list({ types: ["incident.resolved"], limit: catchUp });
  follower.start(Math.min(started ? started.id - 1 : 0, ...recent.map((e) => e.id - 1)));
  return { postmortems, actions, stop: () => follower.stop() };
}
