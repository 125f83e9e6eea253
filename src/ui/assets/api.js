// The dashboard's one way to the engine: the same /v1 API as the CLI and the MCP server.
// Logged in with the session cookie (HttpOnly, set by POST /v1/session), unsafe requests carry the
// CSRF token from the er_csrf cookie in X-CSRF-Token. An engine without sessions (an older one)
// takes the token as a Bearer header, kept for this tab only.

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? "HTTP_" + status;
    this.hint = error?.hint ?? "";
    this.details = error?.details;
  }
}

const bearerKey = "engineroom.bearer";
const unsafe = new Set(["POST", "PUT", "PATCH", "DELETE"]);
let onUnauthorized = () => {};

export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

function csrfToken() {
  const match = document.cookie.split("; ").find((c) => c.startsWith("er_csrf="));
  return match ? decodeURIComponent(match.slice("er_csrf=".length)) : sessionStorage.getItem("engineroom.csrf") ?? "";
}

function headers(method, body) {
  const h = {};
  if (body !== undefined) h["content-type"] = "application/json";
  const bearer = sessionStorage.getItem(bearerKey);
  if (bearer) h.authorization = `Bearer ${bearer}`;
  else if (unsafe.has(method)) h["x-csrf-token"] = csrfToken();
  return h;
}

async function errorOf(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  return new ApiError(response.status, body?.error);
}

/** One JSON call; throws ApiError with the engine's code, message and hint. */
export async function api(method, path, body) {
  const response = await fetch(path, { method, headers: headers(method, body), body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (response.status === 401) {
    const error = await errorOf(response);
    onUnauthorized(error);
    throw error;
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined;
  const type = response.headers.get("content-type") ?? "";
  return type.includes("json") ? response.json() : response.text();
}

let actor;
/** Who is logged in (the session's token name): sent as `by`, which acks, silences and incidents record. */
export function setActor(name) {
  actor = name;
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, actor && body.by === undefined ? { ...body, by: actor } : body);

/**
 * A streamed operation (deploy, rollback, abort, approve): NDJSON lines `{progress}` then `{result}`
 * or `{error}`. Resolves with the result; throws ApiError for an error line or answer.
 */
export async function stream(path, body, onProgress = () => {}) {
  const response = await fetch(path, { method: "POST", headers: headers("POST", body), body: JSON.stringify(body ?? {}), credentials: "same-origin" });
  if (response.status === 401) onUnauthorized(await errorOf(response.clone()));
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      const message = JSON.parse(line);
      if (message.progress) onProgress(message.progress);
      if ("result" in message) return message.result;
      if (message.error) throw new ApiError(200, message.error);
    }
    if (done) throw new ApiError(0, { code: "ENGINE_GONE", message: "The engine went away before the operation ended.", hint: "Look at the release history: what serves is shown there." });
  }
}

/** Logs in with a token: a session cookie when the engine has sessions, else the token for this tab. */
export async function login(token) {
  sessionStorage.removeItem(bearerKey);
  const response = await fetch("/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }), credentials: "same-origin" });
  if (response.ok) {
    const body = await response.json().catch(() => ({}));
    const csrf = body.csrf ?? body.csrfToken;
    if (typeof csrf === "string") sessionStorage.setItem("engineroom.csrf", csrf);
    return body;
  }
  const error = await errorOf(response);
  if (error.code !== "API_NOT_FOUND" && error.code !== "API_UNAUTHORIZED") throw error;
  if (error.code === "API_UNAUTHORIZED" && !(await bearerWorks(token))) throw error;
  if (error.code === "API_NOT_FOUND" && !(await bearerWorks(token))) throw new ApiError(401, { code: "API_UNAUTHORIZED", message: "Missing or wrong API token.", hint: "Paste a token from `engineroom tokens create`, or the state folder's api-token." });
  sessionStorage.setItem(bearerKey, token);
  return {};
}

async function bearerWorks(token) {
  // /v1/session refuses a bearer-only engine's POST with 401 before routing: try the token itself.
  const response = await fetch("/v1/overview?size=1", { headers: { authorization: `Bearer ${token}` } });
  return response.ok;
}

export async function logout() {
  const bearer = sessionStorage.getItem(bearerKey);
  sessionStorage.removeItem(bearerKey);
  sessionStorage.removeItem("engineroom.csrf");
  if (!bearer) await api("DELETE", "/v1/session").catch(() => {});
}
