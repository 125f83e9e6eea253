import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatSpan } from "./duration.js";

describe("formatSpan", () => {
  it("rounds to two units at most, to the minute from a minute up", () => {
    const cases: [number, string][] = [
      [850, "850ms"],
      [42_400, "42s"],
      [12 * 60_000 + 20_000, "12m"],
      [3 * 3_600_000, "3h"],
      [3 * 3_600_000 + 20 * 60_000 + 40_000, "3h21m"],
      [2 * 86_400_000 + 4 * 3_600_000 + 59 * 60_000, "2d4h"],
      [30 * 86_400_000, "30d"],
    ];
    assert.deepEqual(cases.map(([ms]) => formatSpan(ms)), cases.map(([, text]) => text));
  });
});
