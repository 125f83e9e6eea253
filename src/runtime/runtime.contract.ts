import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isEngineError } from "../core/index.js";
import type { ExitInfo, InstanceSpec, Runtime } from "./types.js";

/** What a runtime's test hands the contract: a fresh runtime and how to clean up after it. */
export interface RuntimeUnderTest {
  runtime: Runtime;
  cleanup(): Promise<void>;
  /** A second runtime on the same state, standing for the next engine process; its cleanup lets go
   * of what it tracks without stopping it. Without it the adoption test is skipped. */
  reopen?(): { runtime: Runtime; close(): void };
}

/** Small node programs the contract runs as instances. Each is a CommonJS file in a temp folder. */
const scripts: Record<string, string> = {
  "server.cjs": `
    const http = require("node:http");
    http.createServer((req, res) => res.end(JSON.stringify({ greeting: process.env.GREETING ?? null, port: process.env.PORT })))
      .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));`,
  "chatty.cjs": `
    const lines = [["out", "one"], ["err", "two"], ["out", "three"], ["err", "four"]];
    let i = 0;
    const next = () => {
      if (i === lines.length) return process.stdout.write("last words without a newline");
      const [stream, text] = lines[i++];
      (stream === "out" ? process.stdout : process.stderr).write(text + "\\n");
      setTimeout(next, 30);
    };
    next();`,
  "crash.cjs": `console.log("about to crash"); setTimeout(() => process.exit(3), 100);`,
  "ignores-term.cjs": `
    process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
    console.log("ready " + process.pid);
    setInterval(() => {}, 1000);`,
  "parent.cjs": `
    const { spawn } = require("node:child_process");
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    console.log("grandchild " + child.pid);
    if (process.argv[2] === "exit") setTimeout(() => process.exit(0), 100);
    else setInterval(() => {}, 1000);`,
};

/**
 * The behaviour every Runtime must show. Call it from a runtime's test file:
 *
 * @example
 * runRuntimeContract("local", async () => {
 *   const runtime = new LocalRuntime({ logDir });
 *   return { runtime, cleanup: async () => { await runtime.stopAll(100); } };
 * });
 */
