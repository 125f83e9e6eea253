/** The OpenAPI paths of the dashboard's reads and pages (spread into openapi.ts's `paths`). */
const env = { name: "env", in: "query", schema: { type: "string" }, description: "an environment of the chain (default the first)" };
const html = { content: { "text/html": { schema: { type: "string" } } } };

export const dashboardPaths: Record<string, unknown> = {
  "/v1/overview": {
    get: {
      summary: "The dashboard's first view: one environment's services, a page at a time, with health, live release, traffic over the last minute and a series (req/s, error rate, p95); totals over every service, check, firing alert and open incident",
      parameters: [
        env,
        { name: "page", in: "query", schema: { type: "integer", minimum: 1 }, description: "from 1; past the last answers the last" },
        { name: "size", in: "query", schema: { type: "integer", minimum: 1, maximum: 200 }, description: "services per page (default 50)" },
        { name: "q", in: "query", schema: { type: "string" }, description: "only services whose name contains this" },
      ],
      responses: { "200": { description: "`{ project, environments, environment, page, pages, size, total, services, totals }`" }, "400": { description: "Bad request" }, "401": { description: "Missing or wrong token" }, "404": { description: "Unknown environment" } },
    },
  },
  "/v1/overview/checks": {
    get: {
      summary: "The checks a page at a time, filtered on the server by name or label value and by state, with the counts over every check: what the dashboard's checks page reads (GET /v1/checks answers all of them with their uptime windows)",
      parameters: [
        { name: "page", in: "query", schema: { type: "integer", minimum: 1 } },
        { name: "size", in: "query", schema: { type: "integer", minimum: 1, maximum: 500 }, description: "default 100" },
        { name: "q", in: "query", schema: { type: "string" } },
        { name: "state", in: "query", schema: { type: "string", enum: ["up", "degraded", "down", "pending"] } },
      ],
      responses: { "200": { description: "`{ page, pages, size, total, states, checks }`" }, "400": { description: "Bad request" }, "401": { description: "Missing or wrong token" } },
    },
  },
  "/v1/services/{service}/history": {
    get: {
      summary: "A service's releases, newest first, with digest, commit, who deployed and approved, the config diff against the release before, and the analysis evidence",
      parameters: [{ name: "service", in: "path", required: true, schema: { type: "string" } }, env, { name: "limit", in: "query", schema: { type: "integer", maximum: 100 } }],
      responses: { "200": { description: "`{ history }`" }, "401": { description: "Missing or wrong token" }, "404": { description: "Unknown service" } },
    },
  },
  "/": { get: { summary: "The web dashboard (no token: its data comes from /v1 with the session)", security: [], responses: { "200": { description: "the app", ...html } } } },
  "/ui/{file}": {
    get: {
      summary: "The dashboard's modules, styles and uPlot (no token)",
      security: [],
      parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
      responses: { "200": { description: "the file" }, "304": { description: "unchanged (ETag)" }, "404": { description: "no such file" } },
    },
  },
  "/status": { get: { summary: "The read-only public status page, when `dashboard.public_status: true` (no token; API_NOT_FOUND otherwise)", security: [], responses: { "200": { description: "the page", ...html }, "404": { description: "not enabled" } } } },
  "/status.json": {
    get: {
      summary: "The public status: each environment's services and their health, open incidents' severity and state; nothing internal (no token; API_NOT_FOUND unless enabled)",
      security: [],
      responses: { "200": { description: "`{ project, environments, incidents, generatedAt }`" }, "404": { description: "not enabled" } },
    },
  },
};
