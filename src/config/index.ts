export {
  projectSchema,
  serviceSchema,
  projectJsonSchema,
  type ProjectConfig,
  type ProjectDocument,
  type EnvironmentConfig,
  type ProxyConfig,
  type ServiceConfig,
  type SmokeTest,
  type HealthConfig,
  type RouteConfig,
  type AnalysisConfig,
} from "./schema.js";
export { closest, loadProject, parseProject, serviceConfigHash, stableStringify, defaultConfigFile, type LoadedProject } from "./load.js";
export { starterConfig } from "./starter.js";
export { costSchema, priceSheetSchema, resourcesSchema, type CostConfig, type PriceSheetConfig, type ResourcesConfig } from "./cost.js";
export { knownKeysAt, unknownKeyProblems } from "./known-keys.js";
export { envValueSchema, providerNameSchema, secretNamePattern, secretNameSchema, secretRefSchema, secretsSectionSchema } from "./secret-ref.js";
export { expandEnvReferences } from "./expand.js";
export { hostSchema, type EnvironmentHosts, type HostConfig } from "./hosts.js";
export { durationSchema, maxDurationMs, type DurationBounds } from "./duration.js";
export { artifactsSchema, ciSchema, ciPublicKeyPattern, defaultMaxUploadBytes, type ArtifactsConfig, type CiConfig } from "./ci.js";
