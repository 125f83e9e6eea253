import { errorCatalogue } from "../core/index.js";

const error = {
  type: "object",
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "hint"],
      properties: { code: { type: "string", enum: Object.keys(errorCatalogue) }, message: { type: "string" }, hint: { type: "string" }, details: { type: "object" } },
    },
  },
};
const errors = {
  "400": { description: "Bad request", content: { "application/json": { schema: error } } },
  "401": { description: "Missing or wrong token", content: { "application/json": { schema: error } } },
  "404": { description: "Unknown service or route", content: { "application/json": { schema: error } } },
};
const service = { name: "service", in: "path", required: true, schema: { type: "string" } };
const ndjson = {
  description:
    'A stream of JSON lines: `{"progress":{step,message,releaseId?}}` while it runs, then `{"result":…}` or `{"error":{code,message,hint,details}}`. Closing the connection before the switch cancels a deploy.',
  content: { "application/x-ndjson": { schema: { type: "string" } } },
};

/** The OpenAPI 3.1 description of the API, served at /v1/openapi.json. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: { title: "Engineroom API", version: "1" },
    components: { securitySchemes: { token: { type: "http", scheme: "bearer", description: "The token in <state_dir>/api-token" } } },
    security: [{ token: [] }],
    paths: {
      "/v1/health": { get: { summary: "Liveness of the API (no token)", security: [], responses: { "200": { description: "ok" } } } },
      "/v1/status": { get: { summary: "Services, live and previous releases, instances, traffic, recent events", responses: { "200": { description: "status" }, ...errors } } },
      "/v1/services/{service}/releases": {
        get: {
          summary: "Releases of a service, newest first",
          parameters: [service, { name: "limit", in: "query", schema: { type: "integer" } }],
          responses: { "200": { description: "releases" }, ...errors },
        },
      },
      "/v1/services/{service}/logs": {
        get: {
          summary: "Last lines printed by each running instance of a service",
          parameters: [service, { name: "lines", in: "query", schema: { type: "integer" } }],
          responses: { "200": { description: "logs" }, ...errors },
        },
      },
      "/v1/events": {
        get: {
          summary: "The event log, oldest first",
          parameters: [
            { name: "service", in: "query", schema: { type: "string" } },
            { name: "after", in: "query", schema: { type: "integer" }, description: "only events with a greater id" },
            { name: "limit", in: "query", schema: { type: "integer" } },
          ],
          responses: { "200": { description: "events" }, ...errors },
        },
      },
      "/v1/services/{service}/deploys": {
        post: {
          summary: "Deploy an artifact (folder or .tgz path on the engine's machine; default: the service's declared artifact)",
          parameters: [service],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { artifact: { type: "string" } } } } } },
          responses: { "200": ndjson, ...errors },
        },
      },
      "/v1/services/{service}/rollback": {
        post: { summary: "Switch back to the previous release", parameters: [service], responses: { "200": ndjson, ...errors } },
      },
    },
  };
}
