import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDuration } from "../../core/index.js";
import { beyondRetention } from "./checks.js";

describe("checks history: a --since beyond the resolution's retention", () => {
  const ask = (resolution: "minute" | "hour" | "day", since: string) => beyondRetention(resolution, parseDuration(since)!, since);

  it("names the retention as a person writes it, and the resolution that holds the span", () => {
    assert.deepEqual(ask("minute", "2d"), {
      message: "Minutes are kept 24h: --since 2d reaches further back.",
      hint: "Use --resolution hour for 2d, or ask for at most 24h.",
    });
    assert.deepEqual(ask("minute", "90d"), {
      message: "Minutes are kept 24h: --since 90d reaches further back.",
      hint: "Use --resolution day for 90d, or ask for at most 24h.",
    });
    assert.deepEqual(ask("hour", "60d"), {
      message: "Hours are kept 35d: --since 60d reaches further back.",
      hint: "Use --resolution day for 60d, or ask for at most 35d.",
    });
    assert.deepEqual(ask("day", "500d"), { message: "Days are kept 400d: --since 500d reaches further back.", hint: "Ask for at most 400d." });
  });

  it("says nothing within the retention", () => {
    assert.equal(ask("minute", "24h"), undefined);
    assert.equal(ask("hour", "35d"), undefined);
    assert.equal(ask("day", "400d"), undefined);
  });
});
