import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { SloEvaluator } from "./evaluator.js";
import { evaluateSlo } from "./status.js";
import { bucket, minute, sloRig, type SloRig } from "./test-support.js";

const availability = { web: { service: "web", kind: "availability", target: 99.9, environments: ["production"] } };

describe("SLO burn alerts", () => {
  let rig: SloRig;
  afterEach(() => rig?.close());

  const pageOf = (statuses: Awaited<ReturnType<SloRig["minute"]>>) => statuses[0]!.alerts.find((a) => a.severity === "page")!;
  const ticketOf = (statuses: Awaited<ReturnType<SloRig["minute"]>>) => statuses[0]!.alerts.find((a) => a.severity === "ticket")!;

  it("pages on a 2% error rate at 99.9% when the 1 h burn reaches 14.4×, at the minute the arithmetic says, with one alert per severity", async () => {
    rig = await sloRig(availability);
    // 6 hours at 10 req/s without errors, so that only the 1 h / 5 m pair can fire first.
    for (let m = 0; m < 360; m++) await rig.minute(600);
    assert.equal(rig.sink.signals.filter((s) => s.active).length, 0);
    // Then 2% errors: 12 of 600 a minute. After x minutes the last hour holds 12x bad of 36,000:
    // x/3000 ≥ 14.4 × 0.001 first at x = 44 (43.2 rounded up); its 5 m window is at 20× from x = 5.
    // The ticket (1× over 3 d and 6 h): the 6 h window holds 12x of 216,000, ≥ 0.1% at x = 18, and
    // the 3 d one 12x of 600 × (360 + x), ≥ 0.1% at x = 19 (18.95 rounded up).
    let pagedAt: number | undefined;
    let ticketAt: number | undefined;
    let pagedTo: number | undefined;
    for (let x = 1; x <= 110; x++) {
      const statuses = await rig.minute(588, 12);
      if (pageOf(statuses).active && pagedAt === undefined) {
        pagedAt = x;
        pagedTo = statuses[0]!.to;
        assert.deepEqual(pageOf(statuses).firing, ["14.4× over 1h and 5m"]);
        assert.equal(statuses[0]!.burnRates.find((b) => b.window === "1h")!.burnRate, 14.6667, "528 bad of 36,000 in the hour, over 0.001");
        assert.equal(pageOf(statuses).since, pagedTo);
      }
      if (ticketOf(statuses).active && ticketAt === undefined) ticketAt = x;
      if (x === 60) assert.equal(rig.sink.signals.filter((s) => s.severity === "page").at(-1)!.annotations.burn_rate_1h, "20", "an hour of 2% errors: 20×");
      if (x === 108) assert.deepEqual(pageOf(statuses).firing, ["14.4× over 1h and 5m", "6× over 6h and 30m"], "6 h: 1,296 of 216,000 = 6× at x = 108");
      if (x === 107) assert.deepEqual(pageOf(statuses).firing, ["14.4× over 1h and 5m"]);
    }
    assert.equal(pagedAt, 44);
    assert.equal(ticketAt, 19);
    // Both pairs of the page fire, yet it is one alert: one per SLO, environment and severity.
    assert.deepEqual(rig.sink.alerts().sort(), [
      'slo-burn page {"slo":"web","service":"web","environment":"production"}',
      'slo-burn ticket {"slo":"web","service":"web","environment":"production"}',
    ]);
    const page = rig.sink.signals.filter((s) => s.severity === "page" && s.active);
    assert.ok(page.every((s) => s.since === pagedTo), "the page keeps the time it began");
    assert.match(page.at(-1)!.annotations.policy!, /page at 14\.4× over 1h and 5m, or 6× over 6h and 30m; ticket at 1× over 3d and 6h; .*at least 10 bad events/);

    // Errors stop. The 14.4× pair stops once its 5 m window is under 1.44% (k = 2 clean minutes:
    // 36 bad of 3,000); the 6× pair once its 30 m window is under 0.6% (k = 22: 96 of 18,000).
    let resolvedAt: number | undefined;
    for (let k = 1; k <= 25; k++) {
      const statuses = await rig.minute(600);
      if (k === 2) assert.deepEqual(pageOf(statuses).firing, ["6× over 6h and 30m"]);
      if (!pageOf(statuses).active && resolvedAt === undefined) resolvedAt = k;
    }
    assert.equal(resolvedAt, 22);
    const pages = rig.sink.signals.filter((s) => s.severity === "page");
    assert.equal(pages[0]!.active, false, "the first evaluation says where each alert stands");
    const resolved = pages.slice(pages.findIndex((s) => s.active)).filter((s) => !s.active);
    assert.equal(resolved.length, 1, "resolved once, not at every evaluation");
    assert.equal(pages.at(-1)!.active, false);
    assert.ok(ticketOf(await rig.evaluator.statuses()).active, "the ticket's 6 h window still burns");
  });

  it("does not page on one error at low traffic, and does page when a quiet service fails for real", async () => {
    rig = await sloRig(availability);
    for (let m = 0; m < 90; m++) await rig.minute(1);
    let statuses = await rig.minute(0, 1);
    // One bad request in the last hour's 60: 1.67% > 1.44%, and 20% of the last 5 minutes — fast
    // enough by the ratio alone, but one error is not evidence.
    assert.equal(pageOf(statuses).active, false);
    assert.deepEqual(pageOf(statuses).heldByLowTraffic, ["14.4× over 1h and 5m", "6× over 6h and 30m"]);
    for (let m = 0; m < 8; m++) statuses = await rig.minute(0, 1);
    assert.equal(pageOf(statuses).active, false, "9 bad events: still under the guard of 10");
    statuses = await rig.minute(0, 1);
    assert.equal(pageOf(statuses).active, true, "10 minutes of every request failing");
    assert.equal(rig.sink.signals.filter((s) => s.active && s.severity === "page").length, 1);
  });

  it("computes budget left, attained and time to exhaustion exactly, minute-exact at the window's edges", async () => {
    rig = await sloRig({ web: { service: "web", kind: "availability", target: 99.5, window: "1d", environments: ["production"] } });
    const to = rig.clock.now() + 2 * 24 * 60 * minute;
    const from = to - 24 * 60 * minute;
    await rig.store.requests.record(
      [
        bucket(from - minute, 0, 1000), // just outside the window
        bucket(from, 999, 1), // the window's first minute
        bucket(to - 60 * minute, 1000, 3), // an hour before its end
        bucket(to - minute, 997, 3), // its last minute
        bucket(to, 0, 1000), // the next minute: not yet in it
      ].map((b) => ({ ...b, time: b.time - (b.time % minute), upstreamErrors: 0, upstreamTimeouts: 0, retried: 0, clientAborts: 0 })),
    );
    const status = await evaluateSlo(rig.slos[0]!, "production", to, { requests: rig.store.requests });
    assert.deepEqual(status.events, { valid: 3003, bad: 7, good: 2996 });
    assert.equal(status.allowedBad, 15.015, "0.5% of 3,003");
    // 1 − 7 / 15.015 = 8.015 / 15.015 = 53.38%
    assert.equal(status.budgetLeft, 53.38);
    assert.equal(status.attained, 99.7669, "2,996 / 3,003");
    // The current window of a 1 d SLO is 1 h × 1/30 = 2 m: 3 bad of 1,000 → 0.3% / 0.5% = 0.6×.
    const current = status.burnRates.find((b) => b.window === "2m")!;
    assert.deepEqual([current.valid, current.bad, current.burnRate], [1000, 3, 0.6]);
    // left × window / burn = (8.015 / 15.015) × 86,400,000 / 0.6 ms
    assert.equal(status.exhaustion.ms, Math.round((8015 * 86_400_000) / (15015 * 0.6)));
    assert.equal(status.exhausted, false);
    assert.equal(String(status.budgetLeft), "53.38");
  });

  it("counts a latency SLO's share exactly from the histogram's buckets", async () => {
    rig = await sloRig({ fast: { service: "web", kind: "latency", target: 99, threshold: "300ms", environments: ["production"] } });
    const latency = [5, 5, 5, 5, 5, 5, 5, 5, 7, 2, 1, 0, 0, 0, 0, 1]; // 300 ms is bound 8: 47 at or under it, 4 over
    rig.recorder.add([{ ...bucket(rig.clock.now() + 1000, 0), status: { "1xx": 0, "2xx": 51, "3xx": 0, "4xx": 0, "5xx": 0 }, latency }]);
    await rig.clock.advance(65_000);
    const [status] = await rig.evaluator.evaluate();
    assert.deepEqual(status!.events, { valid: 51, bad: 4, good: 47 });
    assert.equal(status!.attained, 92.1569);
    assert.equal(status!.threshold, "300ms");
  });

  it("records a budget's exhaustion and recovery once each, and a restarted evaluator does not record them again", async () => {
    rig = await sloRig({ web: { service: "web", kind: "availability", target: 99.9, window: "1h", environments: ["production"] } });
    for (let m = 0; m < 5; m++) await rig.minute(100);
    await rig.minute(80, 20); // minute 5: 20 bad; 600 valid so far against 0.6 allowed
    for (let m = 0; m < 3; m++) await rig.minute(100);
    const types = async () => (await rig.store.events.list({ types: ["slo."] })).map((e) => e.type);
    assert.deepEqual(await types(), ["slo.budget-exhausted"]);
    const [exhausted] = await rig.store.events.list({ types: ["slo."] });
    assert.deepEqual(exhausted!.data, { slo: "web", budgetLeft: -3233.33, bad: 20, valid: 600, window: "1h" });
    const again = new SloEvaluator({ slos: rig.slos, clock: rig.clock, requests: rig.store.requests, events: rig.store.events, recordedUntil: async () => rig.recorder.recordedUntil });
    await again.evaluate();
    assert.deepEqual(await types(), ["slo.budget-exhausted"], "a restarted engine knows it from the event log");
    // The bad minute leaves the 1 h window once the window ends at minute 66.
    for (let m = 0; m < 56; m++) await rig.minute(100);
    assert.deepEqual(await types(), ["slo.budget-exhausted"]);
    await rig.minute(100);
    assert.deepEqual(await types(), ["slo.budget-exhausted", "slo.budget-recovered"]);
  });

  it("evaluates every 30 s on its clock, over the minutes closed 5 s after their end", async () => {
    rig = await sloRig(availability);
    const asleep = async () => {
      while (rig.clock.pendingSleepers === 0) await new Promise((r) => setTimeout(r, 1));
    };
    const paging = () => rig.sink.signals.some((s) => s.active && s.severity === "page");
    rig.evaluator.start();
    await asleep();
    assert.equal(rig.sink.signals.length, 2, "at once: where the page and the ticket stand");
    rig.recorder.add([bucket(rig.clock.now() + 10_000, 0, 600)]); // a minute of every request failing
    await rig.clock.advance(30_000);
    await asleep();
    assert.equal(paging(), false, "at 30 s the minute is still open");
    await rig.clock.advance(30_000);
    await asleep();
    assert.equal(paging(), false, "at 60 s it waits out its 5 s grace");
    await rig.clock.advance(30_000);
    await asleep();
    assert.equal(paging(), true, "at 90 s it is recorded, and the page fires");
    await rig.evaluator.stop();
  });

  it("shows the budget untouched and no burn while there is no traffic", async () => {
    rig = await sloRig(availability);
    const [status] = await rig.minute(0);
    assert.equal(status!.budgetLeft, 100);
    assert.equal(status!.attained, null);
    assert.ok(status!.burnRates.every((b) => b.burnRate === null));
    assert.equal(status!.exhaustion.ms, null);
  });
});
