import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/**
 * A check removed from engineroom.yaml while the engine was stopped: the check-down alert it left
 * firing resolves when the next engine starts, and a check still declared and still down keeps its alert.
 */
describe("check alerts across a restart", () => {
  const check = (name: string) => `  ${name}:\n    type: tcp\n    host: 127.0.0.1\n    port: 1\n    interval: 1s\n    failure_threshold: 1\n`;
  const config = (checks: string[]) => testConfig("", `checks:\n${checks.map(check).join("")}`);
  let p: TestProject;
  after(async () => {
    await p?.cleanup();
  });

  it("resolves the alert of a check no longer declared, keeps the one still down", async () => {
    p = await startProject(config(["gone-check", "kept-check"]));
    const firing = async () => ((await p.engine.monitoring.alerts!.list()).filter((a) => a.rule === "check-down").map((a) => a.labels.check).sort());
    await waitFor("both checks' alerts firing", async () => (await firing()).length === 2, 20_000);
    const [gone] = (await p.engine.monitoring.alerts!.list()).filter((a) => a.labels.check === "gone-check");
    await p.stop();
    writeFileSync(p.configFile, config(["kept-check"]));
    await p.restart();
    await waitFor("the removed check's alert resolved", async () => (await p.engine.monitoring.alerts!.get(gone!.id)).state === "resolved", 10_000);
    assert.deepEqual(await firing(), ["kept-check"]);
  });
});
