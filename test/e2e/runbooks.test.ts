import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadProject } from "../../src/config/index.js";
import { isEngineError, silentLogger, type EngineError } from "../../src/core/index.js";
import { Engine } from "../../src/engine/index.js";
import type { IncidentView } from "../../src/incident/index.js";
import type { RunbookDryRun } from "../../src/runbook/index.js";
import type { EngineEvent, IncidentRecord, Release, RunbookRunRecord } from "../../src/store/index.js";
import { run } from "../helpers/cli.js";
import { startPacedLoad } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Runbooks end to end over real parts: a runbook with every step type — notify (a real local
 * webhook receiver), run (a real command; one leaks a secret, which is redacted; one times out),
 * scale and restart (real instances), approve (paused until someone approves), rollback (the live
 * release really switches), wait_for (a real check, and a metric condition), a skipped step — dry
 * run first (which changes nothing), then for real, attached to an incident and verified; an
 * approval that expires (the run aborts); automatic mitigation from a real check going down,
 * rate-limited (the 4th start in an hour is refused with an event) and refused in production for a
 * runbook that would change something.
 */

interface Notice {
  reason: string;
  title: string;
  text: string;
  groupKey: string;
}

describe("runbooks, end to end: every step type, dry run and real run, approval, expiry, automatic mitigation", () => {
  const secret = `rb-secret-${randomBytes(10).toString("hex")}`;
  let p: TestProject;
  let hook: Server;
  const notices: Notice[] = [];
  const seen: string[] = [];
  let incident: IncidentRecord;
  let downFile: string;

  before(async () => {
    process.env.RB_E2E_API_TOKEN = secret;
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        seen.push(text);
        const body = JSON.parse(text);
        if (body.engineroom?.kind === "notice") notices.push({ reason: body.engineroom.reason, title: body.engineroom.title, text: body.engineroom.text, groupKey: body.groupKey });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    const port = (hook.address() as AddressInfo).port;
    const top = `secrets:
  providers:
    env:
      type: env
      prefix: RB_E2E_
channels:
  ops:
    type: webhook
    url: http://127.0.0.1:${port}/hook
incidents:
  channel: ops
slos:
  web-availability:
    service: web
    kind: availability
    target: 99.9
checks:
  db:
    type: command
    command: test ! -f db-down
    interval: 1s
    failure_threshold: 1
    recovery_threshold: 1
    service: web
    environment: production
runbooks:
  fix-web:
    description: the whole toolbox
    service: web
    steps:
      - type: notify
        channel: ops
        message: "fixing {{service}} in {{environment}} (run {{run}})"
      - type: run
        name: leak
        command: "echo token=$RB_E2E_API_TOKEN for {{service}}; echo to-stderr >&2"
      - type: run
        name: slow
        command: sleep 30
        timeout: 1s
        on_failure: continue
      - type: scale
        instances: 3
      - type: restart
      - type: approve
        message: "roll {{service}} back?"
        expires: 5m
      - type: rollback
      - type: wait_for
        check: web.health.production
        timeout: 30s
      - type: wait_for
        metric: rps > 1
        over: 5s
        timeout: 60s
      - type: restart
        name: only-automatic
        when:
          automatic: true
  gated:
    service: web
    steps:
      - type: approve
        expires: 2s
      - type: restart
  on-db-down:
    service: web
    on_alerts: [check-down]
    steps:
      - type: notify
        channel: ops
        message: "{{service}}: the db check is down"
  restart-on-db-down:
    service: web
    on_alerts: [check-down]
    steps:
      - type: restart
`;
    const config = testConfig("", top).replace("      GREETING: hi\n", "      GREETING: hi\n      API_TOKEN: { secret: api_token, provider: env }\n");
    p = await startProject(config);
    downFile = join(p.dir, "db-down");
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v2" }) }, () => {});
    incident = await p.api.post<IncidentRecord>("/v1/incidents", { title: "web is slow", service: "web", by: "alice" });
    await waitFor("web's health check up", () => p.engine.monitoring.checks?.status("web.health.production")?.state === "up", 30_000);
  });
  after(async () => {
    await p?.cleanup();
    await new Promise((resolve) => hook?.close(resolve));
    delete process.env.RB_E2E_API_TOKEN;
  });

  const get = async <T>(path: string) => {
    const answer = await p.api.get<T>(path);
    seen.push(JSON.stringify(answer));
    return answer;
  };
  const post = async <T>(path: string, body: unknown) => {
    const answer = await p.api.post<T>(path, body);
    seen.push(JSON.stringify(answer));
    return answer;
  };
  const events = async (prefix: string) => (await get<{ events: EngineEvent[] }>("/v1/events?limit=1000")).events.filter((e) => e.type.startsWith(prefix));
  const releases = async () => (await get<{ releases: Release[] }>("/v1/services/web/releases")).releases;
  const instances = () => {
    const env = p.engine.environment("production");
    return p.engine.store.live.get("web", "production").then((live) => env.supervisor.view(live!.releaseId));
  };

  it("lists the runbooks with their steps and automatic triggers", async () => {
    const listed = await run(p.dir, ["runbook", "list", "--json"]);
    assert.equal(listed.code, 0, listed.out);
    const { runbooks } = JSON.parse(listed.out) as { runbooks: { name: string; steps: { type: string }[]; triggers: string[]; allowAutoInProduction: boolean }[] };
    assert.deepEqual(runbooks.map((r) => r.name), ["fix-web", "gated", "on-db-down", "restart-on-db-down"]);
    assert.deepEqual([...new Set(runbooks[0]!.steps.map((s) => s.type))].sort(), ["approve", "notify", "restart", "rollback", "run", "scale", "wait_for"]);
    assert.deepEqual(runbooks[2]!.triggers, ["check-down"]);
    assert.deepEqual(runbooks.slice(2).map((r) => r.allowAutoInProduction), [true, false]);
  });

  it("dry run: says exactly what would happen, and changes nothing", async () => {
    const before = await instances();
    const dry = await run(p.dir, ["runbook", "run", "fix-web", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.out);
    seen.push(dry.out);
    const plan = JSON.parse(dry.out) as RunbookDryRun;
    assert.deepEqual([plan.service, plan.environment, plan.incidentId], ["web", "production", incident.id]);
    const [v1, v2] = (await releases()).sort((a, b) => a.number - b.number);
    const byName = Object.fromEntries(plan.steps.map((s) => [s.name, s]));
    assert.equal(byName["7-rollback"]!.plan, `roll back web in production from v2 (${v2!.id}) to v1 (${v1!.id})`);
    assert.match(byName["4-scale"]!.plan, new RegExp(`^scale web in production v2 from 2 to 3 instance\\(s\\) \\(until its next release\\): ${before.map((i) => i.id).join(".*")}`));
    assert.match(byName["5-restart"]!.plan, /^restart the 2 instance\(s\) of web in production v2, one at a time/);
    assert.match(byName.leak!.plan, new RegExp(`^run \`echo token=\\$RB_E2E_API_TOKEN for web; echo to-stderr >&2\` in ${p.dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(timeout 1m\\)$`));
    assert.equal(byName["1-notify"]!.plan, 'notify channel ops: "fixing web in production (run (dry run))"');
    assert.match(byName["8-wait_for"]!.plan, /^wait until check web\.health\.production is up \(now up\), at most 30s$/);
    assert.deepEqual([byName["only-automatic"]!.outcome, byName["only-automatic"]!.when?.reasons], ["skip", ["the run was started by hand"]]);
    assert.ok(plan.summary.some((l) => /the run pauses here until it is approved/.test(l)), plan.summary.join("\n"));
    const text = await run(p.dir, ["runbook", "run", "fix-web", "--dry-run"]);
    assert.match(text.out, /dry run of runbook fix-web for web in production .*nothing changes/);
    assert.match(text.out, /10\. only-automatic: skipped \(the run was started by hand\)/);
    // Nothing happened: no run, no runbook event, the same instances, no notice.
    assert.deepEqual(await p.engine.store.runbookRuns.list(), []);
    assert.deepEqual(await events("runbook."), []);
    assert.deepEqual((await instances()).map((i) => i.id), before.map((i) => i.id));
    assert.equal(notices.filter((n) => n.groupKey.startsWith("runbook-run:")).length, 0);
  });

  let fixRun: RunbookRunRecord;

  it("a real run: notify, run (redacted, one timed out), scale and restart really happen, then it pauses for an approval", async () => {
    const before = await instances();
    fixRun = await post<RunbookRunRecord>("/v1/runbooks/fix-web/run", { incident: incident.id, wait: true, by: "alice" });
    assert.equal(fixRun.state, "waiting-approval", JSON.stringify(fixRun, null, 2));
    const step = (name: string) => fixRun.steps.find((s) => s.name === name)!;
    assert.equal(step("1-notify").state, "succeeded", step("1-notify").result!);
    const notice = notices.find((n) => n.groupKey === `runbook-run:${fixRun.id}`);
    assert.ok(notice, "the webhook got the notify step's message");
    assert.match(notice!.title, new RegExp(`fixing web in production \\(run ${fixRun.id}\\)`));
    assert.equal(step("leak").state, "succeeded");
    assert.match(step("leak").output!, /token=\[REDACTED:api_token\] for web\n/);
    assert.match(step("leak").output!, /to-stderr/);
    assert.deepEqual([step("slow").state, step("slow").result], ["failed", "timed out after 1s: its process group was ended"]);
    assert.equal(step("4-scale").state, "succeeded", step("4-scale").result!);
    assert.equal(step("5-restart").state, "succeeded", step("5-restart").result!);
    const now = await instances();
    assert.equal(now.length, 3, "scaled to 3");
    assert.ok(now.every((i) => i.healthy && !before.some((b) => b.id === i.id || b.pid === i.pid)), `every instance replaced: ${JSON.stringify(now)}`);
    assert.deepEqual([step("6-approve").state, fixRun.approval?.decision], ["waiting", null]);
    assert.equal(step("7-rollback").state, "pending");
    const live = (await releases()).find((r) => r.state === "watching" || r.state === "live");
    assert.equal(live?.number, 2, "nothing after the approval ran");
  });

  it("is approved by another person, rolls back for real, waits for the check and the metric, is verified and attached to the incident", async () => {
    const approving = post<RunbookRunRecord>(`/v1/runbook-runs/${fixRun.id}/approve`, { by: "bob" });
    // The metric step waits for traffic that only begins once it is waiting.
    await waitFor("the run waiting for traffic", async () => (await get<RunbookRunRecord>(`/v1/runbook-runs/${fixRun.id}`)).steps.find((s) => s.name === "9-wait_for")?.state === "running", 30_000);
    const load = startPacedLoad(p.proxyUrl, { rps: 20, maxMs: 60_000 });
    const done = await approving.finally(() => load.stop());
    assert.equal(done.state, "succeeded", JSON.stringify(done, null, 2));
    assert.deepEqual([done.approval?.decision, done.approval?.by], ["approved", "bob"]);
    const step = (name: string) => done.steps.find((s) => s.name === name)!;
    assert.match(step("7-rollback").result!, /^switched web in production from v2 to v1/);
    const [v1, v2] = (await releases()).sort((a, b) => a.number - b.number);
    assert.equal(v2!.state, "rolled-back");
    assert.equal((await p.engine.store.live.get("web", "production"))!.releaseId, v1!.id);
    assert.match(step("8-wait_for").result!, /^check web\.health\.production is up/);
    assert.match(step("9-wait_for").result!, /^rps [\d.]+\/s over 5s \(\d+ requests\): "rps > 1" holds \(after \d/);
    assert.equal(step("only-automatic").state, "skipped");
    assert.equal(done.verification?.outcome, "verified");
    assert.ok(done.verification!.evidence.includes("check web.health.production is up"), done.verification!.evidence.join("; "));
    assert.ok(done.verification!.evidence.some((e) => /^SLO web-availability: burn \S+ over \S+ below the page threshold [\d.]+×$/.test(e)), done.verification!.evidence.join("; "));
    const types = (await events("runbook.")).filter((e) => e.data.runId === fixRun.id).map((e) => e.type);
    for (const type of ["runbook.started", "runbook.step.started", "runbook.step.succeeded", "runbook.step.failed", "runbook.step.skipped", "runbook.approval-requested", "runbook.approved", "runbook.verified", "runbook.finished"]) {
      assert.ok(types.includes(type), `${type} in ${types.join(", ")}`);
    }
    assert.equal(types[0], "runbook.started");
    assert.equal(types.at(-1), "runbook.finished");
    const view = await get<IncidentView>(`/v1/incidents/${incident.id}`);
    const link = view.incident.links.find((l) => l.kind === "runbook-run" && l.ref === fixRun.id);
    assert.ok(link, JSON.stringify(view.incident.links));
    const incidentShown = await run(p.dir, ["incidents", "show", incident.id]);
    assert.match(incidentShown.out, new RegExp(`runbook-run +${fixRun.id} — runbook fix-web started `));
    const shown = await run(p.dir, ["runbook", "show", fixRun.id]);
    seen.push(shown.out);
    assert.equal(shown.code, 0, shown.out);
    assert.match(shown.out, /verification: verified/);
    assert.match(shown.out, /approval: approved by bob/);
    assert.match(shown.out, /\| token=\[REDACTED:api_token\] for web/);
  });

  it("an approval nobody gives expires: the run aborts, its next step never runs; a second decision is refused", async () => {
    const before = await instances();
    const started = await post<RunbookRunRecord>("/v1/runbooks/gated/run", { wait: true, by: "alice" });
    assert.equal(started.state, "waiting-approval");
    await waitFor("the approval to expire", async () => (await get<RunbookRunRecord>(`/v1/runbook-runs/${started.id}`)).state === "aborted", 20_000);
    const ended = await get<RunbookRunRecord>(`/v1/runbook-runs/${started.id}`);
    assert.equal(ended.approval?.decision, "expired");
    assert.match(ended.reason!, /expired: nobody approved it within 2s/);
    assert.deepEqual(ended.steps.map((s) => s.state), ["aborted", "pending"]);
    assert.equal(ended.verification, null);
    assert.deepEqual((await instances()).map((i) => i.id), before.map((i) => i.id), "the restart after it never ran");
    assert.ok((await events("runbook.approval-expired")).some((e) => e.data.runId === started.id));
    await assert.rejects(post(`/v1/runbook-runs/${started.id}/approve`, { by: "bob" }), (error: EngineError) => isEngineError(error) && error.code === "RUNBOOK_NOT_WAITING");
    const refused = await run(p.dir, ["runbook", "approve", started.id]);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /RUNBOOK_NOT_WAITING/);
  });

  it("automatic mitigation: a check going down starts the runbook naming its alert, at most 3 times an hour; a changing runbook is refused in production", async () => {
    for (let n = 1; n <= 4; n++) {
      writeFileSync(downFile, "down");
      await waitFor(`firing ${n}: the check-down alert's runbook started or refused`, async () => (await events("runbook.")).filter((e) => (e.type === "runbook.started" && e.data.automatic === true) || (e.type === "runbook.refused" && e.data.runbook === "on-db-down")).length >= n, 30_000);
      rmSync(downFile);
      await waitFor(`the db check up again (${n})`, () => p.engine.monitoring.checks?.status("db")?.state === "up", 20_000);
      await waitFor(`the check-down alert resolved (${n})`, async () => (p.engine.monitoring.alerts?.firingOf(["check-down"]) ?? []).length === 0, 20_000);
    }
    const automatic = (await p.engine.store.runbookRuns.list({ runbook: "on-db-down" })).filter((r) => r.trigger.kind === "alert");
    assert.equal(automatic.length, 3);
    await waitFor("the automatic runs to end", async () => (await p.engine.store.runbookRuns.list({ runbook: "on-db-down" })).every((r) => r.state === "succeeded"), 20_000);
    assert.ok(automatic.every((r) => r.trigger.rule === "check-down" && r.trigger.alertId?.startsWith("alr_")));
    const refused = await events("runbook.refused");
    const limited = refused.filter((e) => e.data.runbook === "on-db-down");
    assert.equal(limited.length, 1);
    assert.match(String(limited[0]!.data.reason), /3 automatic run\(s\) of it for web within the last hour already \(max_auto_runs_per_hour: 3\)/);
    const production = refused.filter((e) => e.data.runbook === "restart-on-db-down");
    assert.equal(production.length, 4);
    assert.match(String(production[0]!.data.reason), /production \(the last environment of the chain\) and steps 1-restart change things: an automatic run there needs allow_auto_in_production: true/);
    // Every automatic run announced on the incidents' channel, and its own notify delivered.
    await waitFor("3 announcements", () => notices.filter((n) => n.reason === "runbook.automatic").length >= 3, 20_000);
    assert.equal(notices.filter((n) => n.reason === "runbook.automatic").length, 3);
    assert.match(notices.find((n) => n.reason === "runbook.automatic")!.title, /^Runbook on-db-down started automatically for web in production$/);
    // The run is attached to the incident the page opened.
    await waitFor("an automatic run attached to an incident", async () => (await p.engine.store.runbookRuns.list({ runbook: "on-db-down" })).some((r) => r.incidentId !== null), 20_000);
    assert.ok(!existsSync(downFile));
  });

  it("never shows the secret: not in answers, outputs, events or notices", async () => {
    seen.push(JSON.stringify(await events("")));
    for (const text of seen) assert.ok(!text.includes(secret), `the secret leaked in: ${text.slice(0, 300)}`);
  });
});

describe("runbooks config, checked before anything starts", () => {
  it("lists every problem of runbooks: and of a metric rule's runbook: in one CONFIG_INVALID, and creates nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "engineroom-runbooks-config-"));
    try {
      const top = `alerts:
  rules:
    - name: web-errors
      metric: error_rate
      op: ">"
      threshold: 0.02
      runbook: fix-wbe
runbooks_from: [more.yaml]
runbooks:
  fix-web:
    service: wbe
    steps:
      - type: scale
        instances: 2
        timeout: 5s
      - type: notify
        channel: pager
        message: "{{servce}} down"
`;
      writeFileSync(join(dir, "engineroom.yaml"), testConfig("", top));
      writeFileSync(join(dir, "more.yaml"), "fix-web:\n  steps: [{ type: restart }]\n");
      await assert.rejects(Engine.start({ project: loadProject(join(dir, "engineroom.yaml")), logger: silentLogger }), (error: EngineError) => {
        assert.equal(error.code, "CONFIG_INVALID");
        const problems = error.details?.problems as string[];
        for (const expected of [
          /^runbooks\.fix-web\.steps\.0\.timeout: unknown key; known keys: type, instances, service, environment, name, when, abort_if, on_failure$/,
          /^runbooks\.fix-web\.steps\.1\.message: unknown placeholder \{\{servce\}\}/,
        ]) assert.ok(problems.some((p) => expected.test(p)), `${expected} in:\n${problems.join("\n")}`);
        return true;
      });
      writeFileSync(join(dir, "engineroom.yaml"), testConfig("", top.replace("        timeout: 5s\n", "").replace("{{servce}}", "{{service}}")));
      await assert.rejects(Engine.start({ project: loadProject(join(dir, "engineroom.yaml")), logger: silentLogger }), (error: EngineError) => {
        const problems = error.details?.problems as string[];
        assert.deepEqual(problems.sort(), [
          'alerts.rules.0.runbook: no runbook named "fix-wbe" under runbooks: (declared: fix-web)',
          'more.yaml: runbooks.fix-web: a second runbook named "fix-web" (the first is in engineroom.yaml)',
          'runbooks.fix-web.service: no service named "wbe" (declared: web)',
          'runbooks.fix-web.steps.1.channel: no channel under channels: named "pager" (declared: none)',
        ].sort());
        return true;
      });
      assert.equal(existsSync(join(dir, ".engineroom")), false, "no state folder was made");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
