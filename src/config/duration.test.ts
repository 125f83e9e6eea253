import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { durationSchema, maxDurationMs } from "./duration.js";

const problem = (schema: ReturnType<typeof durationSchema>, value: unknown) => {
  const parsed = schema.safeParse(value);
  assert.equal(parsed.success, false, `${JSON.stringify(value)} is refused`);
  return parsed.error!.issues.map((i) => i.message).join("; ");
};

describe("durationSchema", () => {
  it("reads a written duration or whole milliseconds, within the longest timer by default", () => {
    const schema = durationSchema();
    assert.equal(schema.parse("1h"), 3_600_000);
    assert.equal(schema.parse(250), 250);
    assert.equal(schema.parse(maxDurationMs), maxDurationMs);
    assert.equal(problem(schema, "soon"), '"soon" is not a duration; write it like 500ms, 5s, 5m or 1h');
    assert.match(problem(schema, "25d"), /^"25d" is longer than the longest duration, 24d \(2147483647 ms\): Node's timers cannot wait longer$/);
    assert.match(problem(schema, maxDurationMs + 1), /^2147483648 ms is longer than the longest duration/);
    problem(schema, -1);
    problem(schema, 1.5);
  });

  it("holds a key's own bounds, examples and message", () => {
    const timeout = durationSchema({ min: 1, examples: "10s or 1m" });
    assert.equal(problem(timeout, "later"), '"later" is not a duration; write it like 10s or 1m');
    assert.equal(problem(timeout, "0s"), '"0s" is shorter than the shortest here, 1ms');
    const window = durationSchema({ min: 3_600_000, max: 366 * 86_400_000, outOfRange: (value) => `from 1h to 366d, not ${value}` });
    assert.equal(window.parse("30d"), 30 * 86_400_000, "a key that is not a timer may pass 24 days");
    assert.equal(problem(window, "400d"), "from 1h to 366d, not 400d");
    assert.equal(problem(durationSchema({ max: 60_000 }), "2m"), '"2m" is longer than the longest here, 1m');
  });
});
