import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { LocalRuntime } from "./local/index.js";
import { createRuntime, runtimeConfigSchema } from "./registry.js";

describe("runtime registry", () => {
  it("parses a type name alone, type with options, and nothing, filling in defaults", () => {
    const defaults = { type: "local", host: "127.0.0.1", log_max_bytes: 10 * 1024 * 1024, log_files: 3 };
    assert.deepEqual(runtimeConfigSchema.parse(undefined), defaults);
    assert.deepEqual(runtimeConfigSchema.parse("local"), defaults);
    assert.deepEqual(runtimeConfigSchema.parse({ type: "local", host: "::1", log_files: 5 }), { ...defaults, host: "::1", log_files: 5 });
  });

  it("rejects unknown types, unknown keys and bad values with the path", () => {
    for (const [input, path] of [
      ["kubernetes", []],
      [{ type: "local", hots: "::1" }, []],
      [{ type: "local", host: "localhost" }, ["host"]],
      [{ type: "local", log_files: -1 }, ["log_files"]],
    ] as const) {
      const parsed = runtimeConfigSchema.safeParse(input);
      assert.equal(parsed.success, false, JSON.stringify(input));
      assert.ok(parsed.error!.issues.some((issue) => JSON.stringify(issue.path) === JSON.stringify(path)), JSON.stringify(parsed.error!.issues));
    }
  });

  it("makes the runtime a config describes, and its schema can be published", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "engineroom-registry-"));
    try {
      const runtime = createRuntime(runtimeConfigSchema.parse({ type: "local", host: "127.0.0.1" }), { stateDir });
      assert.ok(runtime instanceof LocalRuntime);
      assert.equal(runtime.kind, "local");
      assert.deepEqual(await runtime.adopt(), []);
      const schema = JSON.stringify(z.toJSONSchema(runtimeConfigSchema, { io: "input", unrepresentable: "any" }));
      assert.match(schema, /log_max_bytes/);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
