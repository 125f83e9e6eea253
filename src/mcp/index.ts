export { createMcpServer, summarize, type McpGuard, type McpServerOptions } from "./server.js";
export { registerMcpRoutes, mcpAccess, narrowHeader, type McpHttpOptions } from "./http.js";
export { relayStdio, type StdioRelayOptions } from "./stdio.js";
export { tools } from "./tools.js";
export type { Tool, Annotations, ToolContext } from "./tool.js";
