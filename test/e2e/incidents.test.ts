import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { loadProject } from "../../src/config/index.js";
import { isEngineError, silentLogger, type EngineError } from "../../src/core/index.js";
import { Engine } from "../../src/engine/index.js";
import type { IncidentView } from "../../src/incident/index.js";
import type { Plan } from "../../src/plan/index.js";
import type { EngineEvent, IncidentRecord, Release } from "../../src/store/index.js";
import { run } from "../helpers/cli.js";
import { startPacedLoad } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Incidents end to end over real parts: a config change applied (ERROR_EVERY: every 20th request
 * fails) makes a release that its watch rolls back → the engine opens an incident linked to the
 * release (its config diff, the apply and its plan hash), mitigated by the rollback, with the
 * rollback in its timeline → a person acknowledges, notes, resolves and closes it, each an event,
 * and the channel (a webhook receiver) hears of the opening, each update and the resolution.
 */

interface Notice {
  reason: string;
  title: string;
  text: string;
  status: string;
  groupKey: string;
}

describe("incidents, end to end: a faulty release rolled back → an incident, linked → ack → resolved → closed", () => {
  let p: TestProject;
  let hook: Server;
  let load: ReturnType<typeof startPacedLoad>;
  const notices: Notice[] = [];
  let incident: IncidentRecord;
  let v2: Release;
  let plan: Plan;

  before(async () => {
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (body.engineroom?.kind === "notice" && String(body.groupKey).startsWith("incident:")) {
          notices.push({ reason: body.engineroom.reason, title: body.engineroom.title, text: body.engineroom.text, status: body.status, groupKey: body.groupKey });
        }
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    const port = (hook.address() as AddressInfo).port;
    const top = `channels:\n  ops:\n    type: webhook\n    url: http://127.0.0.1:${port}/hook\nincidents:\n  channel: ops\n  escalate_after: 10m\n`;
    const config = testConfig("", top)
      .replace("watch: 5m", "watch: 8s")
      .replace("    restart:\n", "    analysis:\n      interval: 500ms\n      baseline: 20s\n    restart:\n");
    p = await startProject(config);
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    load = startPacedLoad(p.proxyUrl, { rps: 100, maxMs: 120_000 });
    await new Promise((r) => setTimeout(r, 4000)); // a baseline for v1
  });
  after(async () => {
    await load?.stop();
    await p?.cleanup();
    await new Promise((resolve) => hook?.close(resolve));
  });

  const releases = async () => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases")).releases;
  const events = async (type: string) => (await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=500")).events.filter((e) => e.type.startsWith(type));

  it("opens an incident from the rollback, linked to the release with its config diff and the apply's plan hash, mitigated", async () => {
    // The config change that breaks the release, applied as a team would.
    writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace("      GREETING: hi\n", '      GREETING: hi\n      ERROR_EVERY: "20"\n'));
    const applied = await p.api.stream<{ plan: Plan }>("/v1/apply", {}, () => {});
    plan = applied.plan;
    await waitFor("v2 rolled back by its watch", async () => (await releases()).some((r) => r.number === 2 && r.state === "rolled-back"), 15_000);
    v2 = (await releases()).find((r) => r.number === 2)!;
    await waitFor("an incident", async () => (await p.api.get<{ incidents: IncidentRecord[] }>("/v1/incidents?all=true")).incidents.length > 0, 10_000);
    const { incidents } = await p.api.get<{ incidents: IncidentRecord[] }>("/v1/incidents");
    assert.equal(incidents.length, 1);
    incident = incidents[0]!;
    assert.deepEqual(incident.cause, { kind: "rollback", ref: v2.id });
    assert.equal(incident.state, "mitigated", "the rollback put traffic back on v1");
    assert.equal(incident.milestones.mitigated?.by, "engine");
    assert.ok(incident.severityReasons.includes("production: the last environment of the chain (+2)"), incident.severityReasons.join("; "));
    assert.ok(["SEV2", "SEV3"].includes(incident.severity), incident.severity);
    assert.ok(incident.severityReasons.some((r) => /% of \d+ requests failing \(web v2 in production\)/.test(r)), incident.severityReasons.join("; "));

    const view = await p.api.get<IncidentView>(`/v1/incidents/${incident.id}`);
    const link = view.incident.links.find((l) => l.kind === "release" && l.ref === v2.id)!;
    assert.deepEqual(link.detail.configDiff, [{ key: "env.ERROR_EVERY", to: "20" }]);
    assert.equal((link.detail.previous as { number: number }).number, 1);
    assert.equal(link.detail.artifactDigest, v2.artifactDigest);
    assert.match(String(link.detail.deployedBy), /apply/);
    assert.equal(link.detail.planHash, plan.hash);
    const types = view.timeline.map((e) => e.type);
    for (const type of ["release.pending", "release.live", "release.rolled-back", "incident.opened", "incident.mitigated"]) assert.ok(types.includes(type), `${type} in ${types.join(", ")}`);
    assert.ok(types.indexOf("release.live") < types.indexOf("release.rolled-back"));

    const [opened] = await events("incident.opened");
    assert.deepEqual(opened!.data, {
      incidentId: incident.id,
      severity: incident.severity,
      cause: { kind: "rollback", ref: v2.id },
      startedAt: (await events("release.live")).find((e) => e.releaseId === v2.id)!.time,
      services: ["web"],
      environments: ["production"],
      releaseIds: [v2.id],
    });
    assert.deepEqual([opened!.service, opened!.environment], ["web", "production"]);
    assert.deepEqual((await events("incident.mitigated"))[0]!.data, { incidentId: incident.id, from: "triage", by: "engine" });
    await waitFor("the opening notice", () => notices.some((n) => n.reason === "incident.opened"), 10_000);
    const notice = notices.find((n) => n.reason === "incident.opened")!;
    assert.equal(notice.groupKey, `incident:${incident.id}`);
    assert.match(notice.title, /Incident opened: \[SEV\d\] inc_.* web v2 rolled back in production/);
    assert.match(notice.text, /1 config key\(s\) changed/);
  });

  it("takes an acknowledgement, a note, the resolution and the close, each an event and a notice; refuses a step back", async () => {
    const acked = await p.api.post<IncidentRecord>(`/v1/incidents/${incident.id}/ack`, { by: "alice" });
    assert.equal(acked.ack?.by, "alice");
    const back = (await p.api.post(`/v1/incidents/${incident.id}/update`, { status: "investigating", by: "alice" }).catch((e) => e)) as EngineError;
    assert.equal(back.code, "INCIDENT_TRANSITION_INVALID");
    const cli = await run(p.dir, ["incidents", "update", incident.id, "--status", "triage"]);
    assert.equal(cli.code, 1, cli.out);
    assert.match(cli.out, /INCIDENT_TRANSITION_INVALID/);
    const noted = await p.api.post<IncidentRecord>(`/v1/incidents/${incident.id}/update`, { note: "ERROR_EVERY reverted in engineroom.yaml", commander: "bob", by: "alice" });
    assert.equal(noted.commander, "bob");
    const resolved = await p.api.post<IncidentRecord>(`/v1/incidents/${incident.id}/resolve`, { by: "alice" });
    assert.equal(resolved.state, "resolved");
    const closed = await run(p.dir, ["incidents", "close", incident.id, "--json"]);
    assert.equal(closed.code, 0, closed.out);
    assert.equal((JSON.parse(closed.out) as IncidentRecord).state, "closed");
    const mine = (await events("incident.")).filter((e) => e.data.incidentId === incident.id).map((e) => e.type);
    assert.deepEqual(mine, ["incident.opened", "incident.mitigated", "incident.acknowledged", "incident.updated", "incident.resolved", "incident.closed"]);
    const times = ["mitigated", "resolved", "closed"].map((s) => closed && (JSON.parse(closed.out) as IncidentRecord).milestones[s as "closed"]!.at);
    assert.deepEqual([...times].sort((a, b) => a - b), times, "monotone timestamps");
    await waitFor("the notices of each update and the resolution", () => notices.filter((n) => n.groupKey === `incident:${incident.id}`).length >= 5, 10_000);
    const reasons = notices.map((n) => n.reason);
    assert.deepEqual(reasons, ["incident.opened", "incident.updated", "incident.updated", "incident.resolved", "incident.closed"]);
    assert.equal(notices.find((n) => n.reason === "incident.resolved")!.status, "resolved");
    assert.match(notices[1]!.text, /acknowledged by alice/);
  });

  it("lists and shows incidents through the CLI", async () => {
    const listed = await run(p.dir, ["incidents", "--all", "--json"]);
    assert.equal(listed.code, 0, listed.out);
    assert.deepEqual((JSON.parse(listed.out) as { incidents: IncidentRecord[] }).incidents.map((i) => i.id), [incident.id]);
    const none = await run(p.dir, ["incidents"]);
    assert.match(none.out, /no open incident/);
    const shown = await run(p.dir, ["incidents", "show", incident.id]);
    assert.equal(shown.code, 0, shown.out);
    assert.match(shown.out, /env\.ERROR_EVERY: \(absent\) → "20"/);
    assert.match(shown.out, /release\.rolled-back/);
    const opened = await run(p.dir, ["incidents", "open", "--title", "checkout errors reported by support", "--service", "web", "--severity", "sev1", "--json"]);
    assert.equal(opened.code, 0, opened.out);
    const manual = JSON.parse(opened.out) as IncidentRecord;
    assert.deepEqual([manual.severity, manual.severitySource, manual.state, manual.environments, manual.cause.kind], ["SEV1", "person", "triage", ["production"], "manual"]);
    assert.equal((await p.api.get<{ incidents: IncidentRecord[] }>("/v1/incidents")).incidents.length, 1);
    const bad = (await p.api.post("/v1/incidents", { title: "x", service: "web", severity: "SEV9" }).catch((e) => e)) as EngineError;
    assert.equal(bad.code, "INCIDENT_INVALID");
    const unknown = (await p.api.post("/v1/incidents", { title: "x", service: "nope" }).catch((e) => e)) as EngineError;
    assert.equal(unknown.code, "SERVICE_UNKNOWN");
    const missing = await run(p.dir, ["incidents", "show", "inc_nope"]);
    assert.equal(missing.code, 2);
    assert.match(missing.out, /INCIDENT_NOT_FOUND/);
  });
});

