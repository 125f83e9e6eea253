import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { table } from "./render.js";

describe("table", () => {
  it("pads every column but the last to its widest cell, two spaces apart, colour codes not counted", () => {
    const red = (s: string) => `\x1b[31m${s}\x1b[0m`;
    const text = table(["name", "state", "note"], [["web", red("down"), "since 5m"], ["a-longer-one", "up", ""]]);
    const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
    assert.deepEqual(plain.split("\n"), ["name          state  note", "web           down   since 5m", "a-longer-one  up"]);
    // The coloured cell keeps its colour and the column after it lines up.
    assert.ok(text.includes(`${red("down")}   since 5m`));
  });
});
