import { resolve } from "node:path";
import { ApiClient } from "../api/index.js";
import { defaultConfigFile, loadProject, type LoadedProject } from "../config/index.js";
import { EngineError } from "../core/index.js";
import { processAlive, StateFiles } from "../engine/index.js";

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

/** The config file the user means: --config, then $ENGINEROOM_CONFIG, then ./engineroom.yaml. */
export function configPath(options: GlobalOptions): string {
  return resolve(options.config ?? process.env.ENGINEROOM_CONFIG ?? defaultConfigFile);
}

export function project(options: GlobalOptions): LoadedProject {
  return loadProject(configPath(options));
}

/** A client for the engine that runs for this project, or ENGINE_NOT_RUNNING. */
export function client(options: GlobalOptions): ApiClient {
  const loaded = project(options);
  const files = new StateFiles(loaded.stateDir);
  const info = files.readEngineInfo();
  const token = files.readToken();
  if (!info || !token || !processAlive(info.pid)) {
    throw new EngineError("ENGINE_NOT_RUNNING", `No engine runs for ${loaded.file}.`);
  }
  return new ApiClient({ address: info.api, token });
}
