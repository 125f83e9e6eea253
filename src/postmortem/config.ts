import { z } from "zod";
import { incidentSeverities } from "../store/index.js";

/** A path inside the project folder (relative, never `..`). */
const projectPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith("/") && !p.split(/[\\/]/).includes(".."), "must be a path inside the project folder (relative, without ..)");

/** `postmortems:` of engineroom.yaml, as written. */
export const postmortemsSchema = z
  .strictObject({
    dir: projectPath.default("postmortems").meta({ description: "The folder (next to engineroom.yaml, kept in git) post-mortems are written to, one `<yyyy-mm-dd>-<incident id>.md` each (default postmortems)." }),
    learning_log: projectPath.optional().meta({ description: "The Markdown file the learning log is exported to (default <dir>/learning-log.md)." }),
    severities: z.array(z.enum(incidentSeverities)).min(1).default(["SEV1", "SEV2"]).meta({ description: "The severities whose resolve drafts a post-mortem (default SEV1, SEV2); an incident with a rollback always gets one." }),
  })
  .prefault({});

/** The post-mortems' settings, resolved: paths relative to the project folder. */
export interface PostmortemsConfig {
  dir: string;
  learningLog: string;
  severities: string[];
}

export const postmortemsConfigSchema = postmortemsSchema.transform(
  (c): PostmortemsConfig => ({ dir: c.dir, learningLog: c.learning_log ?? `${c.dir.replace(/\/+$/, "")}/learning-log.md`, severities: c.severities }),
);
