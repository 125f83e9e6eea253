import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ApiClient, createApi } from "../../src/api/index.js";
import type { EngineError } from "../../src/core/index.js";
import type { PostmortemView } from "../../src/postmortem/index.js";
import type { Report } from "../../src/report/index.js";
import type { ActionItem, EngineEvent, IncidentRecord, LearningEntry, Release } from "../../src/store/index.js";
import { run } from "../helpers/cli.js";
import { startPacedLoad } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Post-mortems end to end over real parts: a config change applied (ERROR_EVERY: every 20th request
 * fails) makes a release its watch rolls back → the engine opens an incident linked to the release
 * with its diff, mitigated by the rollback → a person acknowledges and resolves it → the engine
 * writes the post-mortem to postmortems/<date>-<id>.md with the measured impact (requests failed,
 * duration) and appends the incident's learning to the log; action items are added, listed by the
 * post-mortem and the report, and closed; plan and deploy show what was learned about web; a file a
 * person edited is never overwritten.
 */
describe("post-mortems, end to end: a faulty release rolled back → incident → resolved → post-mortem, learning log, action items", () => {
  let p: TestProject;
  let load: ReturnType<typeof startPacedLoad>;
  let incident: IncidentRecord;
  let view: PostmortemView;

  before(async () => {
    const config = testConfig()
      .replace("watch: 5m", "watch: 8s")
      .replace("    restart:\n", "    analysis:\n      interval: 500ms\n      baseline: 20s\n    restart:\n");
    p = await startProject(config);
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    load = startPacedLoad(p.proxyUrl, { rps: 100, maxMs: 180_000 });
    await new Promise((r) => setTimeout(r, 4000)); // a baseline for v1
  });
  after(async () => {
    await load?.stop();
    await p?.cleanup();
  });

  const releases = async () => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases")).releases;

  it("writes the post-mortem of the resolved incident with its measured impact, and logs what was learned", async () => {
    writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace("      GREETING: hi\n", '      GREETING: hi\n      ERROR_EVERY: "20"\n'));
    await p.api.stream("/v1/apply", {}, () => {});
    await waitFor("v2 rolled back by its watch", async () => (await releases()).some((r) => r.number === 2 && r.state === "rolled-back"), 30_000);
    const v2 = (await releases()).find((r) => r.number === 2)!;
    await waitFor("an incident", async () => (await p.api.get<{ incidents: IncidentRecord[] }>("/v1/incidents?all=true")).incidents.length > 0, 15_000);
    [incident] = (await p.api.get<{ incidents: IncidentRecord[] }>("/v1/incidents")).incidents as [IncidentRecord];
    assert.deepEqual([incident.cause, incident.state], [{ kind: "rollback", ref: v2.id }, "mitigated"]);

    // Not resolved yet: no post-mortem, and the answer says when there will be one.
    const early = await run(p.dir, ["postmortem", incident.id]);
    assert.equal(early.code, 2, early.out);
    assert.match(early.out, /POSTMORTEM_NOT_FOUND/);
    assert.match(early.out, /drafted when it is resolved/);

    await p.api.post(`/v1/incidents/${incident.id}/ack`, { by: "alice" });
    const resolved = await run(p.dir, ["incidents", "resolve", incident.id, "--note", "ERROR_EVERY was a mistake"]);
    assert.equal(resolved.code, 0, resolved.out);
    const file = join(p.dir, "postmortems", `${new Date(incident.openedAt).toISOString().slice(0, 10)}-${incident.id}.md`);
    await waitFor("the post-mortem file", () => existsSync(file), 20_000);
    await waitFor("the post-mortem in the store", async () => (await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=500")).events.some((e) => e.type === "postmortem.drafted"), 20_000);

    const shown = await run(p.dir, ["postmortem", incident.id, "--json"]);
    assert.equal(shown.code, 0, shown.out);
    view = JSON.parse(shown.out) as PostmortemView;
    const text = readFileSync(file, "utf8");
    assert.equal(view.markdown, text);
    assert.equal(view.edited, false);
    const { draft } = view;
    assert.equal(draft.status, "draft");
    assert.ok(draft.impact.requestsFailed > 0, `requests failed: ${draft.impact.requestsFailed} of ${draft.impact.requests}`);
    assert.ok(draft.impact.requests > draft.impact.requestsFailed);
    assert.ok(draft.impact.durationMs !== null && draft.impact.durationMs > 0, String(draft.impact.durationMs));
    assert.deepEqual(draft.trigger.releases.map((r) => [r.releaseId, r.configDiff]), [[v2.id, [{ key: "env.ERROR_EVERY", to: "20" }]]]);
    assert.equal(draft.detection.how, "the release's watch rolled web v2 back by itself");
    assert.ok(draft.response.acknowledgedBy === "alice" && draft.response.resolveMs !== null && draft.response.mitigatedBy === "engine");
    assert.match(text, new RegExp(`- Requests failed: ${draft.impact.requestsFailed} of ${draft.impact.requests} \\(`));
    assert.match(text, /- Duration: \d/);
    assert.match(text, /\| env\.ERROR_EVERY \| \(unset\) \| `20` \|/);
    assert.match(text, /## Root cause\n\n_To be written by the responders_/);
    assert.match(text, /\| \S+ \S+ \| release\.rolled-back \| web v2 in production is rolled-back: analysis failed/);
    assert.equal(draft.impact.durationMs, draft.detection.detectMs, "the impact ended with the rollback that detected it");

    const learned = await run(p.dir, ["learnings", "--json"]);
    assert.equal(learned.code, 0, learned.out);
    const entries = (JSON.parse(learned.out) as { learnings: LearningEntry[] }).learnings;
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.source, `incident ${incident.id}`);
    assert.match(entries[0]!.learning, /^web v2 in production: error rate \d+(\.\d)?% of \d+ requests after deploy \(config: env\.ERROR_EVERY\); rolled back in \d/);
    const recent = await run(p.dir, ["learnings", "list", "--since", "1h", "--json"]);
    assert.equal((JSON.parse(recent.out) as { learnings: LearningEntry[] }).learnings.length, 1, recent.out);
    const table = await run(p.dir, ["learnings", "--service", "web"]);
    assert.match(table.out, /date\s+learning\s+source\n\d{4}-\d\d-\d\d\s+web v2 in production: error rate/);
    assert.match(readFileSync(join(p.dir, "postmortems", "learning-log.md"), "utf8"), /\| web v2 in production: error rate .* \| incident inc_/);
  });

  it("tracks action items: added, listed by the post-mortem and the report with their age, closed", async () => {
    const added = await run(p.dir, ["actions", "add", incident.id, "canary every config change", "--type", "prevent", "--owner", "alice", "--due", "2099-12-31", "--json"]);
    assert.equal(added.code, 0, added.out);
    const item = JSON.parse(added.out) as ActionItem;
    assert.deepEqual([item.state, item.type, item.owner, item.due], ["open", "prevent", "alice", "2099-12-31"]);
    const bad = await run(p.dir, ["actions", "add", incident.id, "x", "--type", "fix", "--owner", "alice", "--due", "2099-12-31"]);
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.out, /ACTION_INVALID/);
    const open = await run(p.dir, ["actions", "list", "--open", "--json"]);
    assert.deepEqual((JSON.parse(open.out) as { actions: ActionItem[] }).actions.map((a) => a.id), [item.id]);
    await waitFor("the post-mortem lists it", () => readFileSync(join(p.dir, view.path), "utf8").includes(`| ${item.id} | prevent | canary every config change | alice | 2099-12-31 | open |`), 10_000);
    const report = await p.api.get<Report>("/v1/report?since=1d");
    assert.deepEqual(report.actionItems.items.map((a) => a.id), [item.id]);
    assert.ok(report.actionItems.items[0]!.ageMs >= 0);
    const printed = await run(p.dir, ["report"]);
    assert.match(printed.out, new RegExp(`open action items \\(1 open; the oldest 0 day\\(s\\) old\\)[\\s\\S]*${item.id}\\s+${incident.id}\\s+prevent\\s+alice\\s+2099-12-31`));
    const closed = await run(p.dir, ["actions", "close", item.id]);
    assert.equal(closed.code, 0, closed.out);
    const openNow = await run(p.dir, ["actions", "list", "--open", "--json"]);
    assert.deepEqual((JSON.parse(openNow.out) as { actions: ActionItem[] }).actions, [], "a closed item is not open");
    const every = await run(p.dir, ["actions", "--json"]);
    assert.deepEqual((JSON.parse(every.out) as { actions: ActionItem[] }).actions.map((a) => [a.id, a.state]), [[item.id, "closed"]]);
    assert.equal((await p.api.get<Report>("/v1/report?since=1d")).actionItems.open, 0);
    const missing = (await p.api.post("/v1/actions/act_nope/close", {}).catch((e) => e)) as EngineError;
    assert.equal(missing.code, "ACTION_NOT_FOUND");
    // Action items take the incident's responders' scope (rollback:production), as its own changes do.
    // (Tokens are the engine's: an API over the engine itself, beside the helper's.)
    const app = createApi({ engine: p.engine, token: p.token });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const address = `127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const admin = new ApiClient({ address, token: p.token });
      const token = async (name: string, scopes: string[]) => new ApiClient({ address, token: (await admin.post<{ token: string }>("/v1/tokens", { name, scopes })).token });
      const reader = await token("pm-reader", ["read"]);
      const responder = await token("pm-responder", ["rollback:production"]);
      assert.equal((await reader.get<{ actions: ActionItem[] }>("/v1/actions")).actions.length, 1);
      const refused = (await reader.post("/v1/actions", { incident: incident.id, type: "process", owner: "bob", due: "2099-01-31", text: "a runbook" }).catch((e) => e)) as EngineError;
      assert.equal(refused.code, "ACCESS_DENIED");
      const taken = await responder.post<ActionItem>("/v1/actions", { incident: incident.id, type: "process", owner: "bob", due: "2099-01-31", text: "a runbook for config rollbacks" });
      assert.equal((await responder.post<ActionItem>(`/v1/actions/${taken.id}/close`, {})).state, "closed");
    } finally {
      await app.close();
    }
  });

  it("shows what was learned about the services that plan and deploy touch", async () => {
    const mine = await run(p.dir, ["learnings", "add", "--service", "web", "a config change needs a canary"]);
    assert.equal(mine.code, 0, mine.out);
    const unknown = await run(p.dir, ["learnings", "add", "--service", "nope", "text"]);
    assert.equal(unknown.code, 2, unknown.out);
    assert.match(unknown.out, /SERVICE_UNKNOWN/);
    // engineroom.yaml still declares ERROR_EVERY, v1 serves without it: the plan changes web.
    const planned = await run(p.dir, ["plan"]);
    assert.equal(planned.code, 2, planned.out);
    assert.match(planned.out, /Learned before:\n {2}web {2}\d{4}-\d\d-\d\d {2}a config change needs a canary \(\S+\)\n {2}web {2}\d{4}-\d\d-\d\d {2}web v2 in production: error rate/);
    writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace('      ERROR_EVERY: "20"\n', ""));
    const deployed = await run(p.dir, ["deploy", "web", p.artifact({ version: "v3" })]);
    assert.equal(deployed.code, 0, deployed.out);
    assert.match(deployed.out, /Learned before:\n {2}web .*a config change needs a canary/);
    const both = await run(p.dir, ["learnings", "add", "--service", "web", "--service", "web", "--json", "said twice, kept once"]);
    assert.deepEqual((JSON.parse(both.out) as LearningEntry).services, ["web"], both.out);
    const none = await run(p.dir, ["learnings", "add", "no service"]);
    assert.equal(none.code, 2, none.out);
    assert.match(none.out, /LEARNING_INVALID/);
  });

  it("never overwrites a post-mortem a person edited: a regenerated draft goes beside it", async () => {
    const file = join(p.dir, view.path);
    const edited = readFileSync(file, "utf8").replace("## Root cause\n\n_To be written by the responders_", "## Root cause\n\nERROR_EVERY was set in production by mistake.");
    writeFileSync(file, edited);
    const again = await run(p.dir, ["postmortem", incident.id, "--regenerate"]);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /was edited by a person and is kept; the new draft is postmortems\/.*\.draft\.md/);
    assert.equal(readFileSync(file, "utf8"), edited);
    assert.ok(existsSync(file.replace(/\.md$/, ".draft.md")));
    const shown = await p.api.get<PostmortemView>(`/v1/incidents/${incident.id}/postmortem`);
    assert.deepEqual([shown.edited, shown.markdown], [true, edited]);
    const unknown = (await p.api.get(`/v1/incidents/inc_nope/postmortem`).catch((e) => e)) as EngineError;
    assert.equal(unknown.code, "INCIDENT_NOT_FOUND");
  });
});
