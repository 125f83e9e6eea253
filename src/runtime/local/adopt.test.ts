import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { childExecArgv, Redactor } from "../../core/index.js";
import { isAlive, waitUntil as waitFor } from "../runtime.contract.js";
import type { ExitInfo, InstanceInfo, InstanceSpec } from "../types.js";
import { InstanceFiles, type InstanceRecord } from "./instance-files.js";
import { stopRecordedInstances } from "./cleanup.js";
import { LocalRuntime } from "./local-runtime.js";
import { readStat } from "./procfs.js";

const here = dirname(fileURLToPath(import.meta.url));

/** An HTTP app: says its pid, prints what /say?<text> asks, and exits with code 7 on /crash. */
const app = `
  const http = require("node:http");
  http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/crash") { res.end("bye"); setTimeout(() => process.exit(7), 20); return; }
    if (url.pathname === "/say") console.log("said " + url.search.slice(1));
    res.end("ok " + process.pid);
  }).listen(Number(process.env.PORT), "127.0.0.1", () => console.log("app pid " + process.pid + " listening"));`;

/** A runtime in a process of its own, which the test kills: it starts the instances it is given and prints them. */
const owner = `
  import { LocalRuntime } from ${JSON.stringify(join(here, "local-runtime.ts"))};
  const [logDir, stateDir, specs] = process.argv.slice(2);
  const runtime = new LocalRuntime({ logDir, stateDir });
  for (const spec of JSON.parse(specs)) {
    spec.port = await runtime.allocatePort();
    console.log(JSON.stringify(await runtime.start(spec)));
  }
  setInterval(() => {}, 1000);`;

/** Every pid a test saw; each must be gone at the end. */
const seen = new Set<number>();
const children: ChildProcess[] = [];

