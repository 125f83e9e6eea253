import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { SqliteStore } from "../store/index.js";
import { RequestRecorder } from "./recorder.js";
import { bucket, minute } from "./test-support.js";

const hour = 60 * minute;
const day = 24 * hour;

describe("RequestRecorder", () => {
  let clock: ManualClock;
  let store: SqliteStore;
  beforeEach(async () => {
    clock = new ManualClock();
    store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
  });
  afterEach(() => store.close());

  const counts = (fromMs: number, toMs: number) => store.requests.counts({ service: "web", environment: "production", fromMs, toMs });

  it("folds per-second buckets into minutes per release, and writes a minute once its grace has passed", async () => {
    const recorder = new RequestRecorder({ history: store.requests, clock });
    await recorder.load(["production"]);
    const t0 = clock.now();
    for (let s = 0; s < 60; s++) recorder.add([bucket(t0 + s * 1000, 10, s % 20 === 0 ? 1 : 0), bucket(t0 + s * 1000, 1, 0, { releaseId: "rel_2" })]);
    recorder.add([bucket(t0 + minute, 5)]); // the next minute
    await clock.advance(minute + 4_000);
    assert.equal(await recorder.flush(), 0, "within the grace: nothing written");
    assert.equal(recorder.recordedUntil, t0);
    await clock.advance(1_000);
    assert.equal(await recorder.flush(), 2, "one row per release");
    assert.equal(recorder.recordedUntil, t0 + minute);
    const rows = await store.requests.list({ fromMs: t0, toMs: t0 + hour, resolution: "minute" });
    assert.deepEqual(rows.map((r) => [r.releaseId, r.status["2xx"], r.status["5xx"]]), [["rel_1", 600, 3], ["rel_2", 60, 0]]);
    // A straggler for the written minute is dropped, not added to it later.
    recorder.add([bucket(t0 + 59_000, 100)]);
    assert.equal(recorder.dropped, 1);
    await clock.advance(minute);
    await recorder.flush();
    assert.deepEqual([(await counts(t0, t0 + minute)).requests, (await counts(t0 + minute, t0 + 2 * minute)).requests], [663, 5]);
  });

  it("adds only the minutes no engine wrote when the data plane replays its history to a new engine", async () => {
    const t0 = clock.now();
    const history = Array.from({ length: 150 }, (_, s) => bucket(t0 + s * 1000, 2)); // 2.5 minutes
    const first = new RequestRecorder({ history: store.requests, clock });
    await first.load(["production"]);
    first.add(history.slice(0, 130)); // the engine saw 2 minutes and 10 seconds, then stopped
    await clock.advance(2 * minute + 10_000);
    await first.stop();
    assert.equal((await counts(t0, t0 + hour)).requests, 240);
    const second = new RequestRecorder({ history: store.requests, clock });
    await second.load(["production"]);
    second.add(history); // the replay: every batch the data plane kept
    await clock.advance(minute);
    await second.flush();
    assert.equal((await counts(t0, t0 + hour)).requests, 300, "each second once");
    assert.equal(second.dropped, 120);
  });

  it("keeps minutes 3 days and hours 35 days, pruning whole hours of minutes", async () => {
    const recorder = new RequestRecorder({ history: store.requests, clock });
    const t0 = clock.now();
    // One request every 30 minutes for 40 days, written straight to the history.
    const minutes = Array.from({ length: 40 * 48 }, (_, i) => ({ ...bucket(t0 + i * 30 * minute, 1), upstreamTimeouts: 0, retried: 0 }));
    await store.requests.record(minutes);
    await clock.advance(40 * day + 20 * minute);
    const pruned = await recorder.prune();
    // Minutes before the hour at or before now − 3 d (that is t0 + 37 d): 37 × 48; hours before now − 35 d (t0 + 5 d + 20 m): 5 × 24 + 1.
    assert.deepEqual(pruned, { minutes: 37 * 48, hours: 5 * 24 + 1 });
    const now = clock.now();
    // 30 days back starts 20 minutes into an hour whose minutes are pruned: it counts from the next whole hour.
    assert.equal((await counts(now - 30 * day, now)).requests, 30 * 48 - 2);
    assert.equal((await counts(now - 2 * hour, now)).requests, 3, "minute-exact within the 3 days: 1h30m, 1h and 30m before the last hour's end");
  });
});
