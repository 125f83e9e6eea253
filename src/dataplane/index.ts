/**
 * The data plane as its own process: the proxies of every environment, serving their last route
 * tables while no engine is connected, persisted so that a restarted data plane comes back with them,
 * and replaced by a handover (the successor takes the listening sockets) when its code changes.
 */
export { DataPlane, type DataPlaneOptions } from "./client.js";
export { RemoteProxy } from "./remote-proxy.js";
export { FleetProxy, type FleetProxyHost, type FleetProxyOptions } from "./fleet-proxy.js";
export { HostAgent, agentArtifactPaths, type HostFacts } from "./agent.js";
export { codeVersion, daemonEntry, dataPlanePaths, type HelloResult, type ProxyRecord, type ProxySettings } from "./protocol.js";
