import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { processAlive } from "../../src/engine/index.js";
import { get } from "../helpers/load.js";
import { waitFor } from "../helpers/wait.js";
import { testConfig } from "../helpers/project.js";

const root = resolve(import.meta.dirname, "../..");
// tsx resolved from here, since the CLI runs in other folders.
const cliArgs = ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts")];

/** Runs the CLI to completion in `cwd`. */
function cli(cwd: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...cliArgs, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Starts the CLI in the background. */
function cliBackground(cwd: string, ...args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [...cliArgs, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  return Object.assign(child, { output: () => output });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on("exit", (code) => r(code))));


function artifact(dir: string, behaviour: Record<string, unknown>): string {
  const folder = join(dir, `art-${behaviour.version}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(root, "test/fixtures/app"), folder, { recursive: true });
  writeFileSync(join(folder, "behaviour.json"), JSON.stringify(behaviour));
  return folder;
}

describe("engineroom CLI", () => {
  let dir: string;
  let engine: ReturnType<typeof cliBackground>;
  let proxy: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "engineroom-cli-"));
  });
  after(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill("SIGKILL");
      await exited(engine);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("init writes a starter config and app, and will not overwrite them", () => {
    const target = join(dir, "starter");
    const first = cli(dir, "init", target);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(existsSync(join(target, "engineroom.yaml")) && existsSync(join(target, "app/server.js")));
    const before = readFileSync(join(target, "engineroom.yaml"), "utf8");
    const second = cli(dir, "init", target);
    assert.equal(second.code, 2);
    assert.match(second.stderr, /exists already; nothing was changed/);
    assert.equal(readFileSync(join(target, "engineroom.yaml"), "utf8"), before);
  });

  it("schema prints the JSON Schema", () => {
    const result = cli(dir, "schema");
    assert.equal(result.code, 0);
    assert.equal(JSON.parse(result.stdout).title, "engineroom.yaml");
  });

  it("refuses a bad config at start with a coded error, and changes nothing", () => {
    const bad = join(dir, "bad");
    cpSync(join(root, "test/fixtures/app"), join(bad, "app"), { recursive: true });
    writeFileSync(join(bad, "engineroom.yaml"), testConfig().replace("    instances: 2", "    instances: 2\n    replicas: 3"));
    const result = cli(bad, "up");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /CONFIG_INVALID/);
    assert.match(result.stderr, /services\.web\.replicas: unknown key/);
    assert.ok(!existsSync(join(bad, ".engineroom")), "no state folder was created");
  });

  it("says so when no engine runs", () => {
    writeFileSync(join(dir, "engineroom.yaml"), testConfig());
    const result = cli(dir, "status");
    assert.equal(result.code, 3);
    assert.match(result.stderr, /ENGINE_NOT_RUNNING/);
  });

  it("up runs the engine; deploy, status, releases, logs and rollback talk to it", async () => {
    engine = cliBackground(dir, "up");
    await waitFor("engine.json", () => existsSync(join(dir, ".engineroom/engine.json")));
    proxy = "http://" + JSON.parse(readFileSync(join(dir, ".engineroom/engine.json"), "utf8")).proxy;

    const v1 = cli(dir, "deploy", "web", artifact(dir, { version: "v1" }));
    assert.equal(v1.code, 0, v1.stderr);
    assert.match(v1.stdout, /live web v1/);
    assert.match(v1.stderr, /healthy .*passed GET \/healthz/);
    assert.equal((await get(proxy)).version, "v1");

    const status = JSON.parse(cli(dir, "status", "--json").stdout);
    assert.equal(status.environments[0].services[0].live.number, 1);
    assert.equal(status.environments[0].services[0].instances.length, 2);

    const noTarget = cli(dir, "rollback", "web");
    assert.equal(noTarget.code, 1);
    assert.match(noTarget.stderr, /ROLLBACK_NO_TARGET/);

    const failing = cli(dir, "deploy", "web", artifact(dir, { version: "v2", healthStatus: 500 }));
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /DEPLOY_HEALTH_TIMEOUT/);
    assert.match(failing.stderr, /last lines of web-production-v2-\d/);
    assert.match(failing.stderr, /v2 listening on/);
    assert.equal((await get(proxy)).version, "v1");

    assert.equal(cli(dir, "deploy", "web", artifact(dir, { version: "v3" })).code, 0);
    assert.equal((await get(proxy)).version, "v3");
    const back = cli(dir, "rollback", "web");
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /v3 → v1 \(warm\)/);
    assert.equal((await get(proxy)).version, "v1");

    const releases = JSON.parse(cli(dir, "releases", "web", "--json").stdout) as { number: number; state: string }[];
    assert.deepEqual(
      releases.map((r) => [r.number, r.state]),
      [
        [3, "rolled-back"],
        [2, "failed"],
        [1, "superseded"],
      ],
    );
    const logs = cli(dir, "logs", "web", "-n", "5");
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, /==> web-production-v1-1/);
    assert.match(logs.stdout, /out v1 listening on/);

    const unknown = cli(dir, "deploy", "nope", artifact(dir, { version: "x" }));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /SERVICE_UNKNOWN/);
  });

  for (const signal of ["SIGINT", "SIGKILL"] as const) {
    it(`${signal} to a deploy before its switch cancels it, and the live release keeps serving`, async () => {
      const deploying = cliBackground(dir, "deploy", "web", artifact(dir, { version: `slow-${signal}`, healthStatus: 503 }));
      await waitFor("the new release to start", () => /starting/.test(deploying.output()));
      deploying.kill(signal);
      const code = await exited(deploying);
      if (signal === "SIGINT") assert.equal(code, 130);
      await waitFor("the release to fail as cancelled", () => {
        const [latest] = JSON.parse(cli(dir, "releases", "web", "--json").stdout) as { state: string; reason: string }[];
        return latest!.state === "failed" && /DEPLOY_CANCELLED/.test(latest!.reason);
      });
      assert.equal((await get(proxy)).version, "v1");
    });
  }

  it("SIGINT stops the engine cleanly: instances stopped, engine.json removed", async () => {
    const status = JSON.parse(cli(dir, "status", "--json").stdout);
    const pids = (status.environments[0].services[0].instances as { pid: number }[]).map((i) => i.pid);
    assert.ok(pids.length > 0);
    engine.kill("SIGINT");
    assert.equal(await exited(engine), 0);
    assert.match(engine.output(), /engine stopped/);
    assert.ok(!existsSync(join(dir, ".engineroom/engine.json")));
    for (const pid of pids) assert.equal(processAlive(pid), false, `instance ${pid} is stopped`);
  });
});
