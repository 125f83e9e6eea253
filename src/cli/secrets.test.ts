import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateKey } from "../secrets/index.js";

const root = resolve(import.meta.dirname, "../..");
const cliArgs = ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts")];

describe("engineroom secrets", () => {
  let dir: string;
  const key = generateKey();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "engineroom-cli-secrets-"));
    await writeFile(join(dir, "engineroom.yaml"), "project: demo\nservices:\n  web:\n    run: node server.js\n");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // spawnSync ends the child (and waits for it) before it returns; the timeout kills a stuck one.
  const cli = (input: string, env: Record<string, string | undefined>, ...args: string[]) =>
    spawnSync(process.execPath, [...cliArgs, ...args], { cwd: dir, input, env: { ...process.env, NO_COLOR: "1", ...env }, encoding: "utf8", timeout: 60_000 });

  it("set refuses an empty value and one too short to redact, with exit 2 and a code, storing nothing", () => {
    for (const input of ["", "\n", "ab\n"]) {
      const result = cli(input, { ENGINEROOM_SECRETS_KEY: key }, "secrets", "set", "api_token");
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, /SECRET_VALUE_INVALID/);
      assert.match(result.stderr, /hint:/);
    }
    const list = cli("", { ENGINEROOM_SECRETS_KEY: key }, "secrets", "list", "--json");
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).names, []);
    const set = cli("long-enough-value\n", { ENGINEROOM_SECRETS_KEY: key }, "secrets", "set", "api_token");
    assert.equal(set.status, 0, set.stderr);
  });

  it("keygen refuses to write the key inside the project when HOME is there, naming the way out", () => {
    const home = join(dir, "home");
    const result = cli("", { HOME: home, XDG_CONFIG_HOME: undefined, ENGINEROOM_SECRETS_KEY: undefined }, "secrets", "keygen");
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /SECRET_KEY_INSECURE/);
    assert.match(result.stderr, /ENGINEROOM_SECRETS_KEY/);
    assert.equal(existsSync(home), false);
  });
});