describe("LocalRuntime adoption", { timeout: 60_000 }, () => {
  let dir: string;
  let logDir: string;
  let stateDir: string;
  let appDir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "engineroom-adopt-"));
    [logDir, stateDir, appDir] = [join(dir, "logs"), join(dir, "state"), join(dir, "app")];
    await mkdir(appDir);
    await writeFile(join(appDir, "app.cjs"), app);
    await writeFile(join(dir, "owner.mts"), owner);
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await waitUntil(() => [...seen].every((pid) => !isAlive(pid)), "every process the tests saw to be gone");
    await rm(dir, { recursive: true, force: true });
  });

  function spec(id: string): Omit<InstanceSpec, "port"> {
    return { id, service: "web", releaseId: "rel_1", command: `exec "${process.execPath}" app.cjs`, cwd: appDir, env: {}, labels: { environment: "production", slot: "blue" } };
  }

  /** Starts the instances in an owner process and returns them once it printed them all. */
  async function startInOwner(specs: Omit<InstanceSpec, "port">[]): Promise<{ owner: ChildProcess; infos: InstanceInfo[] }> {
    const child = spawn(process.execPath, [...childExecArgv(process.execArgv), join(dir, "owner.mts"), logDir, stateDir, JSON.stringify(specs)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    seen.add(child.pid!);
    const infos: InstanceInfo[] = [];
    let buffered = "";
    await new Promise<void>((resolve, reject) => {
      child.once("exit", () => reject(new Error("the owner exited early")));
      child.stdout!.on("data", (chunk: Buffer) => {
        buffered += chunk;
        for (let cut = buffered.indexOf("\n"); cut >= 0; cut = buffered.indexOf("\n")) {
          infos.push(JSON.parse(buffered.slice(0, cut)) as InstanceInfo);
          buffered = buffered.slice(cut + 1);
        }
        if (infos.length === specs.length) resolve();
      });
    });
    for (const info of infos) seen.add(info.pid!);
    return { owner: child, infos };
  }

  async function get(info: InstanceInfo, path = "/"): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${info.port}${path}`);
    return response.text();
  }

  it("adopts instances whose owner was killed: same pid, logs, stop, and crashes reported", async () => {
    const { owner, infos } = await startInOwner([spec("web-1"), spec("web-2")]);
    const [first, second] = infos as [InstanceInfo, InstanceInfo];
    for (const info of infos) await waitUntil(() => get(info).then(() => true, () => false), `${info.id} to serve`);
    const appPids = await Promise.all(infos.map(async (info) => Number((await get(info)).split(" ")[1])));
    appPids.forEach((pid) => seen.add(pid));

    const ownerGone = new Promise((resolve) => owner.once("exit", resolve));
    owner.kill("SIGKILL");
    await ownerGone;
    assert.match(await get(first, "/say?after-the-owner-died"), /^ok /, "the instance serves with its owner dead");

    const runtime = new LocalRuntime({ logDir, stateDir });
    try {
      const adopted = await runtime.adopt();
      assert.deepEqual(adopted.map((i) => [i.id, i.pid, i.port, i.status]).sort(), infos.map((i) => [i.id, i.pid, i.port, "running"]).sort());
      assert.deepEqual(adopted[0]!.labels, { environment: "production", slot: "blue" });
      assert.equal(adopted[0]!.cwd, appDir);
      assert.deepEqual(await runtime.adopt(), [], "adopting again finds nothing new");
      assert.equal(runtime.list().length, 2);
      await waitUntil(async () => (await runtime.logs(first.id)).some((l) => / out said after-the-owner-died$/.test(l)), "the line printed after the owner died");

      const exits: ExitInfo[] = [];
      runtime.onExit((exit) => exits.push(exit));
      await get(second, "/crash");
      await waitUntil(() => exits.length === 1, "the adopted instance's crash to be heard");
      assert.deepEqual(exits[0], { id: second.id, code: 7, signal: null, expected: false });
      assert.equal(runtime.list().find((i) => i.id === second.id)?.status, "exited");

      const stopped = await runtime.stop(first.id, { graceMs: 5_000 });
      assert.equal(stopped.expected, true);
      assert.deepEqual(exits[1], stopped);
      for (const pid of [...infos.map((i) => i.pid!), ...appPids]) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);

      const files = new InstanceFiles(stateDir);
      assert.equal(existsSync(files.recordPath(first.id)), true, "the record stays until the instance is forgotten");
      for (const info of infos) runtime.forget(info.id);
      assert.equal(existsSync(files.recordPath(first.id)), false);
      assert.deepEqual(runtime.list(), []);
    } finally {
      await runtime.stopAll(500);
    }
  });

  it("ends the app of a shim that was killed, and reports the exit as a crash, adopted or not", async () => {
    // Owned: the shim is killed while this runtime watches.
    const runtime = new LocalRuntime({ logDir, stateDir });
    try {
      const info = await runtime.start({ ...spec("orphan-1"), port: await runtime.allocatePort() });
      seen.add(info.pid!);
      await waitUntil(() => get(info).then(() => true, () => false), "orphan-1 to serve");
      const appPid = Number((await get(info)).split(" ")[1]);
      seen.add(appPid);
      const exited = new Promise<ExitInfo>((resolve) => runtime.onExit(resolve));
      process.kill(info.pid!, "SIGKILL");
      assert.deepEqual(await exited, { id: info.id, code: null, signal: "SIGKILL", expected: false });
      await waitUntil(() => !isAlive(appPid), `app ${appPid} of the killed shim to be ended`);
      runtime.forget(info.id);
    } finally {
      await runtime.stopAll(500);
    }

    // Recorded by a dead owner: the shim is killed while no runtime watches; adopt() ends its app.
    const { owner, infos } = await startInOwner([spec("orphan-2")]);
    const [info] = infos as [InstanceInfo];
    await waitUntil(() => get(info).then(() => true, () => false), "orphan-2 to serve");
    const appPid = Number((await get(info)).split(" ")[1]);
    seen.add(appPid);
    owner.kill("SIGKILL");
    process.kill(info.pid!, "SIGKILL");
    await waitUntil(() => !isAlive(info.pid!), "the shim to die");
    assert.equal(isAlive(appPid), true, "its app outlived it");
    assert.deepEqual(await new LocalRuntime({ logDir, stateDir }).adopt(), []);
    await waitUntil(() => !isAlive(appPid), `app ${appPid} to be ended by adopt()`);
    assert.equal(existsSync(new InstanceFiles(stateDir).recordPath("orphan-2")), false);
  });

  it("stops whatever a dead owner left running with stopRecordedInstances", async () => {
    const { owner, infos } = await startInOwner([spec("left-1"), spec("left-2")]);
    for (const info of infos) await waitUntil(() => get(info).then(() => true, () => false), `${info.id} to serve`);
    owner.kill("SIGKILL");
    const exits = await stopRecordedInstances(stateDir, 2_000);
    assert.deepEqual(exits.map((e) => [e.id, e.expected]).sort(), [["left-1", true], ["left-2", true]]);
    for (const info of infos) assert.equal(isAlive(info.pid!), false);
    assert.equal(existsSync(new InstanceFiles(stateDir).recordPath("left-1")), false);
    assert.deepEqual(await stopRecordedInstances(stateDir), []);
  });

  it("drops a record whose pid now belongs to another process, and leaves that process alone", async () => {
    const stranger = spawn(process.execPath, ["-e", `process.on("SIGTERM", () => console.log("signalled")); console.log("up"); setInterval(() => {}, 1000)`], {
      cwd: appDir,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(stranger);
    seen.add(stranger.pid!);
    let output = "";
    stranger.stdout!.on("data", (chunk: Buffer) => (output += chunk));
    await waitUntil(() => output.includes("up"), "the stranger to start");

    const files = new InstanceFiles(stateDir);
    files.ensure();
    const startTime = readStat(stranger.pid!)!.startTime;
    const record: InstanceRecord = {
      version: 1, id: "reused", service: "web", releaseId: "rel_1", labels: {}, cwd: appDir, host: "127.0.0.1", port: 1,
      pid: stranger.pid!, pidStartTime: startTime - 1, logPath: join(logDir, "web", "reused.log"), startedAt: 0,
    };
    files.write(record);
    // And one whose process is gone, with the exit its shim recorded.
    files.write({ ...record, id: "gone", pid: await exitedPid(), pidStartTime: 1 });
    await writeFile(files.exitPath("gone"), JSON.stringify({ code: 0, signal: null, exitedAt: 0 }));

    const runtime = new LocalRuntime({ logDir, stateDir });
    assert.deepEqual(await runtime.adopt(), []);
    assert.equal(existsSync(files.recordPath("reused")), false);
    assert.equal(existsSync(files.recordPath("gone")), false);
    assert.equal(existsSync(files.exitPath("gone")), false);
    assert.equal(isAlive(stranger.pid!), true);
    assert.equal(output.includes("signalled"), false, "the stranger got no signal");
    assert.deepEqual(runtime.list(), []);
    stranger.kill("SIGKILL");
  });

  it("keeps secret values out of the shim's argv, environment and record, and out of the log", async () => {
    const redactor = new Redactor();
    const secret = "s3cr3t-token-value-42";
    redactor.add("API_TOKEN", secret);
    const runtime = new LocalRuntime({ logDir, stateDir, redactor });
    try {
      const info = await runtime.start({ ...spec("secretive"), command: `echo "token=$API_TOKEN"; exec sleep 30`, env: { API_TOKEN: secret }, port: 1 });
      seen.add(info.pid!);
      await waitUntil(async () => (await runtime.logs(info.id)).length > 0, "the line with the token");
      assert.match((await runtime.logs(info.id))[0]!, / out token=\[REDACTED:API_TOKEN\]$/);
      for (const file of ["cmdline", "environ"]) assert.ok(!readFileSync(`/proc/${info.pid}/${file}`, "latin1").includes(secret), `not in the shim's ${file}`);
      assert.ok(!readFileSync(new InstanceFiles(stateDir).recordPath(info.id), "utf8").includes(secret));
      const exit = await runtime.stop(info.id, { graceMs: 2_000 });
      assert.equal(exit.expected, true);
      assert.equal(exit.signal, "SIGTERM");
    } finally {
      await runtime.stopAll(500);
    }
  });
});

/** The pid of a process that ran and exited. */
async function exitedPid(): Promise<number> {
  const child = spawn("true");
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

/** The contract's poll, with more time: these tests wait on processes another process started. */
function waitUntil(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  return waitFor(condition, what, 10_000);
}
