import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";

/**
 * The layers of DESIGN.md, top to bottom. A module may import from its own folder, from a folder of a
 * lower layer, or from another folder of its own layer — and from another folder only through that
 * folder's index.ts, its public face.
 */
const layers: Record<string, number> = {
  cli: 4, api: 4, mcp: 4, ui: 4,
  engine: 3,
  deploy: 2, plan: 2, analysis: 2, monitor: 2, slo: 2, alert: 2, incident: 2, report: 2, cost: 2, runbook: 2, ci: 2, postmortem: 2, drill: 2,
  runtime: 1, proxy: 1, dataplane: 1, store: 1, notify: 1, secrets: 1, metrics: 1, artifact: 1, hosts: 1,
  config: 0, core: 0,
};

const src = resolve(import.meta.dirname, "../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".contract.ts") ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)].map((m) => m[1]!);
}

describe("architecture", () => {
  const files = sourceFiles(src);

  it("knows the layer of every top-level folder", () => {
    const unknown = readdirSync(src).filter((name) => statSync(join(src, name)).isDirectory() && !(name in layers));
    assert.deepEqual(unknown, [], "add new folders to the layer table in test/architecture.test.ts");
  });

  it("imports point down the layers, and into other folders only through their index.ts", () => {
    const problems: string[] = [];
    for (const file of files) {
      const from = relative(src, file).split("/")[0]!;
      for (const specifier of imports(file)) {
        const target = relative(src, resolve(dirname(file), specifier));
        const to = target.split("/")[0]!;
        if (to === from || target.startsWith("..")) continue;
        const where = `${relative(src, file)} imports ${specifier}`;
        if (layers[to]! > layers[from]!) problems.push(`${where}: ${from} (layer ${layers[from]}) may not import upward from ${to} (layer ${layers[to]})`);
        if (target !== `${to}/index.js`) problems.push(`${where}: go through ${to}/index.ts, not its insides`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it("keeps source files small enough to read in one sitting", () => {
    const long = files.map((f) => [relative(src, f), readFileSync(f, "utf8").split("\n").length] as const).filter(([, lines]) => lines > 450);
    assert.deepEqual(long, []);
  });
});
