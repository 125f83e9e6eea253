import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError } from "../core/index.js";
import { parseMonitorSettings } from "./settings.js";

describe("monitor settings", () => {
  it("defaults to 512 runs in flight, 64 per target, service checks every 10 s", () => {
    assert.deepEqual(parseMonitorSettings(undefined), { maxConcurrency: 512, maxPerTarget: 64, serviceCheckIntervalMs: 10_000 });
    assert.deepEqual(parseMonitorSettings({ max_concurrency: 8, max_per_target: 2, service_check_interval: "30s" }), { maxConcurrency: 8, maxPerTarget: 2, serviceCheckIntervalMs: 30_000 });
  });

  it("refuses an unknown key or a bad value with CONFIG_INVALID naming its path", () => {
    assert.throws(
      () => parseMonitorSettings({ max_concurency: 8, max_per_target: 0, service_check_interval: "5ms" }),
      (error: unknown) => {
        assert.ok(isEngineError(error));
        assert.equal(error.code, "CONFIG_INVALID");
        const problems = (error.details?.problems as string[]).join("\n");
        assert.match(problems, /monitor: .*max_concurency/);
        assert.match(problems, /monitor\.max_per_target: /);
        assert.match(problems, /monitor\.service_check_interval: "5ms" is shorter than the shortest here, 1s/);
        return true;
      },
    );
  });
});
