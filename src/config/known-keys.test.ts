import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { knownKeysAt, unknownKeyProblems } from "./known-keys.js";

interface Node {
  name: string;
  children: Node[];
}
const node: z.ZodType<Node, unknown> = z.lazy(() => z.strictObject({ name: z.string(), children: z.array(node).default([]) }));
const schema = z.strictObject({
  tree: node.optional(),
  items: z.record(z.string(), z.strictObject({ interval: z.string().default("30s"), timeout: z.string().optional() })).default({}),
});

describe("known keys", () => {
  it("finds the object's keys through records, arrays, defaults and lazies", () => {
    assert.deepEqual(knownKeysAt(schema, []), ["tree", "items"]);
    assert.deepEqual(knownKeysAt(schema, ["items", "a"]), ["interval", "timeout"]);
    assert.deepEqual(knownKeysAt(schema, ["tree", "children", 0, "children", 3]), ["name", "children"]);
    assert.deepEqual(knownKeysAt(schema, ["items", "a", "interval"]), []);
  });

  it("names each unknown key at its own path, with a guess when one is near", () => {
    const issues = schema.safeParse({ items: { a: { intervall: "5s", zzz: 1 } }, tree: { name: "x", childen: [] } }).error!.issues;
    const problems = issues.flatMap((i) => (i.code === "unrecognized_keys" ? unknownKeyProblems("top", schema, i.path, i.keys) : []));
    assert.deepEqual(problems.sort(), [
      "top.items.a.intervall: unknown key (did you mean interval?); known keys: interval, timeout",
      "top.items.a.zzz: unknown key; known keys: interval, timeout",
      "top.tree.childen: unknown key (did you mean children?); known keys: name, children",
    ]);
  });
});
