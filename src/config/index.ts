export {
  projectSchema,
  serviceSchema,
  projectJsonSchema,
  type ProjectConfig,
  type ServiceConfig,
  type SmokeTest,
  type HealthConfig,
  type RouteConfig,
} from "./schema.js";
export { loadProject, parseProject, serviceConfigHash, stableStringify, defaultConfigFile, type LoadedProject } from "./load.js";
export { starterConfig } from "./starter.js";
