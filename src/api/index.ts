export { createApi, type ApiOptions } from "./server.js";
export { ApiClient, type ApiClientOptions } from "./client.js";
export { openApiDocument } from "./openapi.js";
