import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildDraft, derivedLearning, toBeWritten } from "./draft.js";
import { postmortemMarkdown } from "./markdown.js";
import { knownTimeline, rolledBackIncident, t0 } from "./test-support.js";

const facts = (incident = rolledBackIncident()) => ({
  incident,
  timeline: knownTimeline,
  traffic: [{ where: "web v2 in production", service: "web", environment: "production", releaseId: "rel_2", fromMs: t0, toMs: t0 + 41_000, requests: 812, errors: 187 }],
  budgets: [{ slo: "web-availability", service: "web", environment: "production", kind: "availability", target: 99.9, window: "30d", allowedBad: 1000, budgetLeft: 81.3 }],
  routes: ["web in production: */"],
  actions: [{ id: "act_1", incidentId: "inc_test_1", type: "prevent" as const, text: "canary the config change", owner: "alice", due: "2026-12-31", state: "open" as const, createdAt: t0 + 700_000, createdBy: "alice", closedAt: null, closedBy: null }],
  now: t0 + 800_000,
});

describe("post-mortem draft on a known event history", () => {
  it("fills every measurable field from the events and leaves root cause and lessons to people", () => {
    const d = buildDraft(facts());
    assert.equal(d.status, "draft");
    assert.equal(d.date, "2026-12-01");
    assert.deepEqual([d.impact.durationMs, d.impact.requests, d.impact.requestsFailed], [41_000, 812, 187], "the impact ended with the rollback");
    assert.equal(Math.round(d.impact.failedShare! * 1000), 230);
    assert.deepEqual(d.impact.budgets.map((b) => b.burnedPercent), [18.7]);
    assert.deepEqual(d.impact.routes, ["web in production: */"]);
    assert.deepEqual(d.trigger.releases[0]!.configDiff, [{ key: "env.ERROR_EVERY", to: "20" }]);
    assert.match(d.trigger.text, /web v2 in production: a new artifact, 1 config key\(s\) changed against v1; apply of engineroom.yaml by cli/);
    assert.equal(d.detection.how, "the release's watch rolled web v2 back by itself");
    assert.equal(d.detection.detectMs, 41_000);
    assert.equal(d.detection.signal, "analysis failed: error rate 23% > 5% (812 requests)");
    assert.deepEqual([d.response.acknowledgeMs, d.response.mitigateMs, d.response.resolveMs], [60_000, 43_000, 600_000]);
    assert.deepEqual([d.rootCause, d.lessons.wentWell, d.lessons.wentWrong, d.lessons.gotLucky], [null, null, null, null]);
    assert.match(d.summary, /^SEV2 incident of web in production: 187 of 812 requests failed \(23%\) for 41s\. It was detected 41s after the impact began/);
    assert.equal(derivedLearning(d), "web v2 in production: error rate 23% of 812 requests after deploy (config: env.ERROR_EVERY); rolled back in 41s");
  });

  it("writes the Google SRE template's sections as Markdown, the people's ones marked", () => {
    const md = postmortemMarkdown(buildDraft(facts()));
    for (const section of ["## Summary", "## Impact (measured)", "## Root cause", "## Trigger (measured)", "## Detection (measured)", "## Response (measured)", "## Timeline (measured, UTC)", "## Action items", "## Lessons learned", "### What went well", "### What went wrong", "### Where we got lucky"]) {
      assert.ok(md.includes(`\n${section}\n`), section);
    }
    assert.equal(md.split(toBeWritten).length - 1, 1 + 1 + 3, "the marker in the header note, root cause and three lessons");
    assert.match(md, /\| status \| draft \|/);
    assert.match(md, /- Requests failed: 187 of 812 \(23%\)/);
    assert.match(md, /web-availability \(availability 99\.9% over 30d, web in production\): 18\.7% of the budget; 81\.3% left now/);
    assert.match(md, /\| env\.ERROR_EVERY \| \(unset\) \| `20` \|/);
    assert.match(md, /\| acknowledged \(from the opening\) \| 1m \| alice \|/);
    assert.match(md, /\| 2026-12-01 10:00:41 \| release\.rolled-back \| analysis failed: error rate 23% > 5% \(812 requests\) \|/);
    assert.match(md, /\| act_1 \| prevent \| canary the config change \| alice \| 2026-12-31 \| open \|/);
  });

  it("measures an incident still going on, and one opened by hand, without inventing figures", () => {
    const open = rolledBackIncident({ state: "investigating", milestones: {}, ack: null, links: [], cause: { kind: "manual", ref: "alice" }, openedBy: "alice", signals: [] });
    const d = buildDraft({ ...facts(open), traffic: [], budgets: [], actions: [] });
    assert.deepEqual([d.impact.endedAt, d.impact.durationMs, d.impact.failedShare], [null, null, null]);
    assert.deepEqual([d.response.acknowledgeMs, d.response.resolveMs, d.detection.detectMs], [null, null, null]);
    assert.equal(d.detection.how, "opened by hand by alice");
    const md = postmortemMarkdown(d);
    assert.match(md, /- Duration: still going on/);
    assert.match(md, /No release is linked to this incident\./);
    assert.match(md, /None yet: `engineroom actions add inc_test_1/);
  });
});
