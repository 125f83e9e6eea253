import { join } from "node:path";
import type { LoadedProject } from "../config/index.js";
import type { Clock, Logger } from "../core/index.js";
import { LearningLog, postmortemsConfigSchema, type PostmortemsConfig } from "../postmortem/index.js";
import type { Store } from "../store/index.js";
import { parseSection } from "./engine.js";

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
