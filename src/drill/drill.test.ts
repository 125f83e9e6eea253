import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { isEngineError, ManualClock } from "../core/index.js";
import { SqliteStore, type Store } from "../store/index.js";
import { DrillRunner, DrillSchedule, drillsSchemaFor, judge, nextRun, type DrillAction, type DrillDefinition, type DrillOutcome } from "./index.js";

const declared = { services: ["web", "api"], environments: ["staging", "production"] };
const parse = (drills: unknown) => drillsSchemaFor(declared).safeParse(drills);
const problems = (drills: unknown) => {
  const parsed = parse(drills);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("drills: config", () => {
  it("resolves a drill: the first environment by default, the fault, the pass rule and the load with their defaults", () => {
    const parsed = parse({ "web-rollback": { type: "rollback", service: "web", schedule: "0 3 * * 1", fault: { error_rate: "20%", latency: "300ms" } } });
    assert.ok(parsed.success);
    assert.deepEqual(parsed.data, [
      {
        name: "web-rollback",
        type: "rollback",
        service: "web",
        environment: "staging",
        schedule: "0 3 * * 1",
        fault: { errorRate: 0.2, latencyMs: 300 },
        pass: { recoverWithinMs: 15_000, maxFailedOutsideFault: 0, maxFailed: undefined },
        load: { rps: 20, path: undefined },
        timeoutMs: 45_000,
      },
    ]);
  });

  it("refuses what cannot be drilled, each problem at its path", () => {
    assert.deepEqual(problems({ a: { type: "rollback", service: "web" } }), ["a.fault: a rollback drill needs a fault: error_rate (e.g. 20%) and/or latency (e.g. 300ms)"]);
    assert.deepEqual(problems({ a: { type: "kill", service: "web", fault: { error_rate: "5%" } } }), ["a.fault: a kill drill has no fault to declare (it is the kill itself); only rollback drills take one"]);
    assert.deepEqual(problems({ a: { type: "kill", service: "db" } }), ['a.service: no service named "db" (declared: web, api)']);
    assert.deepEqual(problems({ a: { type: "kill", service: "web", environment: "prod" } }), ['a.environment: no environment named "prod" (the chain is staging → production)']);
    assert.deepEqual(problems({ a: { type: "kill", service: "web", environment: "production" } }), ["a.allow_production: production is the last environment of the chain (production): a drill there needs allow_production: true"]);
    assert.ok(parse({ a: { type: "kill", service: "web", environment: "production", allow_production: true } }).success);
    assert.deepEqual(problems({ a: { type: "kill", service: "web", schedule: "every monday" } }), [
      'a.schedule: "every monday" is not a cron schedule: invalid configuration format (\'every monday\'), exactly five, six, or seven space separated parts are required.',
    ]);
    assert.match(problems({ a: { type: "rollback", service: "web", fault: { error_rate: "120%" } } })[0]!, /^a\.fault\.error_rate: "120%" is not an error rate/);
    assert.match(problems({ a: { type: "explode", service: "web" } })[0]!, /^a\.type: /);
    assert.deepEqual(problems({ a: { type: "restart", service: "web", schedule: "0 3 * * 1" } }), ["a.schedule: a restart drill restarts the engine, so the engine cannot run it on a schedule: run `engineroom drill run <name>` (from cron, if you like)"]);
    assert.equal(parse({ a: { type: "kill", service: "web", pass: { recover_in: "5s" } } }).success, false);
  });
});

describe("drills: pass rules", () => {
  const drill = (pass: Partial<DrillDefinition["pass"]> = {}): DrillDefinition => ({
    name: "d",
    type: "rollback",
    service: "web",
    environment: "staging",
    schedule: undefined,
    fault: { errorRate: 0.2 },
    pass: { recoverWithinMs: 15_000, maxFailedOutsideFault: 0, maxFailed: undefined, ...pass },
    load: { rps: 20, path: undefined },
    timeoutMs: 45_000,
  });
  const measured = (healthyAfterMs: number | null, failedOutsideFault = 0, failedInsideFault = 10) => ({
    timings: { detectedAfterMs: 2000, rolledBackAfterMs: 2200, healthyAfterMs },
    requests: { sent: 200, failed: failedInsideFault + failedOutsideFault, failedInsideFault, failedOutsideFault },
  });

  it("passes when it recovered within the limit and nothing failed outside the fault", () => {
    const verdict = judge(drill(), measured(2400));
    assert.equal(verdict.passed, true);
    assert.deepEqual(verdict.rules.map((r) => [r.rule, r.passed]), [["recover_within: 15s", true], ["max_failed_requests_outside_fault: 0", true]]);
    assert.equal(verdict.reason, "rollback drill d: detected after 2s, rolled back after 2.2s, healthy after 2.4s; 0 of 200 requests failed outside the fault, 10 inside it");
  });

  it("fails on a slow recovery, no recovery, failures outside the fault, too many failures, or a drill that did not get through", () => {
    assert.equal(judge(drill(), measured(15_001)).reason, "recover_within: 15s: healthy after 15s");
    assert.equal(judge(drill(), measured(null)).reason, "recover_within: 15s: did not recover before the drill ended");
    assert.equal(judge(drill(), measured(2400, 1)).reason, "max_failed_requests_outside_fault: 0: 1 of 200 requests failed outside the fault");
    assert.equal(judge(drill({ maxFailedOutsideFault: 1 }), measured(2400, 1)).passed, true);
    assert.equal(judge(drill({ maxFailed: 5 }), measured(2400)).reason, "max_failed_requests: 5: 10 of 200 requests failed");
    assert.equal(judge(drill(), { ...measured(2400), error: "the watch did not roll it back" }).reason, "completed: the watch did not roll it back");
  });
});

describe("drills: schedule and runner on a ManualClock", () => {
  let clock: ManualClock;
  let store: Store;
  let app: Server;
  let port: number;
  before(async () => {
    app = createServer((_req, res) => res.writeHead(200).end("ok"));
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    port = (app.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => app.close(() => resolve())));
  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 5, 2, 58)); // a Monday, 02:58 UTC
    store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
  });
  afterEach(() => store.close());

  const definition = (overrides: Partial<DrillDefinition> = {}): DrillDefinition => ({
    name: "web-kill",
    type: "kill",
    service: "web",
    environment: "staging",
    schedule: "0 3 * * 1",
    fault: undefined,
    pass: { recoverWithinMs: 5_000, maxFailedOutsideFault: 0, maxFailed: undefined },
    load: { rps: 5, path: "/" },
    timeoutMs: 30_000,
    ...overrides,
  });
  /** A stand-in for the engine's kill (a named fake: no instance here): recovered `recoverMs` after its start, on the clock. */
  const fakeKill =
    (recoverMs: number): DrillAction =>
    async (_drill, context): Promise<DrillOutcome> => {
      const faultAt = clock.now();
      await clock.sleep(recoverMs, context.signal);
      const healthy = await context.probe();
      return { releaseId: "rel_1", faultAt, faultEndedAt: clock.now(), detectedAt: null, rolledBackAt: null, healthyAt: healthy ? clock.now() : null };
    };
  const runner = (action: DrillAction, ready: () => Promise<void> = async () => {}) =>
    new DrillRunner({ store, clock, actions: { kill: action, rollback: action, restart: action }, target: () => ({ host: "127.0.0.1", port, path: "/" }), ready });
  /** Moves the clock a second at a time until `done`, letting the real I/O (store, loopback HTTP) in between finish. */
  const advanceUntil = async (done: () => Promise<boolean>) => {
    for (let i = 0; i < 600 && !(await done()); i++) {
      await clock.advance(1000);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(await done(), "the condition was met while the clock moved");
  };

  it("computes the next run from the clock, strictly after it (UTC)", () => {
    assert.equal(nextRun("0 3 * * 1", Date.UTC(2026, 0, 5, 2, 58)), Date.UTC(2026, 0, 5, 3, 0));
    assert.equal(nextRun("0 3 * * 1", Date.UTC(2026, 0, 5, 3, 0)), Date.UTC(2026, 0, 12, 3, 0));
  });

  it("runs a scheduled drill when the manual clock passes its time, records it with its events, and schedules the next", async () => {
    const drills = runner(fakeKill(3_000));
    const schedule = new DrillSchedule({ drills: [definition()], clock, run: (d) => drills.runScheduled(d) });
    schedule.start();
    assert.equal(schedule.next("web-kill"), Date.UTC(2026, 0, 5, 3, 0));
    await clock.advance(60_000); // 02:59: not yet
    assert.deepEqual(await store.drills.list(), []);
    await advanceUntil(async () => (await store.drills.list())[0]?.state === "passed");
    const [run] = await store.drills.list();
    assert.equal(run!.startedAt, Date.UTC(2026, 0, 5, 3, 0));
    assert.equal(run!.trigger, "schedule");
    assert.equal(run!.timings.healthyAfterMs, 3_000);
    assert.ok(run!.requests.sent > 0, "the drill sent its own load");
    assert.equal(run!.requests.failed, 0);
    assert.equal(schedule.next("web-kill"), Date.UTC(2026, 0, 12, 3, 0));
    const events = await store.events.list({ types: ["drill."] });
    assert.deepEqual(events.map((e) => e.type), ["drill.started", "drill.finished"]);
    assert.equal(events[1]!.data.passed, true);
    await schedule.stop();
    await drills.stop();
  });

  it("records a drill that fails its rule as failed, and refuses a second drill while one runs (DRILL_BUSY)", async () => {
    const drills = runner(fakeKill(8_000));
    const first = drills.run(definition(), "cli");
    await advanceUntil(async () => (await store.drills.list()).length === 1);
    assert.equal(drills.running(), "web-kill");
    await assert.rejects(drills.run(definition({ name: "other" }), "cli"), (e) => isEngineError(e) && e.code === "DRILL_BUSY");
    await advanceUntil(async () => (await store.drills.list())[0]?.state !== "running");
    const run = await first;
    assert.equal(run.state, "failed");
    assert.equal(run.reason, "recover_within: 5s: healthy after 8s");
    const [finished] = await store.events.list({ types: ["drill.finished"] });
    assert.equal(finished!.data.passed, false);
    assert.equal(finished!.releaseId, "rel_1");
    assert.equal(drills.running(), undefined);
  });

  it("records nothing for a drill its readiness check refuses", async () => {
    const drills = runner(fakeKill(1_000), async () => {
      throw Object.assign(new Error("busy"), { code: "DRILL_BUSY" });
    });
    await assert.rejects(drills.run(definition(), "cli"), /busy/);
    assert.deepEqual(await store.drills.list(), []);
    assert.equal(drills.running(), undefined);
  });
});
