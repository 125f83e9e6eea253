import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redactor } from "../../core/index.js";
import { runRuntimeContract } from "../runtime.contract.js";
import type { ExitInfo, InstanceSpec } from "../types.js";
import { InstanceFiles } from "./instance-files.js";
import { LogWriter, tailLog } from "./log-file.js";
import { LocalRuntime, type LocalRuntimeOptions } from "./local-runtime.js";

runRuntimeContract("local", async () => {
  const logDir = await mkdtemp(join(tmpdir(), "engineroom-logs-"));
  const runtime = new LocalRuntime({ logDir, stateDir: logDir });
  return {
    runtime,
    reopen: () => {
      const next = new LocalRuntime({ logDir, stateDir: logDir });
      return { runtime: next, close: () => next.close() };
    },
    cleanup: async () => {
      await runtime.stopAll(200);
      await rm(logDir, { recursive: true, force: true });
    },
  };
});

describe("LocalRuntime logs", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "engineroom-local-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs a shell command to completion in a fresh runtime and returns its exit. */
  async function runToExit(options: Partial<LocalRuntimeOptions>, id: string, command: string, env: Record<string, string> = {}) {
    const runtime = new LocalRuntime({ logDir: join(dir, "logs"), ...options });
    const exited = new Promise<ExitInfo>((resolve) => runtime.onExit((exit) => exit.id === id && resolve(exit)));
    const spec: InstanceSpec = { id, service: "svc", releaseId: "rel_1", command, cwd: dir, env, port: 1 };
    await runtime.start(spec);
    return { runtime, exit: await exited };
  }

  it("rotates the log at logMaxBytes, keeps logFiles rotated files, and tails across them", async () => {
    const command = `i=1; while [ $i -le 300 ]; do echo "line $i"; i=$((i+1)); done`;
    const { runtime } = await runToExit({ logMaxBytes: 2_000, logFiles: 2 }, "rotating", command);
    const files = (await readdir(join(dir, "logs", "svc"))).filter((f) => f.startsWith("rotating.")).sort();
    assert.deepEqual(files, ["rotating.log", "rotating.log.1", "rotating.log.2"]);
    for (const file of files) assert.ok((await stat(join(dir, "logs", "svc", file))).size <= 2_000, file);

    const tail = await runtime.logs("rotating", { lines: 60 });
    assert.equal(tail.length, 60);
    tail.forEach((line, i) => assert.match(line, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z out line ${241 + i}$`)));
  });

  it("reads the logs of an instance started by an earlier runtime", async () => {
    await runToExit({}, "earlier", "echo from before; echo to stderr >&2");
    const fresh = new LocalRuntime({ logDir: join(dir, "logs") });
    const lines = await fresh.logs("earlier");
    assert.deepEqual(lines.map((l) => l.split(" ").slice(1).join(" ")), ["out from before", "err to stderr"]);
    assert.deepEqual(await fresh.logs("never-started"), []);
    assert.deepEqual(await fresh.logs("../escape"), []);
  });

  it("redacts secret values from instance output", async () => {
    const redactor = new Redactor();
    redactor.add("DB_PASSWORD", "hunter2-very-secret");
    const { runtime } = await runToExit({ redactor }, "leaky", 'echo "password is $DB_PASSWORD"', { DB_PASSWORD: "hunter2-very-secret" });
    const [line] = await runtime.logs("leaky");
    assert.match(line!, /out password is \[REDACTED:DB_PASSWORD\]$/);
  });

  it("gives the instance only the base environment, its own env and PORT", async () => {
    process.env.ENGINEROOM_TEST_LEAK = "should not pass";
    try {
      const { runtime } = await runToExit({}, "envcheck", 'echo "leak=${ENGINEROOM_TEST_LEAK:-none} port=$PORT own=$OWN path=${PATH:+set}"', { OWN: "yes" });
      assert.match((await runtime.logs("envcheck"))[0]!, /out leak=none port=1 own=yes path=set$/);
    } finally {
      delete process.env.ENGINEROOM_TEST_LEAK;
    }
  });

  it("refuses an id that could escape the log folder", async () => {
    const runtime = new LocalRuntime({ logDir: join(dir, "logs") });
    const spec: InstanceSpec = { id: "../x", service: "svc", releaseId: "r", command: "true", cwd: dir, env: {}, port: 1 };
    await assert.rejects(runtime.start(spec), { code: "DEPLOY_START_FAILED" });
  });
});

describe("LocalRuntime log shim", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "engineroom-shim-"));
    // Prints its pid; on SIGINT, SIGTERM or SIGHUP prints 20 more lines over ~100 ms, then exits 0.
    await writeFile(
      join(dir, "drains.cjs"),
      `console.log("pid " + process.pid);
      const bye = (signal) => { let i = 0; const t = setInterval(() => { console.log(signal + " line " + ++i); if (i === 20) { clearInterval(t); process.exit(0); } }, 5); };
      for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => bye(s));
      setInterval(() => {}, 1000);`,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const signal of ["SIGINT", "SIGHUP", "SIGTERM"] as const) {
    it(`survives ${signal} to the instance's group and keeps draining the app's output`, async () => {
      const runtime = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
      const id = `drains-${signal}`;
      const exited = new Promise<ExitInfo>((resolve) => runtime.onExit((exit) => exit.id === id && resolve(exit)));
      const info = await runtime.start({ id, service: "svc", releaseId: "r", command: `exec "${process.execPath}" drains.cjs`, cwd: dir, env: {}, port: 1 });
      await waitFor(async () => (await runtime.logs(id)).some((l) => / out pid \d+$/.test(l)));
      process.kill(-info.pid!, signal);
      // Code 0 comes from the shim's exit record: a shim killed by the signal could not have written it.
      assert.deepEqual(await exited, { id, code: 0, signal: null, expected: false });
      const lines = await runtime.logs(id);
      assert.equal(lines.filter((l) => l.includes(`out ${signal} line`)).length, 20, lines.join("\n"));
      runtime.forget(id);
    });
  }

  it("reports a shim that fails before it runs the app as a crash, with what it said in the instance's log", async () => {
    const runtime = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
    const doomed = join(dir, "doomed");
    await mkdir(doomed);
    const exited = new Promise<ExitInfo>((resolve) => runtime.onExit(resolve));
    await runtime.start({ id: "doomed", service: "svc", releaseId: "r", command: "echo never", cwd: doomed, env: {}, port: 1 });
    await rm(doomed, { recursive: true }); // before the shim (a node process starting) gets to move there
    assert.deepEqual(await exited, { id: "doomed", code: null, signal: null, expected: false });
    const lines = await runtime.logs("doomed");
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /err \[engineroom\] the instance's log shim failed: .*the log shim failed: ENOENT/);
    runtime.forget("doomed");
  });

  it("keeps its instance records owner-only, and removes them when the instance is forgotten", async () => {
    const runtime = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
    const exited = new Promise<ExitInfo>((resolve) => runtime.onExit(resolve));
    await runtime.start({ id: "brief", service: "svc", releaseId: "r", command: "sleep 0.2", cwd: dir, env: {}, port: 1 });
    const files = new InstanceFiles(dir);
    assert.equal((await stat(files.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(files.recordPath("brief"))).mode & 0o777, 0o600);
    await exited;
    assert.equal((await stat(files.exitPath("brief"))).mode & 0o777, 0o600);
    runtime.forget("brief");
    assert.deepEqual((await readdir(files.dir)).filter((f) => f.startsWith("brief")), []);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail("timed out");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("tailLog", () => {
  it("finds the last lines across chunk boundaries and rotated files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "engineroom-tail-"));
    try {
      const path = join(dir, "x.log");
      await writeFile(`${path}.1`, "a1\na2 é\na3\n");
      await writeFile(path, "b1 — long line\nb2\n");
      assert.deepEqual(await tailLog(path, 2, 3), ["b1 — long line", "b2"]);
      assert.deepEqual(await tailLog(path, 4, 3), ["a2 é", "a3", "b1 — long line", "b2"]);
      assert.deepEqual(await tailLog(path, 10, 4), ["a1", "a2 é", "a3", "b1 — long line", "b2"]);
      assert.deepEqual(await tailLog(join(dir, "missing.log"), 5), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps lines in order through a LogWriter that rotates", async () => {
    const dir = await mkdtemp(join(tmpdir(), "engineroom-writer-"));
    try {
      const path = join(dir, "w.log");
      const writer = new LogWriter({ path, maxBytes: 100, files: 5 });
      for (let i = 0; i < 40; i++) writer.write(`entry ${i}`);
      await writer.close();
      assert.deepEqual(await tailLog(path, 40), Array.from({ length: 40 }, (_, i) => `entry ${i}`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
