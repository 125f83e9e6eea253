import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { SqliteStore } from "../store/index.js";
import { LearningLog } from "./learnings.js";

describe("learning log", () => {
  let store: SqliteStore;
  let dir: string;
  const clock = new ManualClock(Date.parse("2026-12-01T10:00:00Z"));
  before(async () => {
    store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    dir = await mkdtemp(join(tmpdir(), "er-learnings-"));
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("appends dated entries once per key, lists them per service, exports a Markdown table", async () => {
    const path = join(dir, "postmortems", "learning-log.md");
    const log = new LearningLog({ store, clock, exportPath: path });
    const first = await log.append({ learning: "web v3: error rate 23% after deploy;\n rolled back in 41 s", source: "incident inc_1", services: ["web"], environment: "production", key: "incident:inc_1" });
    assert.equal(first.learning, "web v3: error rate 23% after deploy; rolled back in 41 s");
    assert.equal(first.date, clock.now());
    const again = await log.append({ learning: "something else", source: "incident inc_1", services: ["web"], key: "incident:inc_1" });
    assert.equal(again.id, first.id);
    clock.advance(86_400_000);
    await log.append({ learning: "a | pipe in the text", source: "alice", services: ["web", "api"] });
    await log.append({ date: Date.parse("2026-11-30T08:00:00Z"), learning: "drill passed: rollback in 4 s", source: "drill nightly", services: ["api"], environment: "staging" });
    assert.deepEqual((await log.list()).map((e) => e.source), ["drill nightly", "incident inc_1", "alice"]);
    assert.deepEqual((await log.list({ service: "api" })).map((e) => e.source), ["drill nightly", "alice"]);
    assert.deepEqual((await log.list({ since: Date.parse("2026-12-01T00:00:00Z") })).map((e) => e.source), ["incident inc_1", "alice"]);
    const latest = await log.latest(["web", "api", "worker"], 1);
    assert.deepEqual(Object.fromEntries(Object.entries(latest).map(([s, l]) => [s, l.map((e) => e.source)])), { web: ["alice"], api: ["alice"] });
    const markdown = await readFile(path, "utf8");
    assert.match(markdown, /\| date \| learning \| source \|/);
    assert.match(markdown, /\| 2026-11-30 \| drill passed: rollback in 4 s \| drill nightly \|\n\| 2026-12-01 \| web v3: error rate 23% after deploy; rolled back in 41 s \| incident inc_1 \|\n\| 2026-12-02 \| a \\\| pipe in the text \| alice \|/);
  });

  it("refuses an entry without text or service, and appends nothing", async () => {
    const log = new LearningLog({ store, clock });
    const before = (await log.list()).length;
    await assert.rejects(log.append({ learning: "  ", source: "alice", services: ["web"] }), { code: "LEARNING_INVALID" });
    await assert.rejects(log.append({ learning: "text", source: "alice", services: [] }), { code: "LEARNING_INVALID" });
    assert.equal((await log.list()).length, before);
  });
});
