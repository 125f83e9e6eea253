import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { defineCheck } from "../config.js";
import { runCheck } from "../run.js";
import { check } from "../test-support.js";

const now = Date.now;

/** True once the process has ended: gone, or a zombie waiting for its parent (here PID 1) to reap it. */
async function ended(pid: number, timeoutMs = 1000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let state: string | undefined;
    try {
      state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    } catch {
      return true;
    }
    if (state === "Z" || state === "X") return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("command checks", () => {
  const dir = mkdtempSync(join(tmpdir(), "engineroom-command-check-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("passes exit status 0 and fails another, reporting it", async () => {
    assert.equal((await runCheck(check({ type: "command", command: "true" }), { now })).ok, true);
    const failed = await runCheck(check({ type: "command", command: "echo starting; exit 3" }), { now });
    assert.equal(failed.ok, false);
    assert.equal(failed.fields.exit_code, 3);
    assert.equal(failed.fields.stdout, "starting\n");
    assert.deepEqual(failed.failed, ["exit_code == 0"]);
  });

  it("reports a command ended by a signal as 128 + its number", async () => {
    const result = await runCheck(check({ type: "command", command: "kill -TERM $$" }), { now });
    assert.equal(result.fields.exit_code, 128 + 15);
  });

  it("runs in its cwd (relative to the project's folder) with its env, and not the engine's other variables", async () => {
    mkdirSync(join(dir, "sub"), { recursive: true });
    process.env.ENGINEROOM_TEST_HIDDEN = "not-for-commands";
    try {
      const definition = defineCheck("t", { type: "command", command: "pwd; echo $GREETING; env", cwd: "sub", env: { GREETING: "hello" }, conditions: ['stdout contains "hello"'] }, { path: ["checks", "t"], dir });
      const result = await runCheck(definition, { now });
      assert.equal(result.ok, true, result.error);
      const stdout = result.fields.stdout as string;
      assert.equal(stdout.split("\n")[0], join(dir, "sub"));
      assert.ok(!stdout.includes("ENGINEROOM_TEST_HIDDEN"));
      assert.match(stdout, /^PATH=/m);
    } finally {
      delete process.env.ENGINEROOM_TEST_HIDDEN;
    }
  });

  it("keeps the first 64 KiB of stdout", async () => {
    const result = await runCheck(check({ type: "command", command: "head -c 200000 /dev/zero | tr '\\0' a" }), { now });
    assert.equal(result.ok, true, result.error);
    assert.equal((result.fields.stdout as string).length, 65_536);
  });

  it("kills a command that hangs, with its children, at the deadline", async () => {
    const pids = join(dir, "pids");
    const definition = check({ type: "command", command: `sleep 30 & echo $! > ${pids}; echo $$ >> ${pids}; wait`, interval: "2s", timeout: "400ms" });
    const started = performance.now();
    const result = await runCheck(definition, { now });
    const took = performance.now() - started;
    assert.equal(result.error, "timed out after 400ms");
    assert.ok(took < 500, `took ${took}ms`);
    const [child, shell] = readFileSync(pids, "utf8").trim().split("\n").map(Number);
    assert.ok(child && shell);
    assert.equal(await ended(child), true, "the background child was killed");
    assert.equal(await ended(shell), true, "the shell was killed");
  });

  it("ends what a finished command left running in the background", async () => {
    const pids = join(dir, "left");
    const started = performance.now();
    const result = await runCheck(check({ type: "command", command: `sleep 30 & echo $! > ${pids}` }), { now });
    assert.equal(result.ok, true, result.error);
    assert.ok(performance.now() - started < 2000);
    const child = Number(readFileSync(pids, "utf8").trim());
    assert.equal(await ended(child), true);
  });

  it("reports a cwd that does not exist as an error", async () => {
    const result = await runCheck(check({ type: "command", command: "true", cwd: join(dir, "missing") }), { now });
    assert.equal(result.ok, false);
    assert.match(result.error ?? "", /no folder/);
  });
});
