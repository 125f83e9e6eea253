import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { tools } from "./tools.js";

describe("MCP tools", () => {
  it("every tool is in the README's tool table, with its scope", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const start = readme.indexOf("\n## MCP server for agents");
    assert.ok(start >= 0, "the README has a chapter \"MCP server for agents\"");
    const end = readme.indexOf("\n## ", start + 1);
    const chapter = readme.slice(start + 1, end < 0 ? undefined : end);
    const rows = new Map(chapter.split("\n").filter((line) => line.startsWith("| `")).map((line) => [/^\| `([^`]+)`/.exec(line)![1]!, line]));
    const missing = tools.filter((t) => !rows.has(t.name)).map((t) => t.name);
    assert.deepEqual(missing, [], `MCP tools missing from the README's tool table: ${missing.join(", ")}`);
    const wrongScope = tools.filter((t) => !rows.get(t.name)!.includes(t.scopeText)).map((t) => t.name);
    assert.deepEqual(wrongScope, [], `README rows whose scope is not the tool's: ${wrongScope.join(", ")}`);
  });

  it("has no passthrough: no shell, SQL or file tool, and nothing reaches beyond the engine", () => {
    assert.deepEqual(tools.filter((t) => /shell|exec|sql|file|command|http|fetch/i.test(t.name)).map((t) => t.name), []);
    for (const tool of tools) {
      if (tool.annotations.readOnlyHint) assert.equal(tool.annotations.destructiveHint, false, tool.name);
      assert.equal(new Set(tools.map((t) => t.name)).size, tools.length);
    }
  });
});
