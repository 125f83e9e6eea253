import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ManualClock, redactor } from "../core/index.js";
import { SqliteStore } from "../store/index.js";
import type { RunbookActions } from "./actions.js";
import { runCommand } from "./command.js";
import { judge, parseMetricExpression, type Situation } from "./conditions.js";
import { runbookSchema, fill } from "./config.js";
import { loadRunbooks } from "./load.js";
import { productionGuard, resolveStep } from "./plan.js";
import { RunbookRunner } from "./runner.js";
import { startForAlert } from "./automatic.js";

const declared = { services: ["web", "api"], environments: ["staging", "production"], channels: ["ops"] };

/** A fixed world for resolution: web v3 live with two instances, v2 before it, check web-health down, error-rate firing. */
function fixedWorld(dir: string): RunbookActions {
  const situation = (service: string, environment: string, automatic: boolean): Situation => ({
    service,
    environment,
    automatic,
    checkState: (name) => ({ "web-health": "down", "db": "up" })[name],
    firingRules: () => (service === "web" ? ["error-rate"] : []),
    metric: (metric) => (metric === "error_rate" ? { value: 0.12, requests: 200 } : { value: 420, requests: 200 }),
  });
  return {
    workDir: dir,
    chain: () => ["staging", "production"],
    hasService: (s) => declared.services.includes(s),
    situation,
    live: async (service) => (service === "web" ? { releaseId: "rel_3", number: 3, instances: [{ id: "web-production-v3-1", port: 4001, healthy: true }, { id: "web-production-v3-2", port: 4002, healthy: true }] } : undefined),
    rollbackTarget: async (service) => (service === "web" ? { releaseId: "rel_2", number: 2 } : undefined),
    rollback: async () => "switched",
    restart: async () => "restarted",
    scale: async () => "scaled",
    channels: () => ["ops"],
    notify: async () => ({ delivered: true, detail: "delivered" }),
    announce: () => {},
    recovery: async () => ({ recovered: true, evidence: ["check web-health is up"] }),
    openIncident: async () => undefined,
    requireIncident: async () => {},
    attach: async () => {},
  };
}

