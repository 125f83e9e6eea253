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
const env = { name: "env", in: "query", schema: { type: "string" }, description: "an environment of the chain" };
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
      "/v1/status": { get: { summary: "Per environment: services, live and previous releases, instances, traffic; recent events", parameters: [env], responses: { "200": { description: "status" }, ...errors } } },
      "/v1/services/{service}/releases": {
        get: {
          summary: "Releases of a service, newest first",
          parameters: [service, env, { name: "limit", in: "query", schema: { type: "integer" } }],
          responses: { "200": { description: "releases" }, ...errors },
        },
      },
      "/v1/services/{service}/logs": {
        get: {
          summary: "Last lines printed by each running instance of a service",
          parameters: [service, env, { name: "lines", in: "query", schema: { type: "integer" } }],
          responses: { "200": { description: "logs" }, ...errors },
        },
      },
      "/v1/events": {
        get: {
          summary: "The event log, oldest first",
          parameters: [
            { name: "service", in: "query", schema: { type: "string" } },
            env,
            { name: "after", in: "query", schema: { type: "integer" }, description: "only events with a greater id" },
            { name: "limit", in: "query", schema: { type: "integer" } },
          ],
          responses: { "200": { description: "events" }, ...errors },
        },
      },
      "/v1/services/{service}/deploys": {
        post: {
          summary: "Deploy an artifact (folder or .tgz path on the engine's machine; default: the service's declared artifact) into the first environment",
          parameters: [service],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { artifact: { type: "string" }, env: { type: "string" } } } } } },
          responses: { "200": ndjson, ...errors },
        },
      },
      "/v1/services/{service}/promote": {
        post: {
          summary: "Promote the release that is live and stable in the environment before `to` (default: the second) into `to`",
          parameters: [service],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { to: { type: "string" }, initial: { type: "boolean" } } } } } },
          responses: { "200": ndjson, ...errors },
        },
      },
      "/v1/services/{service}/rollback": {
        post: {
          summary: "Switch back to the previous release (`env` required when the chain has more than one environment)",
          parameters: [service],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { env: { type: "string" } } } } } },
          responses: { "200": ndjson, ...errors },
        },
      },
      "/v1/releases/{release}/approve": {
        post: {
          summary: "Approve a verified release that waits for approval, and switch to it",
          parameters: [{ name: "release", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": ndjson, ...errors },
        },
      },
    },
  };
}
