import { loadProject, type LoadedProject } from "../config/index.js";
import { configPath, type GlobalOptions } from "./connect.js";

export { configPath, connect, type GlobalOptions } from "./connect.js";

/**
 * The project, parsed and validated, for the commands that need all of it (`up`, `down`, `secrets`,
 * unlock without an engine). Commands that only talk to a running engine use `connect` instead,
 * which does not load the config machinery.
 */
export function project(options: GlobalOptions): LoadedProject {
  return loadProject(configPath(options));
}
