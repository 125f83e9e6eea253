export { Engine, defaultEnvironment, formatAddress, type EngineOptions } from "./engine.js";
export { projectStatus, serviceReleases, serviceLogs, requireService, type ProjectStatus, type ServiceStatus, type InstanceLogs } from "./queries.js";
export { StateFiles, processAlive, type EngineInfo } from "./state-files.js";
