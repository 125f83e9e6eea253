import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { EventFeed } from "./event-feed.js";
import { SqliteStore } from "./sqlite/index.js";

describe("EventFeed", () => {
  it("hands each event of its types over once, in order, past one that fails, from the id it starts after", async () => {
    const clock = new ManualClock();
    const store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    try {
      const before = await store.events.append({ type: "incident.resolved", message: "before the start", data: { n: 0 } });
      const seen: number[] = [];
      const errors: unknown[] = [];
      const feed = new EventFeed({
        events: store.events,
        types: ["incident.resolved"],
        clock,
        onEvent: async (e) => {
          if (e.data.n === 2) throw new Error("bad one");
          seen.push(e.data.n as number);
        },
        onError: (error) => errors.push(error),
      });
      feed.start(before.id);
      for (let n = 1; n <= 150; n++) await store.events.append({ type: n % 2 ? "incident.resolved" : "incident.opened", message: "m", data: { n } });
      await store.events.append({ type: "incident.resolved", message: "m", data: { n: 2 } });
      assert.equal(await feed.poll(), 76);
      assert.equal(await feed.poll(), 0, "read once");
      assert.deepEqual(seen, Array.from({ length: 75 }, (_, i) => 2 * i + 1));
      assert.equal(errors.length, 1);
      await feed.stop();
    } finally {
      await store.close();
    }
  });
});
