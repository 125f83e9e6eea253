export { RemoteRuntime, type AgentChannel, type RemoteRuntimeOptions } from "./remote-runtime.js";
