/** The OpenAPI paths of tokens, the audit trail and the dashboard's session (spread into openapi.ts's `paths`). */
const json = (description: string) => ({ description, content: { "application/json": { schema: { type: "object" } } } });
const refusals = {
  "400": { description: "Bad request (TOKEN_INVALID, TOKEN_SCOPE_INVALID, API_BAD_REQUEST)" },
  "401": { description: "Missing or wrong token (API_UNAUTHORIZED)" },
  "403": { description: "The token lacks scope admin (ACCESS_DENIED), or CSRF_REJECTED" },
  "429": { description: "RATE_LIMITED, with Retry-After" },
};

export const accessPaths: Record<string, unknown> = {
  "/v1/tokens": {
    get: { summary: "Every token (scope admin): id, name, scopes, createdAt, expiresAt, lastUsedAt, revokedAt; never a secret or hash", responses: { "200": json("`{ tokens }`"), ...refusals } },
    post: {
      summary: "Create a token (scope admin); the answer holds its secret (`ert_…`) this once",
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: {
              type: "object",
              required: ["name", "scopes"],
              properties: {
                name: { type: "string" },
                scopes: { type: "array", items: { type: "string" }, description: "read, approve, admin, deploy:<env>, promote:<env>, rollback:<env>, apply:<env> (<env> may be *)" },
                expires: { type: "string", description: "a duration from now, e.g. 30d" },
                expiresAt: { type: "integer", description: "epoch ms" },
              },
            },
          },
        },
      },
      responses: { "201": json("`{ token, record }`"), ...refusals },
    },
  },
  "/v1/tokens/{token}": {
    delete: { summary: "Revoke a token by id or name (scope admin)", parameters: [{ name: "token", in: "path", required: true, schema: { type: "string" } }], responses: { "200": json("`{ token }`"), "404": { description: "TOKEN_NOT_FOUND" }, ...refusals } },
  },
  "/v1/audit": {
    get: {
      summary: "Audited calls, oldest first (scope admin): caller, token id, via, action, arguments (secrets redacted), decision, reason, result",
      parameters: [
        { name: "since", in: "query", schema: { type: "string" }, description: "a duration back from now (2h, 7d), epoch ms or an ISO time" },
        { name: "token", in: "query", schema: { type: "string" }, description: "a token's name or id" },
        { name: "limit", in: "query", schema: { type: "integer" }, description: "the newest this many (default 100)" },
      ],
      responses: { "200": json("`{ entries }`"), ...refusals },
    },
  },
  "/v1/session": {
    post: {
      summary: "Log in to the dashboard with a token (no Authorization needed): sets the HttpOnly, SameSite=Strict session cookie er_session and the er_csrf cookie; answers the CSRF token, to send as X-CSRF-Token with every POST, PUT, PATCH and DELETE",
      security: [],
      requestBody: { required: true, content: { "application/json": { schema: { type: "object", required: ["token"], properties: { token: { type: "string" } } } } } },
      responses: { "201": json("`{ csrfToken, expiresAt, caller: { name, scopes } }`"), ...refusals },
    },
    get: { summary: "Who the request is authenticated as", responses: { "200": json("`{ caller: { name, scopes, via } }`"), ...refusals } },
    delete: { summary: "Log out: ends the session and clears its cookies (X-CSRF-Token needed with the cookie)", responses: { "200": json("`{ ok: true }`"), ...refusals } },
  },
};
