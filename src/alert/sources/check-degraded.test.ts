import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import { ManualClock } from "../../core/index.js";
import { defineCheck, Monitor } from "../../monitor/index.js";
import { closed, listening } from "../../monitor/checks/test-support.js";
import { SqliteStore } from "../../store/index.js";
import type { AlertSignal } from "../types.js";
import { CheckAlerts } from "./check-alerts.js";

describe("degraded checks", () => {
  it("a slow but passing http check is degraded after 3 runs, fires check-degraded (ticket), and recovers after 2 fast passes", async () => {
    const clock = new ManualClock();
    const store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    let delayMs = 80;
    const http = createServer((_req, res) => void setTimeout(() => res.writeHead(200).end("ok"), delayMs));
    const port = await listening(http);
    const monitor = new Monitor({ store, clock });
    const signals: AlertSignal[] = [];
    const source = new CheckAlerts({ monitor, sink: { report: (s) => signals.push(s) }, clock });
    try {
      const site = defineCheck(
        "site",
        { type: "http", url: `http://127.0.0.1:${port}/`, interval: "5s", degraded_conditions: ["response_time < 50ms"], service: "web", environment: "production", severity: "page" },
        { path: ["checks", "site"] },
      );
      source.start();
      signals.length = 0; // the start's resync: nothing firing
      await monitor.start([site]);
      const runs = () => monitor.status("site")!.consecutivePasses + monitor.status("site")!.consecutiveFailures;
      const until = async (what: string, done: () => boolean) => {
        for (let i = 0; i < 400 && !done(); i++) {
          await clock.advance(500);
          await new Promise((r) => setTimeout(r, 20)); // the probe's real socket and the server's delay
        }
        assert.ok(done(), `timed out waiting for ${what}: ${JSON.stringify(monitor.status("site"))}`);
      };

      await until("2 runs", () => runs() >= 2);
      let status = monitor.status("site")!;
      assert.equal(status.state, "up", "a degraded run is a pass");
      assert.equal(status.lastResult?.ok, true);
      assert.equal(status.lastResult?.degraded, true);
      assert.match(status.lastResult?.error ?? "", /^degraded: response_time < 50ms \(response_time was \d+(\.\d+)?ms\)$/);
      assert.deepEqual(status.lastResult?.failed, [], "failed lists the conditions proper only");
      if (runs() === 2) {
        assert.equal(status.degraded, false, "not degraded before failure_threshold (3) degraded runs");
        assert.equal(signals.length, 0);
      }

      await until("degraded", () => monitor.status("site")!.degraded);
      assert.ok(runs() >= 3);
      const fired = signals.filter((s) => s.active);
      assert.deepEqual(
        fired.map((s) => [s.rule, s.severity]),
        [["check-degraded", "ticket"]],
      );
      assert.deepEqual(fired[0]!.labels, { service: "web", environment: "production", check: "site" });
      assert.match(fired[0]!.annotations.summary, /check site is degraded: degraded: response_time < 50ms/);

      delayMs = 0;
      const before = runs();
      await until("no longer degraded", () => !monitor.status("site")!.degraded);
      status = monitor.status("site")!;
      assert.equal(status.lastResult?.degraded, undefined);
      assert.ok(runs() - before >= 2, "2 clean passes");
      assert.equal(status.state, "up");
      const resolved = signals.filter((s) => !s.active);
      assert.deepEqual(resolved.map((s) => [s.rule, s.severity]), [["check-degraded", "ticket"]]);
      assert.deepEqual(resolved[0]!.labels, fired[0]!.labels, "the same alert resolves");

      const [summary] = await monitor.summaries();
      assert.equal(summary!.uptime["24h"], 1, "degraded runs count as passes");
      assert.equal(summary!.runs24h, runs());
      await monitor.settled();
      const events = await store.events.list({ types: ["check."] });
      assert.deepEqual(events.map((e) => e.type), ["check.degraded", "check.degraded-ended"]);
      assert.match(events[0]!.message, /check site is degraded: degraded: response_time < 50ms .*\(3 degraded runs in a row\)/);
      assert.equal(events[1]!.message, "check site is no longer degraded: 2 clean passes in a row");

      // A restarted source fires the degraded alert of a degraded check; down wins over degraded.
      delayMs = 80;
      await until("degraded again", () => monitor.status("site")!.degraded);
      await source.stop();
      const again: AlertSignal[] = [];
      const restarted = new CheckAlerts({ monitor, sink: { report: (s) => again.push(s) }, clock });
      restarted.start();
      assert.deepEqual(again.map((s) => [s.rule, s.active]), [["check-degraded", true], ["check-down", false], ["certificate-expiring", false]]);
      await closed(http);
      await until("down", () => monitor.status("site")!.state === "down");
      assert.equal(monitor.status("site")!.degraded, false, "a down check is not degraded");
      assert.deepEqual(again.slice(3).map((s) => [s.rule, s.active]), [["check-degraded", false], ["check-down", true]]);
      await restarted.stop();
    } finally {
      await source.stop();
      await monitor.stop();
      if (http.listening) await closed(http);
      await store.close();
    }
  });
});
