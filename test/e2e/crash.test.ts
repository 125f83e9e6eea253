import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { processAlive } from "../../src/engine/index.js";
import { get } from "../helpers/load.js";
import { waitFor } from "../helpers/wait.js";
import { testConfig } from "../helpers/project.js";

const root = resolve(import.meta.dirname, "../..");
const cliArgs = ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts")];

function run(cwd: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...cliArgs, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (code) => done({ code, out }));
  });
}


describe("an engine killed with SIGKILL", () => {
  let dir: string;
  let engine: ChildProcess | undefined;
  const up = () => {
    engine = spawn(process.execPath, [...cliArgs, "up"], { cwd: dir, stdio: "ignore" });
    return engine;
  };
  const info = () => JSON.parse(readFileSync(join(dir, ".engineroom/engine.json"), "utf8")) as { pid: number; proxy: string };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "engineroom-crash-"));
    writeFileSync(join(dir, "engineroom.yaml"), testConfig().replace("    instances: 2", "    artifact: ./app\n    instances: 2"));
    cpSync(join(root, "test/fixtures/app"), join(dir, "app"), { recursive: true });
    writeFileSync(join(dir, "app/behaviour.json"), JSON.stringify({ version: "v1" }));
  });
  after(async () => {
    engine?.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 2000));
    engine?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("leaves no instance behind and brings the live release back when it starts again", async () => {
    const first = up();
    await waitFor("engine.json", () => existsSync(join(dir, ".engineroom/engine.json")) && info().pid === first.pid, 30_000);
    assert.equal((await run(dir, "deploy", "web")).code, 0);
    const status = JSON.parse((await run(dir, "status", "--json")).out);
    const oldPids = (status.environments[0].services[0].instances as { pid: number }[]).map((i) => i.pid);
    await new Promise((r) => setTimeout(r, 1200)); // the engine records instance pids every second
    first.kill("SIGKILL");
    await new Promise((r) => first.on("exit", r));
    assert.ok(oldPids.every((pid) => processAlive(pid)), "instances lead their own process groups and outlive the engine");

    const second = up();
    await waitFor("the new engine", () => existsSync(join(dir, ".engineroom/engine.json")) && info().pid === second.pid, 30_000);
    await waitFor("v1 serving again", async () => (await get(`http://${info().proxy}/`).catch(() => ({ version: undefined }))).version === "v1", 30_000);
    await waitFor("the old instances gone", () => oldPids.every((pid) => !processAlive(pid)), 30_000);
    const again = JSON.parse((await run(dir, "status", "--json")).out);
    assert.equal(again.environments[0].services[0].live.number, 1);
  });
});
