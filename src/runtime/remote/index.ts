/** Instances on other hosts, each supervised by its host's agent (the data-plane daemon there). */
export { RemoteRuntime, type AgentChannel, type RemoteRuntimeOptions } from "./remote-runtime.js";
export { FleetRuntime, type FleetHost, type Placement } from "./fleet-runtime.js";
export { minHostsWithinHosts, sshHostOptions, sshRuntimeOptions, type SshHostConfig, type SshRuntimeConfig } from "./options.js";
