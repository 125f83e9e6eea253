import { errorCatalogue } from "../core/index.js";
import { accessPaths } from "./access-openapi.js";
import { postmortemPaths } from "./postmortem-openapi.js";
import { dashboardPaths } from "./dashboard-openapi.js";
import { artifactPaths } from "./artifact-openapi.js";
import { approvalPaths } from "./approval-openapi.js";

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
    "A stream of JSON lines, sent only once the operation has begun (an error before that is an ordinary error answer with its status): " +
    '`{"progress":{step,message,releaseId?,data?}}` while it runs, then exactly one last line, `{"result":…}` or `{"error":{code,message,hint,details?}}`. ' +
    "A stream that ends without that last line means the engine went away. Closing the connection before the switch cancels a deploy.",
  content: { "application/x-ndjson": { schema: { type: "string" } } },
};
const conflict = { "409": { description: "Refused by the current state (see the code)", content: { "application/json": { schema: error } } } };
const failed = { "422": { description: "Failed before it began to stream", content: { "application/json": { schema: error } } } };
const streamed = { "200": ndjson, ...errors, ...conflict, ...failed };
const envBody = { content: { "application/json": { schema: { type: "object", properties: { env: { type: "string" } } } } } };

/** The OpenAPI 3.1 description of the API, served at /v1/openapi.json. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: { title: "Engineroom API", version: "1" },
    components: { securitySchemes: { token: { type: "http", scheme: "bearer", description: "The token in <state_dir>/api-token" } } },
    security: [{ token: [] }],
    paths: {
      ...accessPaths,
      ...postmortemPaths,
      ...dashboardPaths,
      ...artifactPaths,
      ...approvalPaths,
      "/v1/openapi.json": { get: { summary: "This document (no token)", security: [], responses: { "200": { description: "OpenAPI 3.1" } } } },
      "/v1/health": { get: { summary: "Liveness of the API (no token)", security: [], responses: { "200": { description: "ok" } } } },
      "/metrics": {
        get: {
          summary: "The engine's metrics in Prometheus text format: requests and latency per service, environment and release; checks; SLOs; alerts and notifications",
          responses: { "200": { description: "Prometheus text format 0.0.4", content: { "text/plain": { schema: { type: "string" } } } }, "401": errors["401"] },
        },
      },
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
          summary: "Deploy an artifact (folder or .tgz path on the engine's machine, or the sha256:… digest of a stored one, e.g. uploaded from CI; default: the service's declared artifact) into the first environment",
          parameters: [service],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { artifact: { type: "string" }, env: { type: "string", description: "only the first environment of the chain is accepted (DEPLOY_WRONG_ENVIRONMENT)" }, watch: { type: "boolean", description: "stream through the watch window; the result is the release as it ended" } } } } } },
          responses: streamed,
        },
      },
      "/v1/services/{service}/promote": {
        post: {
          summary: "Promote the release that is live and stable in the environment before `to` (default: the second) into `to`",
          parameters: [service],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { to: { type: "string" }, initial: { type: "boolean" }, skipWatch: { type: "boolean" }, overrideBudget: { type: "string", description: "promote although the service's error budget in `to` is spent (else SLO_BUDGET_EXHAUSTED, 409); the reason is recorded as a slo.budget-overridden event" } } } } } },
          responses: streamed,
        },
      },
      "/v1/services/{service}/rollback": {
        post: {
          summary: "Switch back to the previous release (`env` required when the chain has more than one environment)",
          parameters: [service],
          requestBody: envBody,
          responses: streamed,
        },
      },
      "/v1/services/{service}/watch": {
        get: {
          summary: "Follow the analysis of the service's release in its watch window, verdict by verdict, until it is stable or rolled back (RELEASE_ROLLED_BACK)",
          parameters: [service, env],
          responses: streamed,
        },
      },
      "/v1/services/{service}/abort": {
        post: { summary: "Roll back the release in its watch window now (recorded as an abort)", parameters: [service], requestBody: envBody, responses: streamed },
      },
      "/v1/plan": {
        post: {
          summary: "What apply would change between engineroom.yaml (read afresh) and what runs, with the drift found",
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { refreshOnly: { type: "boolean", description: "scan for drift now" } } } } } },
          responses: { "200": { description: "`{ plan, drift }`" }, ...errors, ...conflict },
        },
      },
      "/v1/apply": {
        post: {
          summary: "Apply a saved plan (PLAN_STALE when what runs changed since), or plan now and apply",
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { plan: { type: "object", description: "a plan as `POST /v1/plan` answered it" }, overrideBudget: { type: "string", description: "make the plan's promotions although a service's error budget there is spent (else SLO_BUDGET_EXHAUSTED, 409, before anything changes); the reason is recorded as a slo.budget-overridden event per promotion" }, approveCost: { type: "boolean", description: "apply although the plan raises the monthly cost by more than cost.budget.max_monthly_increase (else COST_BUDGET_EXCEEDED, 409, before anything changes); recorded as a cost.budget-approved event" } } } } } },
          responses: streamed,
        },
      },
      "/v1/unlock": {
        post: {
          summary: "Take an environment's (default: the first's) writer lock from its holder, recorded as a lock.forced event",
          requestBody: envBody,
          responses: { "200": { description: "`{ environment, from }`: whom the lock was taken from, or null" }, ...errors },
        },
      },
      "/v1/report": {
        get: {
          summary:
            "The scorecard over the last `since` (default 30d, 1h to 400d): uptime per service and environment (requests and health checks), deployment success rate, time to detect/acknowledge/mitigate/resolve/recover (median, p90, mean), alert noise, cost (per service, environment, release and 1,000 requests, idle apart, from the price sheet and the instances' measured usage; `measured: false` without a sheet), and DORA's keys (deployment frequency, lead time for changes, change failure rate, failed deployment recovery time) for `env` or the last environment of the chain; each figure with the releases, incidents, alerts and event ids it came from. `format=html` answers the HTML page",
          parameters: [
            { name: "since", in: "query", schema: { type: "string" }, description: "a duration, e.g. 30d, 7d, 12h (REPORT_PERIOD_INVALID otherwise)" },
            env,
            { name: "format", in: "query", schema: { type: "string", enum: ["json", "html"] } },
          ],
          responses: { "200": { description: "`{ period, scorecard, dora }` (JSON), or text/html with `format=html`" }, ...errors },
        },
      },
      "/v1/report.html": {
        get: {
          summary: "The scorecard as one self-contained HTML page (inline CSS and SVG, no script): tiles against the targets, charts, then the tables",
          parameters: [{ name: "since", in: "query", schema: { type: "string" } }, env],
          responses: { "200": { description: "text/html" }, ...errors },
        },
      },
      "/v1/checks": {
        get: {
          summary: "Every check, declared and derived (`<service>.health.<environment>`, `proxy.<environment>`): type, labels, state (pending, up, down) and since, last result, uptime over 24h / 7d / 30d, latency p50/p95/p99 over 24h; and the scheduler's figures (runs, skipped, in flight, start lag)",
          responses: { "200": { description: "`{ checks, scheduler }`" }, ...errors },
        },
      },
      "/v1/checks/{name}/history": {
        get: {
          summary: "A check's results per minute (kept 24h), hour (35d) or day (400d): runs, failures, uptime, avg/max/p50/p95/p99 latency (CHECK_UNKNOWN for an unknown name)",
          parameters: [
            { name: "name", in: "path", required: true, schema: { type: "string" } },
            { name: "resolution", in: "query", schema: { type: "string", enum: ["minute", "hour", "day"] }, description: "default minute" },
            { name: "since", in: "query", schema: { type: "string" }, description: "a duration back from now, e.g. 24h (the default), at most the resolution's retention" },
          ],
          responses: { "200": { description: "`{ check, resolution, since, points }`" }, ...errors },
        },
      },
      "/v1/slos": {
        get: {
          summary: "Every SLO in each of its environments, evaluated now: kind, target, window, events, attained, budget left, burn rate per window, time to exhaustion, alert state per severity, the low-traffic policy",
          parameters: [env],
          responses: { "200": { description: "`{ slos, recordedUntil }`" }, ...errors },
        },
      },
      "/v1/slos/{slo}": {
        get: {
          summary: "One SLO in each of its environments (SLO_UNKNOWN when not declared)",
          parameters: [{ name: "slo", in: "path", required: true, schema: { type: "string" } }, env],
          responses: { "200": { description: "`{ slos, recordedUntil }`" }, ...errors },
        },
      },
      "/v1/alerts": {
        get: {
          summary: "Firing alerts, newest first (with `all=true`, recent resolved ones too): id, rule, severity, labels, state, since, ack, silencedBy, inhibitedBy, outcome",
          parameters: [{ name: "all", in: "query", schema: { type: "boolean" } }, { name: "limit", in: "query", schema: { type: "integer" } }],
          responses: { "200": { description: "`{ alerts }`" }, ...errors },
        },
      },
      "/v1/alerts/noise": {
        get: {
          summary: "The false-positive ratio ((noise + duplicate) / classified) per rule and overall against the 10% target, naming the noisiest rules",
          parameters: [{ name: "since", in: "query", schema: { type: "string" }, description: "a duration back from now, default 7d" }],
          responses: { "200": { description: "`{ since, until, target, overall, rules, noisiest, meetsTarget }`" }, ...errors },
        },
      },
      "/v1/alerts/deliveries": {
        get: { summary: "The delivery log of notifications per channel, newest first", parameters: [{ name: "limit", in: "query", schema: { type: "integer" } }], responses: { "200": { description: "`{ deliveries }`" }, ...errors } },
      },
      "/v1/channels": {
        get: { summary: "The channels of engineroom.yaml: name and type (never their options, which may hold secrets)", responses: { "200": { description: "`{ channels: [{ name, type }] }`" }, ...errors } },
      },
      "/v1/channels/{name}/test": {
        post: {
          summary: "Send a test notice to one channel, tried once: the Delivery (CHANNEL_UNKNOWN; CHANNEL_TEST_FAILED, 502, with the delivery in error.details)",
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { by: { type: "string", description: "who (the CLI sends the OS user name; default `api`)" } } } } } },
          responses: { "200": { description: "the Delivery: `{ notificationId, channel, state: delivered, attempts, lastError, lastStatus, createdAt, updatedAt, title }`" }, "502": { description: "CHANNEL_TEST_FAILED" }, ...errors },
        },
      },
      "/v1/alerts/{id}": {
        get: { summary: "One alert (ALERT_NOT_FOUND)", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "the alert" }, ...errors } },
      },
      "/v1/alerts/{id}/ack": {
        post: {
          summary: "Acknowledge a firing alert: it stops repeating until `for` passes or it resolves (ALERT_NOT_FIRING)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { for: { type: "string", description: "e.g. 1h; default until it resolves" }, comment: { type: "string" }, by: { type: "string", description: "who (the CLI sends the OS user name; default `api`)" } } } } } },
          responses: { "200": { description: "the alert" }, ...errors, ...conflict },
        },
      },
      "/v1/alerts/{id}/outcome": {
        post: {
          summary: "Set an alert's outcome (a person's override of the inferred one)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", required: ["outcome"], properties: { outcome: { type: "string", enum: ["actionable", "noise", "duplicate"] }, reason: { type: "string" }, by: { type: "string", description: "who (the CLI sends the OS user name; default `api`)" } } } } } },
          responses: { "200": { description: "the alert" }, ...errors },
        },
      },
      "/v1/runbooks": {
        get: { summary: "The declared runbooks: steps, automatic triggers and guardrails, latest runs", responses: { "200": { description: "`{ runbooks }`" }, ...errors } },
      },
      "/v1/runbooks/{name}/run": {
        post: {
          summary: "Run a runbook for a service and environment: `dry_run: true` resolves every step now and changes nothing; else the run starts (201; `wait: true` answers once it ended or paused for an approval) and is attached to the incident (`incident`, else the open one of the service) (RUNBOOK_UNKNOWN, RUNBOOK_INVALID, SERVICE_UNKNOWN, ENVIRONMENT_UNKNOWN, INCIDENT_NOT_FOUND, RUNBOOK_BUSY)",
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { service: { type: "string" }, environment: { type: "string" }, incident: { type: "string" }, dry_run: { type: "boolean" }, wait: { type: "boolean" }, by: { type: "string" } } } } } },
          responses: { "200": { description: "the dry run: `{ steps, summary, verification }`" }, "201": { description: "the run" }, ...errors, ...conflict },
        },
      },
      "/v1/runbook-runs/{id}": {
        get: { summary: "One runbook run: its steps (plan, conditions, result, redacted output), approval, verification (RUNBOOK_RUN_NOT_FOUND)", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "the run" }, ...errors } },
      },
      "/v1/runbook-runs/{id}/approve": {
        post: {
          summary: "Approve a run paused at its approve step; not by the agent that started it (RUNBOOK_NOT_WAITING, RUNBOOK_APPROVAL_REFUSED)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { by: { type: "string" }, reason: { type: "string" } } } } } },
          responses: { "200": { description: "the run, once it ended or paused again" }, ...errors, ...conflict },
        },
      },
      "/v1/runbook-runs/{id}/deny": {
        post: {
          summary: "Deny a run paused at its approve step: it aborts (RUNBOOK_NOT_WAITING)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { by: { type: "string" }, reason: { type: "string" } } } } } },
          responses: { "200": { description: "the run" }, ...errors, ...conflict },
        },
      },
      "/v1/incidents": {
        get: {
          summary: "Open incidents, newest first (with `all=true`, the latest ones whatever their state): id, title, state, severity with its reasons, cause, services, environments, releases, commander, ack, milestones, notes, signals, links",
          parameters: [{ name: "all", in: "query", schema: { type: "boolean" } }, { name: "limit", in: "query", schema: { type: "integer" } }],
          responses: { "200": { description: "`{ incidents }`" }, ...errors },
        },
        post: {
          summary: "Open an incident by hand (always a new one); the environment defaults to the last of the chain, the severity to the blast radius's (INCIDENT_INVALID, SERVICE_UNKNOWN, ENVIRONMENT_UNKNOWN)",
          requestBody: { content: { "application/json": { schema: { type: "object", required: ["title", "service"], properties: { title: { type: "string" }, service: { type: "string" }, environment: { type: "string" }, severity: { type: "string", enum: ["SEV1", "SEV2", "SEV3", "SEV4"] }, commander: { type: "string" }, note: { type: "string" }, by: { type: "string", description: "who (the CLI sends the OS user name; default `api`)" } } } } } },
          responses: { "201": { description: "the incident" }, ...errors },
        },
      },
      "/v1/hosts": {
        get: {
          summary: "Every ssh host (of `env`), checked now: reachable, hostKey (pinned, refused, unknown), node, nodeOk, stateDirWritable, daemonRunning, load, freeDiskBytes, ready, problems, error (HOST_KEY_MISMATCH, HOST_UNREACHABLE; ENVIRONMENT_UNKNOWN)",
          parameters: [{ name: "env", in: "query", schema: { type: "string" } }],
          responses: { "200": { description: "`{ hosts }`" }, ...errors },
        },
      },
      "/v1/hosts/bootstrap": {
        post: {
          summary: "Prepares every ssh host (of `env`), admin only: state folder, the engine's code (in place, or shipped by digest), the data-plane daemon started detached; idempotent. Per host: code, codeDir, daemon (started, running), ok, check, error (HOST_KEY_MISMATCH, HOST_UNREACHABLE, HOST_NOT_READY)",
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { env: { type: "string" } } } } } },
          responses: { "200": { description: "`{ hosts }`" }, ...errors },
        },
      },
      "/v1/drills": {
        get: { summary: "Every declared drill: type, service, environment, schedule, next run (epoch ms), fault, pass rule, whether it runs now, and its last run (state, timings, requests failed inside and outside the fault, each rule's result)", responses: { "200": { description: "`{ drills }`" }, ...errors } },
      },
      "/v1/drills/{name}/run": {
        post: {
          summary: "Runs the drill now and answers once it finished (up to its time limit): `{ run }` with its state (passed or failed), timings and rules (DRILL_NOT_FOUND, DRILL_BUSY, DRILL_UNSUPPORTED, RELEASE_NOT_FOUND)",
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { by: { type: "string", description: "who (the CLI sends the OS user name; default `api`)" } } } } } },
          responses: { "200": { description: "`{ run }`" }, ...errors },
        },
      },
      "/v1/drills/{name}/check": {
        post: { summary: "Whether the drill could start now: `{ ready: true }`, else DRILL_BUSY (a drill runs, the environment's lock is held, a release is watched) or RELEASE_NOT_FOUND; what `drill run` of a restart drill asks before it stops the engine", parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "`{ ready: true }`" }, ...errors } },
      },
      "/v1/drills/{name}/results": {
        post: {
          summary: "A restart drill's run as `engineroom drill run` measured it around the engine's restart, judged by its pass rule and recorded like any run (DRILL_NOT_FOUND; API_BAD_REQUEST for another type or a bad body)",
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", required: ["startedAt", "sent", "failures"], properties: { startedAt: { type: "number" }, faultAt: { type: ["number", "null"] }, faultEndedAt: { type: ["number", "null"] }, healthyAt: { type: ["number", "null"] }, error: { type: "string" }, sent: { type: "integer" }, failures: { type: "array", items: { type: "object", properties: { at: { type: "number" }, fault: { type: "boolean" }, detail: { type: "string" } } } }, by: { type: "string" } } } } } },
          responses: { "200": { description: "`{ run }`" }, ...errors },
        },
      },
      "/v1/drills/{name}/runs": {
        get: { summary: "The drill's runs, newest first (DRILL_NOT_FOUND)", parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "`{ runs }`" }, ...errors } },
      },
      "/v1/incidents/{id}": {
        get: { summary: "One incident with its links (releases with digest, config diff, deployer, approver, plan hash; alerts; checks) and its timeline from the event log (INCIDENT_NOT_FOUND)", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "`{ incident, timeline }`" }, ...errors } },
      },
      "/v1/incidents/{id}/ack": {
        post: {
          summary: "Acknowledge an open incident: who and when, once (INCIDENT_TRANSITION_INVALID once it is over)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { by: { type: "string", description: "who (default `api`)" } } } } } },
          responses: { "200": { description: "the incident" }, ...errors, ...conflict },
        },
      },
      "/v1/incidents/{id}/update": {
        post: {
          summary: "Update an incident: severity (with a reason), commander, note, status — each a recorded event, one notice (INCIDENT_INVALID; INCIDENT_TRANSITION_INVALID, 409, for a status that skips a step or goes back)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { status: { type: "string", enum: ["investigating", "mitigated", "resolved", "closed", "cancelled"] }, severity: { type: "string", enum: ["SEV1", "SEV2", "SEV3", "SEV4"] }, reason: { type: "string", description: "required with severity" }, commander: { type: "string" }, note: { type: "string" }, by: { type: "string", description: "who (default `api`)" } } } } } },
          responses: { "200": { description: "the incident" }, ...errors, ...conflict },
        },
      },
      "/v1/incidents/{id}/resolve": {
        post: {
          summary: "Resolve a mitigated incident, with an optional note (INCIDENT_TRANSITION_INVALID otherwise)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { note: { type: "string" }, by: { type: "string", description: "who (default `api`)" } } } } } },
          responses: { "200": { description: "the incident" }, ...errors, ...conflict },
        },
      },
      "/v1/incidents/{id}/close": {
        post: {
          summary: "Close a resolved incident (INCIDENT_TRANSITION_INVALID otherwise)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { by: { type: "string", description: "who (default `api`)" } } } } } },
          responses: { "200": { description: "the incident" }, ...errors, ...conflict },
        },
      },
      "/v1/silences": {
        get: { summary: "Silences, newest first (active and expired)", responses: { "200": { description: "`{ silences }`" }, ...errors } },
        post: {
          summary: "Create a silence: matchers, a reason and an expiry are required, at most alerts.silences.max_duration (SILENCE_INVALID)",
          requestBody: { content: { "application/json": { schema: { type: "object", required: ["matchers", "reason", "for"], properties: { matchers: { type: "array", items: { type: "string" }, description: "name=value, name!=value, name=~regex, name!~regex" }, reason: { type: "string" }, for: { type: "string", description: "e.g. 2h" }, by: { type: "string", description: "who (the CLI sends the OS user name; default `api`)" } } } } } },
          responses: { "201": { description: "the silence" }, ...errors },
        },
      },
      "/v1/silences/{id}/expire": {
        post: {
          summary: "Expire a silence now (SILENCE_NOT_FOUND)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { content: { "application/json": { schema: { type: "object", properties: { by: { type: "string", description: "who (the CLI sends the OS user name; default `api`)" } } } } } },
          responses: { "200": { description: "the silence" }, ...errors },
        },
      },
      "/v1/releases/{release}/approve": {
        post: {
          summary: "Approve a verified release that waits for approval, and switch to it",
          parameters: [{ name: "release", in: "path", required: true, schema: { type: "string" } }],
          responses: streamed,
        },
      },
    },
  };
}
