/**
 * The catalogue of Engineroom's error codes. Every error the engine raises on purpose carries one of
 * these codes, a message that says what happened, and a hint that says what to do. Codes are stable:
 * never rename or reuse one. `status` is the HTTP status the API answers with.
 *
 * A test checks that every code here is documented in the README's error table.
 */
export const errorCatalogue = {
  CONFIG_NOT_FOUND: { status: 400, hint: "Run `engineroom init` to write a starter engineroom.yaml, or pass --config <file>." },
  CONFIG_PARSE: { status: 400, hint: "Fix the YAML syntax at the line shown." },
  CONFIG_INVALID: { status: 400, hint: "Fix the key named in the message; `engineroom schema` prints the JSON Schema for editors." },
  ARTIFACT_NOT_FOUND: { status: 400, hint: "Pass a folder or a .tgz file that exists." },
  ARTIFACT_INVALID: { status: 400, hint: "An artifact is a folder or a gzip-compressed tar (.tgz) of one." },
  ARTIFACT_TOO_LARGE: { status: 413, hint: "The upload is larger than artifacts.max_upload_bytes in engineroom.yaml (default 512 MiB); make the build smaller or raise the limit. Nothing was kept." },
  ARTIFACT_DIGEST_MISMATCH: { status: 422, hint: "What arrived is not what was signed (the archive's sha256 or the artifact's digest differs): the upload was altered or cut short. Nothing was kept; upload again with `engineroom ci upload`." },
  ARTIFACT_UNTRUSTED: { status: 403, hint: "An upload must be signed by a CI key listed under ci.trusted_keys in engineroom.yaml: `engineroom ci keygen` makes a key pair, `engineroom ci upload --key <file>` signs. Nothing was kept." },
  CI_KEY_INVALID: { status: 400, hint: "Pass the private key file `engineroom ci keygen` wrote (PEM, ed25519), readable by its owner only: `chmod 600 <file>`." },
  CI_PLAN_INVALID: { status: 400, hint: "Pass --shards as a whole number from 1 to 256 (and --shard, when given, from 1 to that number)." },
  CI_REPORT_INVALID: { status: 400, hint: "Pass JUnit XML reports (e.g. from `node --test --test-reporter=junit`), as files, a folder or a glob." },
  SERVICE_UNKNOWN: { status: 404, hint: "Use a service declared in engineroom.yaml; `engineroom status` lists them." },
  RELEASE_NOT_FOUND: { status: 404, hint: "`engineroom releases <service>` lists the releases that exist." },
  DEPLOY_IN_PROGRESS: { status: 409, hint: "Wait for the running deploy or rollback of this service to finish, then try again." },
  DEPLOY_START_FAILED: { status: 422, hint: "Check the service's run command and the instance output shown." },
  DEPLOY_HEALTH_TIMEOUT: { status: 422, hint: "The new release never passed its health check; the old release keeps serving. See the instance output shown." },
  DEPLOY_INSTANCE_CRASHED: { status: 422, hint: "An instance of the new release kept exiting; the old release keeps serving. See the instance output shown." },
  DEPLOY_SMOKE_FAILED: { status: 422, hint: "A smoke test failed against the new release, so it got no traffic. Fix the release or the test." },
  DEPLOY_SWITCH_FAILED: { status: 500, hint: "The proxy workers did not acknowledge the new route table; traffic stays on the old release." },
  DEPLOY_CANCELLED: { status: 409, hint: "The deploy was cancelled before the switch; the old release keeps serving." },
  ROLLBACK_NO_TARGET: { status: 409, hint: "There is no earlier release to go back to; deploy a known-good artifact instead." },
  ROLLBACK_FAILED: { status: 422, hint: "The rollback target did not become healthy; the current release keeps serving." },
  ENVIRONMENT_UNKNOWN: { status: 404, hint: "Use an environment declared under `environments` in engineroom.yaml; `engineroom status` lists them." },
  DEPLOY_WRONG_ENVIRONMENT: { status: 409, hint: "A deploy goes to the first environment of the chain; later environments get releases with `engineroom promote`." },
  PROMOTE_NO_SOURCE: { status: 409, hint: "Deploy the service to the environment before it first, and let its watch window pass." },
  PROMOTE_NOT_STABLE: { status: 409, hint: "Only a release that is live and finished its watch window without rollback (stable) is promoted; wait for it, or fix it." },
  PROMOTE_NO_ROLLBACK_TARGET: { status: 409, hint: "Nothing runs there to go back to; if this is the service's first release in that environment, pass --initial." },
  PROMOTE_ALREADY_LIVE: { status: 409, hint: "That artifact is already live there; nothing to promote." },
  RELEASE_ROLLED_BACK: { status: 409, hint: "The release misbehaved in its watch window and traffic went back to the previous one; the evidence is shown. Fix the release and deploy again." },
  NOT_WATCHING: { status: 409, hint: "Only a release in its watch window can be aborted or have its watch skipped; `engineroom status` shows which one is watching." },
  APPROVAL_NOT_PENDING: { status: 409, hint: "`engineroom releases <service> --env <environment>` shows which release waits for approval." },
  APPROVAL_REQUIRED: { status: 403, hint: "A person with the approve scope grants the request named in the message (`engineroom approvals grant <id>`); then try the same change again. Nothing was changed." },
  APPROVAL_SELF: { status: 403, hint: "A request is granted or denied by a person with another token that has the approve scope, never by the token that asked." },
  APPROVAL_STALE: { status: 409, hint: "What would change differs from what was approved: plan again and ask for a new approval (the message names the new request)." },
  APPROVAL_EXPIRED: { status: 409, hint: "Approvals expire after approvals.expire_after (default 1h): ask again and have it granted; the message names the new request." },
  APPROVAL_DENIED: { status: 403, hint: "A person denied this change; `engineroom approvals list --all` shows who and why. Change the plan before asking again." },
  APPROVAL_NOT_FOUND: { status: 404, hint: "`engineroom approvals list --all` lists the approval requests with their ids." },
  PLAN_INVALID: { status: 400, hint: "Make a new plan with `engineroom plan --out plan.json`." },
  PLAN_STALE: { status: 409, hint: "What runs changed since the plan was made; make a new plan and review it." },
  PLAN_BLOCKED: { status: 409, hint: "Let the release before it in the chain become stable (or deploy it first), then plan again." },
  LOCK_HELD: { status: 409, hint: "Another command holds the lock; wait for it, or let the lease expire." },
  ENGINE_NOT_RUNNING: { status: 503, hint: "Start the engine with `engineroom up` in this project's folder." },
  ENGINE_GONE: { status: 503, hint: "The engine stopped while the command ran (the proxy and instances keep serving); start it with `engineroom up`, then `engineroom status` shows what runs." },
  ENGINE_ALREADY_RUNNING: { status: 409, hint: "An engine already runs for this project; stop it first or use its API." },
  DATAPLANE_UNAVAILABLE: { status: 503, hint: "The data-plane process could not be started or reached; read .engineroom/dataplane/dataplane.log, then run `engineroom up` again." },
  DATAPLANE_HANDOVER_FAILED: { status: 500, hint: "The running data plane keeps serving with its old code; read .engineroom/dataplane/dataplane.log. `engineroom down` then `engineroom up` replaces it with a short outage." },
  API_UNAUTHORIZED: { status: 401, hint: "Send `Authorization: Bearer <token>` with the token from .engineroom/api-token or one `engineroom tokens create` made (not expired or revoked), or log in to the dashboard again." },
  API_BAD_REQUEST: { status: 400, hint: "Check the request against the API description at /v1/openapi.json." },
  API_NOT_FOUND: { status: 404, hint: "Check the path; the API lives under /v1." },
  STORE_UNAVAILABLE: { status: 503, hint: "Check the store URL and that the database is reachable." },
  STORE_MIGRATION_FAILED: { status: 500, hint: "The store schema could not be brought up to date; nothing was changed. Check the database's permissions." },
  STORE_LOST: { status: 503, hint: "The SQLite store file is gone (deleted or replaced) although the state folder shows it existed. Restore it from a backup with its -wal file; to start on an empty store on purpose, set ENGINEROOM_ACCEPT_FRESH_STORE=1 once." },
  PROXY_LISTEN_FAILED: { status: 500, hint: "Another program uses the proxy's address; change `proxy.listen` or stop that program." },
  SECRET_NOT_FOUND: { status: 404, hint: "Store the secret under that name (`engineroom secrets set <name>` for the local store), or fix the name in engineroom.yaml." },
  SECRET_NAME_INVALID: { status: 400, hint: "A secret name uses letters, digits, `_`, `-` and `.`, starts with a letter, digit or `_`, and holds no `/` or `..`." },
  SECRET_VALUE_INVALID: { status: 400, hint: "A secret value reaches instances as an environment variable, so it cannot hold a NUL byte." },
  SECRET_PROVIDER_UNKNOWN: { status: 400, hint: "Name a provider declared under `secrets.providers` in engineroom.yaml, or set `secrets.default`." },
  SECRET_PROVIDER_READ_ONLY: { status: 400, hint: "Environment and file providers are read-only; set the value where it comes from, or use a `local` provider." },
  SECRET_PROVIDER_FAILED: { status: 503, hint: "The secret provider could not be read; check that its folder or file exists and is readable by the engine." },
  SECRET_KEY_MISSING: { status: 400, hint: "Set ENGINEROOM_SECRETS_KEY to 32 random bytes in base64 (`openssl rand -base64 32`), or keep them in a key file outside the project with mode 0600 (default ~/.config/engineroom/secrets.key)." },
  SECRET_KEY_INVALID: { status: 400, hint: "The secrets key is 32 random bytes written as base64 or hex, e.g. from `openssl rand -base64 32`." },
  SECRET_KEY_INSECURE: { status: 400, hint: "Keep the key file outside the project's folder and readable by its owner only: `chmod 600 <file>`." },
  SECRET_KEY_WRONG: { status: 400, hint: "The local secret store was written with another key; use that key (ENGINEROOM_SECRETS_KEY or the key file)." },
  SECRET_STORE_CORRUPT: { status: 500, hint: "The encrypted secret store was altered or damaged; restore it from a backup, or remove the entry and set it again." },
  CHANNEL_UNKNOWN: { status: 404, hint: "Use a channel declared under `channels` in engineroom.yaml." },
  CHANNEL_TEST_FAILED: { status: 502, hint: "The channel did not take the test notification; the error shows why (its URL, credentials or server). Fix the channel in engineroom.yaml or its secret, restart the engine, and test again." },
  METRICS_UNAVAILABLE: { status: 503, hint: "Check the Prometheus URL and query; analysis treats missing data as inconclusive." },
  ALERT_NOT_FOUND: { status: 404, hint: "`engineroom alerts --all` lists the alerts with their ids." },
  ALERT_NOT_FIRING: { status: 409, hint: "The alert has resolved; only a firing alert can be acknowledged. `engineroom alerts` lists the firing ones." },
  SILENCE_INVALID: { status: 400, hint: "A silence needs at least one matcher (--match name=value, !=, =~, !~), a reason (--reason) and an expiry (--for, at most alerts.silences.max_duration)." },
  SILENCE_NOT_FOUND: { status: 404, hint: "`engineroom alerts silence list` lists the silences with their ids." },
  SLO_BUDGET_EXHAUSTED: { status: 409, hint: "The service's error budget there is spent: wait for it to recover (`engineroom slo`), fix what burns it, or promote with --override-budget \"<reason>\" (recorded)." },
  COST_BUDGET_EXCEEDED: { status: 409, hint: "The plan raises the monthly cost by more than cost.budget.max_monthly_increase: review `engineroom plan`, or apply with --approve-cost (recorded as a cost.budget-approved event)." },
  REPORT_PERIOD_INVALID: { status: 400, hint: "Give the period as a duration from 1h to 400d, e.g. --since 30d, 7d or 12h." },
  SLO_UNKNOWN: { status: 404, hint: "Use an SLO declared under `slos` in engineroom.yaml; `engineroom slo` lists them." },
  CHECK_UNKNOWN: { status: 404, hint: "Use a check's name as `engineroom checks` lists it: a declared check, or a service's own (`<service>.health.<environment>`, `proxy.<environment>`)." },
  INCIDENT_NOT_FOUND: { status: 404, hint: "`engineroom incidents --all` lists the incidents with their ids." },
  INCIDENT_TRANSITION_INVALID: { status: 409, hint: "An incident moves triage → investigating → mitigated → resolved → closed, one step at a time, or is cancelled before it is resolved; `engineroom incidents show <id>` gives its state." },
  RUNBOOK_UNKNOWN: { status: 404, hint: "`engineroom runbook list` lists the runbooks declared under runbooks: (and runbooks_from:)." },
  RUNBOOK_RUN_NOT_FOUND: { status: 404, hint: "`engineroom runbook list` shows each runbook's recent runs with their ids." },
  RUNBOOK_INVALID: { status: 400, hint: "Name the service the runbook acts on with --service (and --env for another environment than the last of the chain)." },
  RUNBOOK_BUSY: { status: 409, hint: "One runbook run at a time per service and environment: wait for it to end (`engineroom runbook show <run-id>`), or deny its approval." },
  RUNBOOK_NOT_WAITING: { status: 409, hint: "Only a run paused at an approve step is approved or denied; `engineroom runbook show <run-id>` gives its state." },
  RUNBOOK_APPROVAL_REFUSED: { status: 403, hint: "A run is approved by someone other than the agent that started it (a person, or another agent with the approve scope); the engine never approves its own runs." },
  INCIDENT_INVALID: { status: 400, hint: "Open an incident with --title and --service (and --severity SEV1–SEV4 if you set it); a severity change needs --reason; an update needs at least one of --status, --note, --commander, --severity." },
  POSTMORTEM_NOT_FOUND: { status: 404, hint: "A post-mortem is drafted when a SEV1–SEV2 incident, or one with a rollback, is resolved (postmortems.severities); `engineroom incidents show <id>` gives its state and severity." },
  ACTION_INVALID: { status: 400, hint: "An action item needs its text, --type prevent|mitigate|process, --owner and --due yyyy-mm-dd, for an incident that exists." },
  ACTION_NOT_FOUND: { status: 404, hint: "`engineroom actions list` lists the action items with their ids." },
  LEARNING_INVALID: { status: 400, hint: "A learning needs its text and --service naming a declared service: engineroom learnings add --service web \"text\"." },
  TOKEN_SCOPE_INVALID: { status: 400, hint: "A scope is one of read, approve, admin, deploy:<env>, promote:<env>, rollback:<env>, apply:<env> (<env> an environment's name or *)." },
  TOKEN_INVALID: { status: 400, hint: "A token needs a name not used by another active token (letters, digits, `.`, `_`, `-`), at least one --scope, and an expiry in the future (--expires 30d)." },
  TOKEN_NOT_FOUND: { status: 404, hint: "`engineroom tokens list` lists the tokens with their names and ids." },
  ACCESS_DENIED: { status: 403, hint: "Ask an admin for a token with the scope named: `engineroom tokens create --name <name> --scope <scope>`." },
  RATE_LIMITED: { status: 429, hint: "Wait the seconds given in Retry-After, then try again; the limit is api.rate_limit.requests_per_minute per token." },
  CSRF_REJECTED: { status: 403, hint: "A change made with the session cookie needs the header X-CSRF-Token equal to the er_csrf cookie (returned by POST /v1/session)." },
  HOST_REJECTED: { status: 421, hint: "Call the API by the listener's own address (127.0.0.1:<port>, localhost:<port>, [::1]:<port>) or a name listed in api.host." },
  ORIGIN_REJECTED: { status: 403, hint: "Requests from a web page are accepted only from the API's own origin or one listed in api.allowed_origins." },
  API_TLS_REQUIRED: { status: 400, hint: "Listening beyond loopback needs TLS: set api.tls.cert_file and api.tls.key_file, or listen on 127.0.0.1." },
  DRILL_NOT_FOUND: { status: 404, hint: "Use a drill declared under `drills` in engineroom.yaml; `engineroom drill list` lists them." },
  DRILL_BUSY: { status: 409, hint: "One drill runs at a time, and none while a deploy, rollback or apply holds the environment or a release is in its watch window: wait for it to finish (`engineroom drill list`, `engineroom status`), then run the drill again." },
  DRILL_UNSUPPORTED: { status: 501, hint: "A restart drill restarts the engine process: run it with `engineroom drill run <name>` from the project's folder, against an engine started by `engineroom up` (the CLI stops it and starts it again, detached, under the drill's load)." },
  HOST_UNREACHABLE: { status: 502, hint: "Check the host's address, port and user under environments.<env>.hosts, that sshd runs there and that its key (a secret) is authorized for that user; `engineroom hosts check` shows each host." },
  HOST_KEY_MISMATCH: { status: 502, hint: "The host's key is not the one pinned under known_hosts: nothing was run there. If the host was reinstalled, put its new key line (`ssh-keyscan <address>`, checked out of band) under known_hosts; set trust_on_first_use: true only to accept a host's first key unseen." },
  FLEET_HOST_FAILED: { status: 502, hint: "A host of the fleet did not answer or refused (its name is in the message): the deploy was not made live and the other hosts serve the previous release. Check it with `engineroom status` and `engineroom hosts check`, then deploy again." },
  INSTANCE_UNKNOWN: { status: 404, hint: "The host's agent runs no instance of that id (it exited and was forgotten, or runs on another host): `engineroom status` lists the instances with their hosts." },
  HOST_NOT_READY: { status: 409, hint: "Prepare the host first: `engineroom hosts bootstrap` (Node.js 20 or later must be installed there); `engineroom hosts check` says what is missing." },
  NOT_LEADER: { status: 409, hint: "This engine stands by (another engine on the same PostgreSQL leads) or lost its lease: send changes to the leader's API (`engineroom status` names it), or wait for this engine to lead. Nothing was changed." },
  INTERNAL: { status: 500, hint: "This is a bug in Engineroom; please report it with the command and its output." },
} as const satisfies Record<string, { status: number; hint: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error with a stable code, a hint for the user, and optional structured details. */
export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EngineError";
    this.code = code;
    this.hint = options.hint ?? errorCatalogue[code].hint;
    this.details = options.details;
  }

  get status(): number {
    return errorCatalogue[this.code].status;
  }

  toJSON(): { code: ErrorCode; message: string; hint: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isEngineError(error: unknown): error is EngineError {
  return error instanceof EngineError;
}

/** Wraps anything thrown into an EngineError, keeping codes that are already there. */
export function toEngineError(error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EngineError("INTERNAL", message, { cause: error });
}
