import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { SqliteStore } from "../store/index.js";
import { ActionItems } from "./actions.js";
import { postmortemsConfigSchema } from "./config.js";
import { LearningLog } from "./learnings.js";
import { Postmortems, type PostmortemSources } from "./service.js";
import { knownTimeline, rolledBackIncident, t0 } from "./test-support.js";

describe("post-mortems kept in the project and the store", () => {
  let store: SqliteStore;
  let dir: string;
  let postmortems: Postmortems;
  let actions: ActionItems;
  let learnings: LearningLog;
  const clock = new ManualClock(t0 + 700_000);
  // The engine's traffic and SLOs, as known numbers: 187 of 812 requests of web v2 failed.
  const sources: PostmortemSources = {
    requests: async (q) => (q.releaseId === "rel_2" ? { requests: 812, errors: 187 } : { requests: 0, errors: 0 }),
    budgets: async () => [],
    routes: () => ["*/"],
    timeline: async () => knownTimeline,
  };
  const file = "postmortems/2026-12-01-inc_test_1.md";

  before(async () => {
    store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    dir = await mkdtemp(join(tmpdir(), "er-postmortems-"));
    learnings = new LearningLog({ store, clock, exportPath: join(dir, "postmortems", "learning-log.md") });
    postmortems = new Postmortems({ store, clock, config: postmortemsConfigSchema.parse({}), projectDir: dir, sources, learnings });
    actions = new ActionItems({ store, clock, onChange: (id) => postmortems.refresh(id) });
    await store.incidents.put(rolledBackIncident());
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("drafts the post-mortem of a resolved incident once, to its file and the store, and logs its learning once", async () => {
    const view = (await postmortems.resolved("inc_test_1"))!;
    assert.equal(view.path, file);
    assert.equal(view.edited, false);
    const text = await readFile(join(dir, file), "utf8");
    assert.equal(text, view.markdown);
    assert.match(text, /- Requests failed: 187 of 812 \(23%\)/);
    assert.equal((await store.postmortems.get("inc_test_1"))?.markdown, text);
    await postmortems.resolved("inc_test_1");
    const log = await learnings.list();
    assert.equal(log.length, 1);
    assert.equal(log[0]!.learning, "web v2 in production: error rate 23% of 812 requests after deploy (config: env.ERROR_EVERY); rolled back in 41s");
    assert.equal(log[0]!.source, "incident inc_test_1");
    assert.equal(log[0]!.date, t0 + 600_000);
    assert.match(await readFile(join(dir, "postmortems", "learning-log.md"), "utf8"), /\| 2026-12-01 \| web v2 in production: error rate 23%/);
    const drafted = await store.events.list({ types: ["postmortem.drafted"] });
    assert.equal(drafted.length, 1);
    assert.equal(drafted[0]!.data.incident, "inc_test_1");
  });

  it("tracks action items; the post-mortem lists them while its file is the engine's", async () => {
    const item = await actions.add({ incidentId: "inc_test_1", type: "prevent", owner: "alice", due: "2026-12-31", text: "canary config changes", by: "alice" });
    assert.equal(item.state, "open");
    assert.match(await readFile(join(dir, file), "utf8"), new RegExp(`\\| ${item.id} \\| prevent \\| canary config changes \\| alice \\| 2026-12-31 \\| open \\|`));
    clock.advance(86_400_000 * 40);
    const [open] = await actions.open();
    assert.deepEqual([open!.id, open!.ageMs, open!.overdue], [item.id, 86_400_000 * 40, true]);
    for (const bad of [{ type: "fix" }, { owner: " " }, { due: "2026-02-30" }, { due: "31/12/2026" }, { text: "" }]) {
      await assert.rejects(actions.add({ incidentId: "inc_test_1", type: "process", owner: "bob", due: "2026-12-31", text: "x", by: "bob", ...bad }), { code: "ACTION_INVALID" }, JSON.stringify(bad));
    }
    await assert.rejects(actions.add({ incidentId: "inc_nope", type: "process", owner: "bob", due: "2026-12-31", text: "x", by: "bob" }), { code: "INCIDENT_NOT_FOUND" });
    await assert.rejects(actions.close("act_nope", "bob"), { code: "ACTION_NOT_FOUND" });
    assert.equal((await actions.list()).length, 1, "a refused item is not kept");
  });

  it("never overwrites a file a person edited: a refresh leaves it, a regenerate goes beside it", async () => {
    const edited = (await readFile(join(dir, file), "utf8")).replace("## Root cause\n\n_To be written by the responders_", "## Root cause\n\nERROR_EVERY was set by mistake.");
    await writeFile(join(dir, file), edited);
    const [item] = await actions.list({ open: true });
    const closed = await actions.close(item!.id, "bob");
    assert.deepEqual([closed.state, closed.closedBy], ["closed", "bob"]);
    assert.equal(await readFile(join(dir, file), "utf8"), edited, "the person's file is left alone");
    assert.match((await store.postmortems.get("inc_test_1"))!.markdown, /\| closed \|/, "the store has the new draft");
    const shown = await postmortems.show("inc_test_1");
    assert.deepEqual([shown.edited, shown.markdown], [true, edited]);
    const again = await postmortems.show("inc_test_1", { regenerate: true, by: "carol" });
    assert.equal(again.draftPath, "postmortems/2026-12-01-inc_test_1.draft.md");
    assert.equal(await readFile(join(dir, file), "utf8"), edited);
    assert.match(await readFile(join(dir, again.draftPath!), "utf8"), /## Root cause\n\n_To be written by the responders_/);
  });

  it("drafts only for SEV1–SEV2 or a rollback unless asked; an unknown incident is INCIDENT_NOT_FOUND", async () => {
    await store.incidents.put(rolledBackIncident({ id: "inc_test_2", severity: "SEV3", cause: { kind: "manual", ref: "alice" }, signals: [], links: [], releaseIds: [] }));
    await assert.rejects(postmortems.show("inc_test_2"), { code: "POSTMORTEM_NOT_FOUND", message: /SEV3 without a rollback/ });
    assert.equal(await postmortems.resolved("inc_test_2"), undefined);
    assert.equal((await learnings.list()).length, 2, "every resolved incident logs its learning");
    const asked = await postmortems.show("inc_test_2", { regenerate: true });
    assert.equal(asked.path, "postmortems/2026-12-01-inc_test_2.md");
    await assert.rejects(postmortems.show("inc_nope"), { code: "INCIDENT_NOT_FOUND" });
    // An alert without service labels: its post-mortem, and no learning (it is about no service).
    await store.incidents.put(rolledBackIncident({ id: "inc_test_3", severity: "SEV1", services: [], environments: [], cause: { kind: "alert", ref: "alt_1" }, signals: [], links: [], releaseIds: [] }));
    assert.equal((await postmortems.resolved("inc_test_3"))?.path, "postmortems/2026-12-01-inc_test_3.md");
    assert.equal((await learnings.list()).length, 2);
  });
});
