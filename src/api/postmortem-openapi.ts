/** The OpenAPI paths of post-mortems, action items and the learning log (spread into openapi.ts's `paths`). */
const error = { description: "An error: `{ error: { code, message, hint } }`", content: { "application/json": { schema: { type: "object", properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" }, hint: { type: "string" } } } } } } } };
const errors = { "400": error, "401": { description: "Missing or wrong token" }, "404": error };
const id = { name: "id", in: "path", required: true, schema: { type: "string" } };
const by = { by: { type: "string", description: "who (the CLI sends the OS user name; default `api`)" } };
const body = (properties: Record<string, unknown>, required: string[] = []) => ({ content: { "application/json": { schema: { type: "object", ...(required.length && { required }), properties: { ...properties, ...by } } } } });

export const postmortemPaths: Record<string, unknown> = {
  "/v1/incidents/{id}/postmortem": {
    get: {
      summary: "The incident's post-mortem: `{ incidentId, path, markdown, edited, draftPath, draft, createdAt, updatedAt }` — the file as it is in the project (a person's edits included) and the engine's draft (Google SRE template's fields). Drafted at resolve for SEV1–SEV2 and incidents with a rollback (INCIDENT_NOT_FOUND, POSTMORTEM_NOT_FOUND)",
      parameters: [id],
      responses: { "200": { description: "the post-mortem" }, ...errors },
    },
    post: {
      summary: "Drafts the post-mortem afresh from the events, for any incident: written to its file unless a person edited it, else beside it as `<date>-<id>.draft.md` (`draftPath`) (INCIDENT_NOT_FOUND)",
      parameters: [id],
      requestBody: body({}),
      responses: { "200": { description: "the post-mortem" }, ...errors },
    },
  },
  "/v1/actions": {
    get: {
      summary: "Action items, oldest first: id, incidentId, type (prevent, mitigate, process), text, owner, due, state, createdAt, closedAt",
      parameters: [{ name: "open", in: "query", schema: { type: "boolean" } }, { name: "incident", in: "query", schema: { type: "string" } }],
      responses: { "200": { description: "`{ actions }`" }, ...errors },
    },
    post: {
      summary: "Adds an open action item to an incident; its post-mortem lists it (ACTION_INVALID, INCIDENT_NOT_FOUND)",
      requestBody: body({ incident: { type: "string" }, type: { type: "string", enum: ["prevent", "mitigate", "process"] }, owner: { type: "string" }, due: { type: "string", description: "yyyy-mm-dd" }, text: { type: "string" } }, ["incident", "type", "owner", "due", "text"]),
      responses: { "201": { description: "the action item" }, ...errors },
    },
  },
  "/v1/actions/{id}/close": {
    post: { summary: "Closes an action item (closing a closed one changes nothing) (ACTION_NOT_FOUND)", parameters: [id], requestBody: body({}), responses: { "200": { description: "the action item" }, ...errors } },
  },
  "/v1/learnings": {
    get: {
      summary: "The learning log, oldest first: date, learning, source, services, environment (SERVICE_UNKNOWN)",
      parameters: [{ name: "service", in: "query", schema: { type: "string" } }, { name: "since", in: "query", schema: { type: "string" }, description: "a duration back from now, e.g. 30d" }],
      responses: { "200": { description: "`{ learnings }`" }, ...errors },
    },
    post: {
      summary: "A person's entry in the learning log, dated now (LEARNING_INVALID, SERVICE_UNKNOWN, INCIDENT_NOT_FOUND)",
      requestBody: body({ services: { type: "array", items: { type: "string" } }, service: { type: "string" }, text: { type: "string" }, incident: { type: "string" }, environment: { type: "string" } }, ["text"]),
      responses: { "201": { description: "the entry" }, ...errors },
    },
  },
  "/v1/learnings/latest": {
    get: {
      summary: "The latest entries about each of the services, newest first: what plan and deploy show",
      parameters: [{ name: "services", in: "query", schema: { type: "string" }, description: "comma-separated" }, { name: "per", in: "query", schema: { type: "integer", minimum: 1 }, description: "entries per service (default 3)" }],
      responses: { "200": { description: "`{ learnings: { <service>: [entry] } }`" }, ...errors },
    },
  },
};
