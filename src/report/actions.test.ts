import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderReport } from "../cli/report.js";
import { ManualClock } from "../core/index.js";
import { SqliteStore, type ActionItem } from "../store/index.js";
import { collectReport, renderReportHtml } from "./index.js";

describe("the report's open action items", () => {
  it("lists the open ones, oldest first, with their age and whether they are overdue, as JSON, table and page", async () => {
    const day = 86_400_000;
    const clock = new ManualClock(Date.parse("2026-12-20T12:00:00Z"));
    const store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    try {
      const until = clock.now();
      const item = (id: string, ageDays: number, due: string, state: ActionItem["state"] = "open"): ActionItem => ({
        id, incidentId: "inc_1", type: "prevent", text: `fix ${id}`, owner: "alice", due, state, createdAt: until - ageDays * day, createdBy: "alice", closedAt: null, closedBy: null,
      });
      await store.actions.put(item("act_new", 2, "2026-12-31"));
      await store.actions.put(item("act_old", 12, "2026-12-15"));
      await store.actions.put(item("act_done", 30, "2026-12-01", "closed"));
      const report = await collectReport(store, { since: until - 30 * day, until, production: "production", services: [] });
      assert.deepEqual(report.actionItems.items.map((a) => [a.id, a.ageMs / day, a.overdue]), [["act_old", 12, true], ["act_new", 2, false]]);
      assert.equal(report.actionItems.text, "2 open, 1 overdue; the oldest 12 day(s) old");
      assert.match(renderReport(report), /open action items \(2 open, 1 overdue; the oldest 12 day\(s\) old\)\n.*\nact_old\s+inc_1\s+prevent\s+alice\s+2026-12-15 \(overdue\)\s+12d\s+fix act_old/);
      assert.match(renderReportHtml(report, { project: "p" }), /<h2>Open action items<\/h2><p>2 open, 1 overdue[^<]*<\/p><table/);
    } finally {
      await store.close();
    }
  });
});