export function runRuntimeContract(name: string, makeRuntime: () => Promise<RuntimeUnderTest>): void {
  describe(`Runtime contract: ${name}`, { timeout: 60_000 }, () => {
    let subject: RuntimeUnderTest;
    let runtime: Runtime;
    let dir: string;
    let counter = 0;
    /** The pid of every instance started; none may be left running at the end. */
    const pids = new Set<number>();

    before(async () => {
      subject = await makeRuntime();
      runtime = subject.runtime;
      dir = await mkdtemp(join(tmpdir(), "engineroom-runtime-"));
      for (const [file, text] of Object.entries(scripts)) await writeFile(join(dir, file), text);
    });

    after(async () => {
      await subject?.cleanup();
      await waitUntil(() => [...pids].every((pid) => !isAlive(pid)), `every instance's process to be gone (${[...pids].join(", ")})`);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** Starts a script as a new instance and returns its id. */
    async function startScript(script: string, options: { env?: Record<string, string>; cwd?: string; args?: string; shell?: boolean; labels?: Record<string, string> } = {}) {
      const id = `contract-${++counter}-${script.replace(/\W/g, "")}`;
      const spec: InstanceSpec = {
        id,
        service: "contract",
        releaseId: "rel_contract",
        // `exec` makes node the group leader; with `shell`, sh stays as node's parent, as with most run commands.
        command: `${options.shell ? "" : "exec "}"${process.execPath}" ${script}${options.args ? " " + options.args : ""}`,
        cwd: options.cwd ?? dir,
        env: options.env ?? {},
        port: await runtime.allocatePort(),
        labels: options.labels,
      };
      const info = await runtime.start(spec);
      if (info.pid !== undefined) pids.add(info.pid);
      return { spec, info };
    }

    /** Resolves with the next exit of instance `id`; subscribe before starting it. */
    function nextExit(idOf: () => string): Promise<ExitInfo> {
      return new Promise((resolve) => {
        const off = runtime.onExit((exit) => {
          if (exit.id === idOf()) {
            off();
            resolve(exit);
          }
        });
      });
    }

    async function waitForLog(id: string, pattern: RegExp): Promise<string> {
      let found: string | undefined;
      await waitUntil(async () => (found = (await runtime.logs(id, { lines: 50 })).find((l) => pattern.test(l))) !== undefined, `log line ${pattern} from ${id}`);
      return found!;
    }

    it("starts an instance that serves HTTP on its PORT, with the env it was given", async () => {
      const { spec, info } = await startScript("server.cjs", { env: { GREETING: "hello from the contract" } });
      assert.equal(info.status, "running");
      assert.equal(info.port, spec.port);
      await waitForLog(spec.id, /listening/);
      const response = await fetch(`http://${info.host}:${info.port}/`);
      assert.deepEqual(await response.json(), { greeting: "hello from the contract", port: String(spec.port) });
      assert.ok(runtime.list().some((i) => i.id === spec.id && i.status === "running"));
      const exit = await runtime.stop(spec.id, { graceMs: 5_000 });
      assert.equal(exit.expected, true);
    });

    it("keeps stdout and stderr in order, including a last line without a newline", async () => {
      let id = "";
      const exited = nextExit(() => id);
      ({ spec: { id } } = await startScript("chatty.cjs"));
      await exited;
      const lines = await runtime.logs(id);
      const texts = ["one", "two", "three", "four", "last words without a newline"];
      assert.equal(lines.length, texts.length, lines.join("\n"));
      texts.forEach((text, i) => assert.ok(lines[i]!.endsWith(text), `line ${i}: ${lines[i]}`));
      assert.deepEqual(await runtime.logs(id, { lines: 2 }), lines.slice(-2));
    });

    it("reports a crash to onExit as unexpected, with its exit code", async () => {
      let id = "";
      const exited = nextExit(() => id);
      ({ spec: { id } } = await startScript("crash.cjs"));
      const exit = await exited;
      assert.deepEqual(exit, { id, code: 3, signal: null, expected: false });
      assert.equal(runtime.list().find((i) => i.id === id)?.status, "exited");
      assert.deepEqual(await runtime.stop(id), exit, "stopping an exited instance answers at once");
      runtime.forget(id);
      assert.ok(!runtime.list().some((i) => i.id === id));
    });

    it("stops an instance when asked, reports it as expected, and is idempotent", async () => {
      const { spec } = await startScript("server.cjs");
      await waitForLog(spec.id, /listening/);
      const heard: ExitInfo[] = [];
      const off = runtime.onExit((exit) => exit.id === spec.id && heard.push(exit));
      const started = Date.now();
      const [first, second] = await Promise.all([runtime.stop(spec.id, { graceMs: 5_000 }), runtime.stop(spec.id)]);
      off();
      assert.ok(Date.now() - started < 2_000, "a process that exits on SIGTERM does not wait out the grace period");
      assert.equal(first.expected, true);
      assert.deepEqual(second, first);
      assert.deepEqual(heard, [first]);
      assert.deepEqual(await runtime.stop(spec.id), first);
    });

    it("stops an instance asked to stop the moment it started", async () => {
      const { spec, info } = await startScript("server.cjs");
      const exit = await runtime.stop(spec.id, { graceMs: 5_000 });
      assert.equal(exit.expected, true);
      assert.equal(runtime.list().find((i) => i.id === spec.id)?.status, "exited");
      if (info.pid !== undefined) await waitUntil(() => !isAlive(info.pid!), `process ${info.pid} to be gone`);
    });

    for (const shell of [false, true]) {
      it(`kills an instance that ignores SIGTERM once the grace period is over${shell ? ", under a shell" : ""}`, async () => {
        const { spec } = await startScript("ignores-term.cjs", { shell });
        const pid = Number((await waitForLog(spec.id, /ready \d+/)).match(/ready (\d+)/)![1]);
        const started = Date.now();
        const exit = await runtime.stop(spec.id, { graceMs: 300 });
        assert.ok(Date.now() - started >= 250, `stopped after ${Date.now() - started} ms, before the grace period`);
        assert.equal(exit.expected, true);
        if (!shell) assert.equal(exit.signal, "SIGKILL");
        await waitUntil(() => !isAlive(pid), `process ${pid} to die`);
        assert.ok((await runtime.logs(spec.id)).some((l) => l.endsWith("ignoring SIGTERM")));
      });
    }

    it("kills the instance's child processes with it", async () => {
      const { spec } = await startScript("parent.cjs");
      const grandchild = Number((await waitForLog(spec.id, /grandchild \d+/)).match(/grandchild (\d+)/)![1]);
      assert.equal(isAlive(grandchild), true);
      await runtime.stop(spec.id, { graceMs: 2_000 });
      await waitUntil(() => !isAlive(grandchild), `grandchild ${grandchild} to die`);
    });

    it("takes the rest of a crashed instance's processes with it", async () => {
      let id = "";
      const exited = nextExit(() => id);
      ({ spec: { id } } = await startScript("parent.cjs", { args: "exit" }));
      const grandchild = Number((await waitForLog(id, /grandchild \d+/)).match(/grandchild (\d+)/)![1]);
      assert.equal((await exited).expected, false);
      await waitUntil(() => !isAlive(grandchild), `grandchild ${grandchild} to die`);
    });

    it("lists an instance with its labels and folder, and a runtime made afresh on the same state adopts it", async (t) => {
      const { spec, info } = await startScript("server.cjs", { labels: { environment: "staging", slot: "green" } });
      assert.deepEqual(info.labels, { environment: "staging", slot: "green" });
      assert.equal(runtime.list().find((i) => i.id === spec.id)?.cwd, dir);
      await waitForLog(spec.id, /listening/);
      if (!subject.reopen) return t.skip("this runtime cannot be reopened");
      const next = subject.reopen();
      try {
        const adopted = (await next.runtime.adopt()).find((i) => i.id === spec.id);
        assert.ok(adopted, "adopted");
        assert.deepEqual([adopted.pid, adopted.port, adopted.status, adopted.labels, adopted.cwd], [info.pid, info.port, "running", info.labels, dir]);
        assert.equal((await fetch(`http://${adopted.host}:${adopted.port}/`)).status, 200);
        const exit = await next.runtime.stop(spec.id, { graceMs: 5_000 });
        assert.equal(exit.expected, true);
        next.runtime.forget(spec.id);
      } finally {
        next.close();
      }
    });

    it("rejects with DEPLOY_START_FAILED when the instance cannot be spawned", async () => {
      await assert.rejects(startScript("server.cjs", { cwd: join(dir, "no-such-folder") }), (error) => {
        assert.ok(isEngineError(error));
        assert.equal(error.code, "DEPLOY_START_FAILED");
        assert.match(error.message, /no-such-folder/);
        return true;
      });
    });

    it("allocates distinct ports that can be bound", async () => {
      const ports = await Promise.all(Array.from({ length: 5 }, () => runtime.allocatePort()));
      assert.equal(new Set(ports).size, ports.length);
      for (const port of ports) await listenOnce(port);
    });
  });
}

/** Polls `condition` every 25 ms; fails the test, naming `what`, after `timeoutMs`. For the runtime tests beside each runtime too. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether a process lives. A zombie counts as dead: where PID 1 does not reap orphans (some
 * containers), a killed grandchild stays a zombie and still answers signal 0. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc here: trust signal 0
  }
}

function listenOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}
