import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { latencyBoundsMs } from "../metrics/index.js";
import { SqliteStore } from "../store/index.js";
import { addRun, bucketStart, dayMs, emptyBucket, hourMs, latencyIndex, latencyQuantile, minuteMs, retentionMs, rollUp, uptime } from "./aggregates.js";
import { ResultBook } from "./results.js";

async function memoryStore(clock: ManualClock): Promise<SqliteStore> {
  const store = new SqliteStore({ path: ":memory:", clock });
  await store.migrate();
  return store;
}

describe("aggregates", () => {
  it("puts a run in the first bucket whose bound it does not exceed, the rest in the last", () => {
    assert.equal(latencyIndex(0.4), 0);
    assert.equal(latencyIndex(1), 0);
    assert.equal(latencyIndex(1.01), 1);
    assert.equal(latencyIndex(300), latencyBoundsMs.indexOf(300));
    assert.equal(latencyIndex(60_000), latencyBoundsMs.length);
  });

  it("counts runs, failures, sum and max, and reads uptime and percentiles from the histogram", () => {
    const bucket = emptyBucket("web", 0);
    for (let i = 0; i < 98; i++) addRun(bucket, true, 4);
    addRun(bucket, false, 450);
    addRun(bucket, false, 12_000);
    assert.deepEqual([bucket.runs, bucket.failures, bucket.sumMs, bucket.maxMs], [100, 2, 98 * 4 + 450 + 12_000, 12_000]);
    assert.equal(uptime(bucket), 0.98);
    assert.equal(latencyQuantile(bucket, 0.5), 5);
    assert.equal(latencyQuantile(bucket, 0.99), 500);
    assert.equal(latencyQuantile(bucket, 1), 12_000, "the overflow bucket reads as the largest latency seen");
    assert.equal(uptime(emptyBucket("none", 0)), null);
    assert.equal(latencyQuantile(emptyBucket("none", 0), 0.5), null);
  });

  it("rolls minutes up into hours and days by addition", () => {
    const t0 = Date.UTC(2026, 0, 1, 23, 58);
    const minutes = [0, 1, 2, 3].map((i) => {
      const b = emptyBucket("web", t0 + i * minuteMs);
      addRun(b, i !== 2, 10 * (i + 1));
      return b;
    });
    const hours = rollUp(minutes, "hour");
    assert.deepEqual(hours.map((h) => [h.start, h.runs, h.failures]), [[Date.UTC(2026, 0, 1, 23), 2, 0], [Date.UTC(2026, 0, 2, 0), 2, 1]]);
    const days = rollUp(hours, "day");
    assert.deepEqual(days.map((d) => [d.start, d.runs, d.sumMs, d.maxMs]), [[Date.UTC(2026, 0, 1), 2, 30, 20], [Date.UTC(2026, 0, 2), 2, 70, 40]]);
  });
});

describe("ResultBook", () => {
  it("writes each minute as it closes, hours and days as they close, and reads exact uptime over 24 h, 7 d, 30 d", async () => {
    const start = Date.UTC(2026, 0, 1, 22, 0, 30);
    const clock = new ManualClock(start);
    const store = await memoryStore(clock);
    const book = new ResultBook(store.checks);
    await book.open(clock.now());
    // Two and a half hours, across midnight: 6 runs a minute, one failure in every third minute.
    for (let minute = 0; minute < 150; minute++) {
      for (let run = 0; run < 6; run++) book.add("web", !(minute % 3 === 0 && run === 0), 5);
      await clock.advance(minuteMs);
      await book.close(clock.now(), []);
    }
    const minutes = await store.checks.buckets({ resolution: "minute", from: 0 });
    assert.equal(minutes.length, 150);
    assert.ok(minutes.every((m) => m.runs === 6));
    const hours = await store.checks.buckets({ resolution: "hour", from: 0 });
    assert.deepEqual(hours.map((h) => [new Date(h.start).toISOString(), h.runs, h.failures]), [
      ["2026-01-01T22:00:00.000Z", 360, 20],
      ["2026-01-01T23:00:00.000Z", 360, 20],
    ]);
    const days = await store.checks.buckets({ resolution: "day", from: 0 });
    assert.deepEqual(days.map((d) => [d.start, d.runs, d.failures]), [[Date.UTC(2026, 0, 1), 720, 40]]);
    // Now 00:30:30 of Jan 2: 24 h = 22:00 + 23:00 + the 30 closed minutes of this hour.
    const windows = await book.windows(clock.now());
    const day = windows.get("web")!["24h"];
    assert.equal(day.runs, 900);
    assert.equal(day.failures, 50);
    assert.equal(uptime(day), 850 / 900);
    assert.equal(windows.get("web")!["7d"].runs, 900);
    assert.equal(windows.get("web")!["30d"].failures, 50);
    await store.close();
  });

  it("goes on where it was after a restart: the open minute, the hour and day so far, and hours a stopped engine did not roll up", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 58, 10));
    const store = await memoryStore(clock);
    const first = new ResultBook(store.checks);
    await first.open(clock.now());
    first.add("web", true, 3);
    await clock.advance(minuteMs);
    await first.close(clock.now(), []);
    first.add("web", false, 3);
    first.add("web", true, 3);
    await first.save([]); // stopped at 10:59:10, the open minute written as far as it went
    assert.deepEqual((await store.checks.buckets({ resolution: "hour", from: 0 })).length, 0);

    await clock.advance(2 * hourMs); // the engine was away over two hour boundaries
    const second = new ResultBook(store.checks);
    await second.open(clock.now());
    const hours = await store.checks.buckets({ resolution: "hour", from: 0 });
    assert.deepEqual(hours.map((h) => [h.start, h.runs, h.failures]), [[Date.UTC(2026, 0, 1, 10), 3, 1]]);
    second.add("web", true, 3);
    const windows = await second.windows(clock.now());
    assert.equal(windows.get("web")!["24h"].runs, 4);
    assert.equal(windows.get("web")!["24h"].failures, 1);

    // Restarted within the same minute: the minute saved at stop is loaded and counted on.
    await second.save([]);
    const third = new ResultBook(store.checks);
    await third.open(clock.now());
    third.add("web", true, 3);
    await clock.advance(minuteMs);
    await third.close(clock.now(), []);
    const minute = await store.checks.buckets({ resolution: "minute", from: bucketStart(clock.now() - minuteMs, "minute") });
    assert.deepEqual(minute.map((m) => m.runs), [2]);
    await store.close();
  });

  it("prunes each resolution by its retention", async () => {
    const clock = new ManualClock(Date.UTC(2026, 3, 1));
    const store = await memoryStore(clock);
    const now = clock.now();
    const bucket = (start: number) => ({ ...emptyBucket("web", start), runs: 1 });
    await store.checks.writeBuckets("minute", [bucket(now - retentionMs.minute - minuteMs), bucket(now - retentionMs.minute + minuteMs)]);
    await store.checks.writeBuckets("hour", [bucket(now - retentionMs.hour - hourMs), bucket(now - hourMs)]);
    await store.checks.writeBuckets("day", [bucket(now - retentionMs.day - dayMs), bucket(now - dayMs)]);
    await new ResultBook(store.checks).prune(now);
    for (const resolution of ["minute", "hour", "day"] as const) {
      assert.equal((await store.checks.buckets({ resolution, from: 0 })).length, 1, resolution);
    }
    assert.deepEqual([retentionMs.minute, retentionMs.hour, retentionMs.day], [dayMs, 35 * dayMs, 400 * dayMs]);
    await store.close();
  });
});
