import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DeployResult } from "../../src/deploy/index.js";
import { generateKey } from "../../src/secrets/index.js";
import { get } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

const root = resolve(import.meta.dirname, "../..");
const cliArgs = ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts")];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return [];
    return stat.isDirectory() ? filesUnder(path) : stat.isFile() ? [path] : []; // not the data plane's control socket
  });
}

describe("secrets: a canary never leaves the instance", () => {
  const canary = `canary-${randomBytes(12).toString("hex")}`;
  const key = generateKey();
  let p: TestProject;
  const seen: string[] = []; // every answer and output the test gets, searched at the end
  // Asynchronous: the engine runs in this process and must go on answering while the CLI runs.
  const cli = (input: string | undefined, ...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, [...cliArgs, ...args], { cwd: p.dir, env: { ...process.env, ENGINEROOM_SECRETS_KEY: key, NO_COLOR: "1" } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c) => (stdout += c));
      child.stderr.on("data", (c) => (stderr += c));
      child.stdin.end(input);
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("close", (status) => {
        clearTimeout(timer);
        seen.push(stdout, stderr);
        done({ status, stdout, stderr });
      });
    });

  before(async () => {
    process.env.ENGINEROOM_SECRETS_KEY = key;
    p = await startProject(testConfig().replace("      GREETING: hi", "      GREETING: { secret: api_token }"));
  });
  after(async () => {
    await p.cleanup();
    delete process.env.ENGINEROOM_SECRETS_KEY;
  });

  const deploy = (behaviour: Parameters<TestProject["artifact"]>[0]) =>
    p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact: p.artifact(behaviour) }, (progress) => seen.push(JSON.stringify(progress))).then(
      (result) => (seen.push(JSON.stringify(result)), result),
      (error) => {
        seen.push(JSON.stringify(error), String(error.message));
        throw error;
      },
    );

  it("refuses a deploy whose secret does not exist, naming it", async () => {
    const error = await deploy({ version: "v0" }).catch((e) => e);
    assert.equal(error.code, "SECRET_NOT_FOUND");
    assert.match(error.message, /api_token/);
  });

  it("sets the secret from standard input, and lists names only", async () => {
    const set = await cli(`${canary}\n`, "secrets", "set", "api_token");
    assert.equal(set.status, 0, set.stderr);
    const list = await cli(undefined, "secrets", "list", "--json");
    assert.deepEqual(JSON.parse(list.stdout).names, ["api_token"]);
  });

  it("reaches the instance as an environment variable, and nowhere else", async () => {
    await deploy({ version: "v1", printEnv: "GREETING" });
    assert.equal((await get(`${p.proxyUrl}/env`)).body.trim(), canary, "the instance has the value");

    // A failing smoke test quotes the body it got, which holds the secret: the error must not.
    const smoke = await deploy({ version: "v2", smokeBody: "goodbye" }).catch((e) => e);
    assert.equal(smoke.code, "DEPLOY_SMOKE_FAILED");
    assert.match(smoke.message, /\[REDACTED:api_token\]/);
    for (const path of ["/v1/status", "/v1/services/web/releases", "/v1/services/web/logs?lines=50", "/v1/events?limit=500"]) {
      seen.push(JSON.stringify(await p.api.get(path)));
    }
    const logs = await cli(undefined, "logs", "web");
    assert.match(logs.stdout, /GREETING=\[REDACTED:api_token\]/, "the app printed it; the engine kept it redacted");
    await cli(undefined, "status", "--json");
    await cli(undefined, "releases", "web", "--json");

    const leaks = seen.filter((text) => text.includes(canary));
    assert.deepEqual(leaks, [], "no answer or output holds the canary");
    await p.engine.store.close().catch(() => {});
    const files = filesUnder(p.dir).filter((file) => readFileSync(file).includes(canary));
    assert.deepEqual(files, [], "no file the engine wrote holds the canary in clear");
  });
});