describe("incidents: a bad section stops the engine from starting", () => {
  it("CONFIG_INVALID names each problem by its path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "engineroom-incidents-"));
    const file = join(dir, "engineroom.yaml");
    writeFileSync(file, testConfig("", "channels:\n  ops: { type: webhook, url: \"http://127.0.0.1:9/x\" }\nincidents:\n  channel: pager\n  escalate_after: soon\n  page_after: 1m\n"));
    try {
      const error = await Engine.start({ project: loadProject(file), logger: silentLogger }).then(
        (engine) => engine.stop().then(() => undefined),
        (e: unknown) => e,
      );
      assert.ok(isEngineError(error) && error.code === "CONFIG_INVALID", String(error));
      assert.deepEqual(error.details?.problems, [
        'incidents.escalate_after: "soon" is not a duration; write it like 15m or 1h',
        "incidents.page_after: unknown key; known keys: channel, escalate_after, escalation_channel",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("incidents, end to end: a page alert opens one, the operator's rollback joins it (one incident per cause)", () => {
  let p: TestProject;
  let outage: string;

  before(async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const proxyPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const top = `checks:
  web-home:
    type: http
    url: http://127.0.0.1:${proxyPort}/
    interval: 1s
    timeout: 800ms
    failure_threshold: 3
    conditions: ["status == 200"]
    service: web
    environment: production
alerts:
  default_rules: false
`;
    const config = testConfig("", top).replace("listen: 127.0.0.1:0\napi:", `listen: 127.0.0.1:${proxyPort}\napi:`).replace("watch: 5m", "watch: 1s");
    p = await startProject(config);
    outage = join(p.dir, "outage");
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v2", failFile: outage }) }, () => {});
    await waitFor("v2 stable", async () => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases")).releases.some((r) => r.number === 2 && r.state === "stable"), 10_000);
  });
  after(async () => {
    await p?.cleanup();
  });

  it("opens from check-down (page), takes the rollback as the same cause, and is mitigated by it", async () => {
    writeFileSync(outage, "down");
    const list = async () => (await p.api.get<{ incidents: IncidentRecord[] }>("/v1/incidents?all=true")).incidents;
    await waitFor("an incident from the check-down alert", async () => (await list()).length > 0, 15_000);
    const [opened] = await list();
    assert.equal(opened!.cause.kind, "alert");
    assert.equal(opened!.state, "triage");
    assert.ok(opened!.links.some((l) => l.kind === "check" && l.ref === "web-home"), JSON.stringify(opened!.links));
    const rolled = await p.api.stream<{ from: Release }>("/v1/services/web/rollback", {}, () => {});
    await waitFor("the rollback joined", async () => (await list())[0]!.signals.some((s) => s.kind === "rollback"), 10_000);
    const incidents = await list();
    assert.equal(incidents.length, 1, "one incident for the alert and the rollback");
    const [incident] = incidents;
    assert.equal(incident!.state, "mitigated");
    assert.equal(incident!.milestones.mitigated?.by, "engine");
    assert.deepEqual(incident!.releaseIds, [rolled.from.id]);
    assert.ok(incident!.links.some((l) => l.kind === "release" && l.ref === rolled.from.id));
    const { events } = await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=500");
    const mine = events.filter((e) => e.data.incidentId === incident!.id).map((e) => e.type);
    assert.deepEqual(mine, ["incident.opened", "incident.updated", "incident.mitigated"]);
  });
});