describe("runbook config", () => {
  it("parses every step type with its defaults, conditions and templating", () => {
    const parsed = runbookSchema.parse({
      service: "web",
      steps: [
        { type: "rollback", when: { environment: "production", alert_firing: "error-rate" } },
        { type: "restart", on_failure: "continue" },
        { type: "scale", instances: 3 },
        { type: "run", command: "echo {{service}} {{environment}}", timeout: "5s" },
        { type: "wait_for", check: "{{service}}-health", timeout: "1m" },
        { type: "wait_for", metric: "error_rate < 1%", over: "30s" },
        { type: "notify", channel: "ops", message: "mitigating {{service}}" },
        { type: "approve", expires: "10m", abort_if: { check_up: "db" } },
      ],
    });
    assert.deepEqual(parsed.steps.map((s) => s.type), ["rollback", "restart", "scale", "run", "wait_for", "wait_for", "notify", "approve"]);
    assert.equal(parsed.steps[1]!.on_failure, "continue");
    assert.equal(parsed.steps[0]!.on_failure, "abort");
    assert.deepEqual(parsed.steps[0]!.when?.environment, ["production"]);
    const run = parsed.steps[3] as { timeout: number };
    assert.equal(run.timeout, 5000);
    const wait = parsed.steps[5] as { metric: { metric: string; op: string; value: number }; over: number; timeout: number };
    assert.deepEqual([wait.metric.metric, wait.metric.op, wait.metric.value, wait.over, wait.timeout], ["error_rate", "<", 0.01, 30_000, 300_000]);
    assert.equal((parsed.steps[7] as { expires: number }).expires, 600_000);
    assert.deepEqual([parsed.max_auto_runs_per_hour, parsed.allow_auto_in_production, parsed.auto_min_severity], [3, false, "page"]);
    assert.equal(fill("echo {{ service }} in {{environment}} for {{incident}}", { service: "web", environment: "production", run: "rbr_1", incident: null }), "echo web in production for none");
  });

  it("names every problem by its path: unknown keys, placeholders, metric conditions, undeclared names, duplicates", () => {
    const dir = mkdtempSync(join(tmpdir(), "runbooks-"));
    try {
      writeFileSync(join(dir, "more.yaml"), "runbooks:\n  fix-web:\n    steps:\n      - type: restart\n");
      const loaded = loadRunbooks({
        file: "engineroom.yaml",
        dir,
        from: ["more.yaml", "missing.yaml"],
        declared,
        runbooks: {
          "fix-web": {
            service: "wbe",
            steps: [
              { type: "run", command: "echo {{sevice}}", timout: "5s" },
              { type: "wait_for", metric: "error_rate < 120%" },
              { type: "wait_for" },
              { type: "notify", channel: "pager", message: "hi" },
              { type: "rollback", when: { environment: "prod" } },
            ],
          },
        },
      });
      const problems = loaded.problems;
      const expect = [
        /^runbooks_from\.1: no file missing\.yaml$/,
        /^runbooks\.fix-web\.steps\.0\.timout: unknown key \(did you mean timeout\?\)/,
        /^runbooks\.fix-web\.steps\.0\.command: unknown placeholder \{\{sevice\}\}/,
        /^runbooks\.fix-web\.steps\.1\.metric: "120%" in "error_rate < 120%" is not a percentage/,
        /^runbooks\.fix-web\.steps\.2: a wait_for step waits for one `check` or one `metric` condition$/,
      ];
      for (const pattern of expect) assert.ok(problems.some((p) => pattern.test(p)), `${pattern} in:\n${problems.join("\n")}`);
      // The schema problems of engineroom.yaml's own runbooks stop its name checks; the file's are checked.
      const names = loadRunbooks({ file: "engineroom.yaml", dir, from: ["more.yaml"], declared, runbooks: { "fix-web": { service: "wbe", steps: [{ type: "notify", channel: "pager", message: "hi" }, { type: "rollback", when: { environment: "prod" } }] } } });
      const second = names.problems;
      assert.deepEqual(names.names, ["fix-web"]);
      assert.ok(second.includes('runbooks.fix-web.service: no service named "wbe" (declared: web, api)'), second.join("\n"));
      assert.ok(second.includes('runbooks.fix-web.steps.0.channel: no channel under channels: named "pager" (declared: ops)'), second.join("\n"));
      assert.ok(second.includes('runbooks.fix-web.steps.1.when.environment: no environment named "prod" (declared: staging, production)'), second.join("\n"));
      assert.ok(second.some((p) => /^more\.yaml: runbooks\.fix-web: a second runbook named "fix-web" \(the first is in engineroom\.yaml\)$/.test(p)), second.join("\n"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("runbook conditions", () => {
  const world = fixedWorld(tmpdir()).situation("web", "production", false);

  it("parses metric conditions and refuses bad ones", () => {
    assert.deepEqual(parseMetricExpression("p99 <= 500ms"), { metric: "p99", op: "<=", value: 500, text: "p99 <= 500ms" });
    assert.deepEqual(parseMetricExpression("rps>2"), { metric: "rps", op: ">", value: 2, text: "rps>2" });
    assert.match((parseMetricExpression("latency < 1s") as { problem: string }).problem, /not a metric condition/);
  });

  it("holds when every key holds, with a reason for each", () => {
    const condition = runbookSchema.shape.steps.element.options[0].shape.when.unwrap();
    const held = judge(condition.parse({ environment: ["staging", "production"], alert_firing: "error-rate", check_down: "web-health", metric: "error_rate > 5%", over: "1m" }), world);
    assert.equal(held.holds, true);
    assert.deepEqual(held.reasons, [
      "environment is production",
      "alert error-rate fires for web in production (firing: error-rate)",
      "check web-health is down",
      'error_rate 12% over 1m (200 requests): "error_rate > 5%" holds',
    ]);
    const not = judge(condition.parse({ environment: "staging", check_up: "nope", automatic: true }), world);
    assert.equal(not.holds, false);
    assert.deepEqual(not.reasons, ["environment is production, not staging", "the run was started by hand", "no check named nope"]);
  });
});

describe("runbook dry run and guardrails", () => {
  const dir = mkdtempSync(join(tmpdir(), "runbook-unit-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const book = {
    name: "fix-web",
    source: "engineroom.yaml",
    ...runbookSchema.parse({
      service: "web",
      steps: [
        { type: "rollback", when: { alert_firing: "error-rate" } },
        { type: "scale", instances: 4, when: { environment: "staging" } },
        { type: "run", command: "echo {{service}} > out.txt" },
        { type: "notify", channel: "ops", message: "{{service}} mitigated" },
        { type: "approve", abort_if: { check_up: "db" } },
        { type: "restart" },
      ],
    }),
  };

  it("resolves each step now: which releases and instances, which command, which channel, which conditions hold", async () => {
    const runner = new RunbookRunner({ store: undefined as never, clock: new ManualClock(), runbooks: [book], actions: fixedWorld(dir) });
    const dry = await runner.dryRun("fix-web", { by: "alice" });
    assert.equal(dry.environment, "production");
    assert.deepEqual(dry.steps.map((s) => [s.name, s.outcome]), [["1-rollback", "run"], ["2-scale", "skip"], ["3-run", "run"], ["4-notify", "run"], ["5-approve", "abort"], ["6-restart", "run"]]);
    assert.equal(dry.steps[0]!.plan, "roll back web in production from v3 (rel_3) to v2 (rel_2)");
    assert.match(dry.steps[2]!.plan, new RegExp(`^run \`echo web > out.txt\` in ${dir} \\(timeout 1m\\)$`));
    assert.equal(dry.steps[3]!.plan, 'notify channel ops: "web mitigated"');
    assert.deepEqual(dry.summary.slice(-1), ["5. 5-approve: the run would abort here (abort_if holds: check db is up)"]);
    assert.match(dry.summary[1]!, /^2\. 2-scale: skipped \(environment is production, not staging\)$/);
    assert.match(dry.verification, /checks up and its SLOs' short-window burn below the page threshold/);
  });

  it("refuses changing steps in production for an automatic run unless the runbook allows it", () => {
    assert.match(productionGuard(book, "production", ["staging", "production"])!, /production \(the last environment of the chain\) and steps 1-rollback, 2-scale, 3-run, 6-restart change things/);
    assert.equal(productionGuard(book, "staging", ["staging", "production"]), undefined);
    assert.equal(productionGuard({ ...book, allow_auto_in_production: true }, "production", ["staging", "production"]), undefined);
  });

  it("starts at most max_auto_runs_per_hour automatic runs per service; the next is refused with an event", async () => {
    const clock = new ManualClock();
    const store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    try {
      const quick = { ...book, name: "notify-only", on_alerts: ["check-down"], steps: [runbookSchema.shape.steps.element.parse({ type: "notify", channel: "ops", message: "{{service}} down" })] };
      const announced: string[] = [];
      const runner = new RunbookRunner({ store, clock, runbooks: [quick], actions: fixedWorld(dir) });
      const options = { runner, events: store.events, clock, chain: () => ["staging", "production"], announce: (title: string) => void announced.push(title) };
      const alert = (n: number) => ({ id: `alr_${n}`, rule: "check-down", severity: "page", labels: { service: "web", environment: "production", check: "web-health" }, annotations: { summary: "down" } });
      for (let n = 1; n <= 3; n++) {
        const [started] = await startForAlert(alert(n), options);
        assert.ok(started!.run, started!.refused);
        await runner.settled(started!.run!.id);
        clock.advance(60_000);
      }
      const [fourth] = await startForAlert(alert(4), options);
      assert.match(fourth!.refused!, /3 automatic run\(s\) of it for web within the last hour already \(max_auto_runs_per_hour: 3\)/);
      const refused = await store.events.list({ types: ["runbook.refused"] });
      assert.equal(refused.length, 1);
      assert.deepEqual(refused[0]!.data, { runbook: "notify-only", alertId: "alr_4", rule: "check-down", reason: fourth!.refused });
      assert.equal(announced.length, 3);
      // A ticket does not start it; an hour later the budget is back.
      assert.match((await startForAlert({ ...alert(5), severity: "ticket" }, options))[0]!.refused!, /less than the runbook's auto_min_severity page/);
      clock.advance(3_600_000);
      const [later] = await startForAlert(alert(6), options);
      assert.ok(later!.run);
      await runner.settled(later!.run!.id);
    } finally {
      await store.close();
    }
  });
});

describe("runbook approvals", () => {
  it("pauses at approve; the token that started the run may not approve it, another may; an expired one aborts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runbook-approve-"));
    const clock = new ManualClock();
    const store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    try {
      const book = { name: "gated", source: "engineroom.yaml", ...runbookSchema.parse({ service: "web", steps: [{ type: "approve", expires: "10m" }, { type: "notify", channel: "ops", message: "go" }] }) };
      const runner = new RunbookRunner({ store, clock, runbooks: [book], actions: fixedWorld(dir) });
      const run = await runner.start("gated", { by: "agent-1", token: "tok_agent" });
      const waiting = await runner.settled(run.id);
      assert.equal(waiting.state, "waiting-approval");
      await assert.rejects(runner.approve(run.id, { by: "agent-1", token: "tok_agent" }), (e: Error & { code?: string }) => e.code === "RUNBOOK_APPROVAL_REFUSED");
      await assert.rejects(runner.approve(run.id, { by: "engine" }), (e: Error & { code?: string }) => e.code === "RUNBOOK_APPROVAL_REFUSED");
      const done = await runner.approve(run.id, { by: "carol", token: "tok_carol" });
      assert.deepEqual([done.state, done.approval?.decision, done.approval?.by, done.steps.map((s) => s.state)], ["succeeded", "approved", "carol", ["succeeded", "succeeded"]]);
      await assert.rejects(runner.approve(run.id, { by: "carol" }), (e: Error & { code?: string }) => e.code === "RUNBOOK_NOT_WAITING");

      // Denied: the run aborts at the approve step, the next step never runs.
      const denied = await runner.start("gated", { by: "alice" });
      await runner.settled(denied.id);
      const refusedRun = await runner.deny(denied.id, { by: "bob", reason: "not now" });
      assert.deepEqual([refusedRun.state, refusedRun.approval?.decision, refusedRun.steps.map((s) => s.state), refusedRun.reason], ["aborted", "denied", ["aborted", "pending"], "step 1-approve: denied by bob: not now"]);
      // A run an earlier engine left going on is recorded aborted by the next one.
      const left = { ...refusedRun, id: "rbr_left", state: "running" as const, endedAt: null, reason: null };
      await store.runbookRuns.put(left);
      assert.equal(await new RunbookRunner({ store, clock, runbooks: [book], actions: fixedWorld(dir) }).recoverInterrupted(), 1);
      assert.deepEqual([(await store.runbookRuns.get("rbr_left"))!.state, (await store.runbookRuns.get("rbr_left"))!.reason], ["aborted", "the engine stopped while the run was going on"]);

      // Verification is independent: the steps succeeded, the service did not recover.
      const sick = new RunbookRunner({ store, clock, runbooks: [book], verifyTimeoutMs: 2000, actions: { ...fixedWorld(dir), recovery: async () => ({ recovered: false, evidence: ["check web.health.production is down"] }) } });
      const unwell = await sick.start("gated", { by: "alice", service: "api" });
      await sick.settled(unwell.id);
      const approved = sick.approve(unwell.id, { by: "bob" });
      for (let i = 0; i < 10 && (await sick.get(unwell.id)).state !== "succeeded"; i++) {
        await waitUntil(async () => clock.pendingSleepers > 0);
        clock.advance(500);
      }
      const judged = await approved;
      assert.deepEqual([judged.state, judged.verification?.outcome], ["succeeded", "not-recovered"]);
      assert.deepEqual(judged.verification?.evidence, ["check web.health.production is down", "not recovered within 2s"]);
      assert.ok((await store.events.list({ types: ["runbook.not-recovered"] })).some((e) => e.data.runId === unwell.id));

      const second = await runner.start("gated", { by: "alice" });
      await runner.settled(second.id);
      clock.advance(600_000);
      await waitUntil(async () => (await runner.get(second.id)).state === "aborted");
      const expired = await runner.get(second.id);
      assert.deepEqual([expired.approval?.decision, expired.steps.map((s) => s.state)], ["expired", ["aborted", "pending"]]);
      assert.match(expired.reason!, /expired: nobody approved it within 10m/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("runbook run command", () => {
  it("captures the output redacted, and ends the process group at its timeout", async () => {
    redactor.add("unit-secret", "s3cr3t-value-for-unit");
    const clock = new ManualClock();
    const ok = await runCommand("echo token=s3cr3t-value-for-unit; echo to-stderr >&2; exit 3", { cwd: tmpdir(), env: {}, timeoutMs: 60_000, clock });
    assert.equal(ok.code, 3);
    assert.doesNotMatch(ok.output, /s3cr3t-value-for-unit/);
    assert.match(ok.output, /token=\[REDACTED:unit-secret\]/);
    assert.match(ok.output, /to-stderr/);
    const slow = runCommand("sleep 30 & sleep 30; echo never", { cwd: tmpdir(), env: {}, timeoutMs: 1000, clock });
    while (clock.pendingSleepers === 0) await new Promise((r) => setImmediate(r));
    clock.advance(1000);
    const ended = await slow;
    assert.deepEqual([ended.timedOut, ended.code], [true, null]);
    assert.doesNotMatch(ended.output, /never/);
  });
});
