/** The OpenAPI paths of approvals and of the MCP endpoint (spread into openapi.ts's `paths`). */
const error = { description: "An error: `{ error: { code, message, hint, details? } }`", content: { "application/json": { schema: { type: "object", properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" }, hint: { type: "string" } } } } } } } };
const errors = { "400": error, "401": { description: "Missing or wrong token" }, "403": error, "404": error, "409": error };
const id = { name: "id", in: "path", required: true, schema: { type: "string" }, description: "an approval request (`apr_…`) or a release that waits for approval (`rel_…`)" };
const notAllowed = { summary: "Not served: /mcp is stateless (405)", responses: { "405": { description: "POST JSON-RPC messages to /mcp" } } };

export const approvalPaths: Record<string, unknown> = {
  "/v1/approvals": {
    get: {
      summary:
        "Approval requests that wait for a person, newest first: plan approvals (a change to the last environment asked for by a token without admin, bound to the plan hash or the change's hash) and releases that wait in require_approval environments; `all=true` adds decided, used, stale and expired ones. Each: id, kind (plan | release), action, environments, service, releaseId, hash, summary, scope, requestedBy, requestedAt, expiresAt, status, decidedBy, decidedAt, reason",
      parameters: [{ name: "all", in: "query", schema: { type: "boolean" } }],
      responses: { "200": { description: "`{ approvals }`" }, ...errors },
    },
  },
  "/v1/approvals/{id}": {
    get: { summary: "One approval request (APPROVAL_NOT_FOUND)", parameters: [id], responses: { "200": { description: "the request" }, ...errors } },
  },
  "/v1/approvals/{id}/grant": {
    post: {
      summary:
        "Grants a request (scope approve; APPROVAL_SELF for the token that asked, APPROVAL_EXPIRED, APPROVAL_NOT_PENDING): a plan approval lets the requester's next try of that very change go ahead; a waiting release is switched to now (`release`: its deploy result)",
      parameters: [id],
      responses: { "200": { description: "`{ approval, release? }`" }, ...errors },
    },
  },
  "/v1/approvals/{id}/deny": {
    post: {
      summary: "Denies a request, with a reason (scope approve; APPROVAL_SELF for the token that asked): the requester's change is refused with APPROVAL_DENIED",
      parameters: [id],
      requestBody: { content: { "application/json": { schema: { type: "object", properties: { reason: { type: "string" } } } } } },
      responses: { "200": { description: "the request" }, ...errors },
    },
  },
  "/mcp": {
    post: {
      summary:
        "The MCP server over streamable HTTP, stateless: JSON-RPC messages answered as JSON, each request with its own `Authorization: Bearer <token>`; header `x-engineroom-scopes` narrows the token's scopes (never widens). Every tool call is rate-limited, authorized against the tool's scopes before it runs, and audited",
      requestBody: { content: { "application/json": { schema: { type: "object", description: "a JSON-RPC message (or a batch)" } } } },
      responses: { "200": { description: "the JSON-RPC answer" }, "202": { description: "a notification, accepted" }, "401": { description: "Missing or wrong token" } },
    },
    get: notAllowed,
    delete: notAllowed,
  },
};
