import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { processAlive } from "../../src/engine/index.js";
import { CliProject, root } from "../helpers/cli.js";
import { get, startLoad } from "../helpers/load.js";
import { waitFor } from "../helpers/wait.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pids of the live release's instances, by id. */
async function livePids(project: CliProject): Promise<Map<string, number>> {
  const status = await project.status();
  const web = status.environments[0]!.services.find((s) => s.name === "web")!;
  return new Map(web.instances.map((i) => [i.id, i.pid]));
}

describe("the data plane outlives the engine", { concurrency: false }, () => {
  const projects: CliProject[] = [];
  after(async () => {
    for (const project of projects) assert.deepEqual(await project.cleanup(), [], "no process of the project is left");
  });
  const project = () => {
    const p = new CliProject();
    projects.push(p);
    return p;
  };

  it("kill -9 of the engine under load fails no request, and the next up adopts the instances without restarting them", async () => {
    const p = project();
    await p.up();
    assert.equal((await p.run(["deploy", "web"])).code, 0);
    const before = await livePids(p);
    const plane = p.dataPlanePid();
    const load = startLoad(p.proxyUrl(), { connections: 4, maxMs: 60_000 });
    await sleep(500);
    await p.kill("SIGKILL");
    await sleep(1500); // nobody controls the data plane now; it keeps serving
    const whileDown = load.result.requests;
    await p.up();
    await sleep(1000);
    const result = await load.stop();
    assert.ok(whileDown > 20, `requests went on while no engine ran (${whileDown})`);
    assert.equal(result.failures, 0, `no request failed: ${JSON.stringify(result.problems)}`);
    assert.equal(p.dataPlanePid(), plane, "the same data-plane process serves");
    assert.deepEqual(await livePids(p), before, "the same instances (same pids) serve, none restarted");
  });

  it("a clean restart (Ctrl-C, then up) fails no request", async () => {
    const p = project();
    await p.up();
    assert.equal((await p.run(["deploy", "web"])).code, 0);
    const load = startLoad(p.proxyUrl(), { connections: 4, maxMs: 60_000 });
    await sleep(300);
    await p.kill("SIGINT");
    await sleep(500);
    await p.up();
    await sleep(500);
    const result = await load.stop();
    assert.equal(result.failures, 0, `no request failed: ${JSON.stringify(result.problems)}`);
    assert.ok(result.requests > 50);
  });

  it("kill -9 of the engine before its switch: the old release keeps serving, the new one is failed and its instances stopped", async () => {
    const p = project();
    await p.up();
    assert.equal((await p.run(["deploy", "web"])).code, 0);
    // v2's instances come up but its health gate never passes, so the deploy waits before the switch.
    const slow = p.artifact({ version: "v2", healthStatus: 503 });
    const load = startLoad(p.proxyUrl(), { connections: 2, maxMs: 60_000 });
    const deploying = p.run(["deploy", "web", slow]);
    await waitFor("v2 starting", async () => (await p.status()).environments[0]!.services[0]!.instances.some((i) => /-v2-/.test(i.id)), 20_000);
    const v2 = [...(await livePids(p)).entries()].filter(([id]) => /-v2-/.test(id)).map(([, pid]) => pid);
    await p.kill("SIGKILL");
    await deploying;
    await p.up();
    await waitFor("v2's instances stopped", () => v2.every((pid) => !processAlive(pid)), 20_000);
    const result = await load.stop();
    assert.equal(result.failures, 0, `no request failed: ${JSON.stringify(result.problems)}`);
    assert.deepEqual(Object.keys(result.versions), ["v1"]);
    const releases = JSON.parse((await p.run(["releases", "web", "--json"])).out) as Array<{ number: number; state: string }>;
    assert.equal(releases.find((r) => r.number === 2)?.state, "failed");
    assert.equal((await get(`${p.proxyUrl()}/`)).version, "v1");
  });

  it("kill -9 in a watch window: after the restart the release is still watched, its warm predecessor adopted, and abort rolls back to it at once", async () => {
    const p = project();
    await p.up();
    assert.equal((await p.run(["deploy", "web"])).code, 0);
    assert.equal((await p.run(["deploy", "web", p.artifact({ version: "v2" })])).code, 0);
    const before = await livePids(p);
    assert.equal(before.size, 4, "v2 serves and v1 is kept warm through the watch window");
    await p.kill("SIGKILL");
    await p.up();
    const status = await p.status();
    assert.equal(status.environments[0]!.services[0]!.live?.state, "watching");
    assert.deepEqual(await livePids(p), before, "both releases' instances were adopted");
    const load = startLoad(p.proxyUrl(), { connections: 2, maxMs: 30_000 });
    const aborted = await p.run(["abort", "web", "--json"]);
    assert.equal(aborted.code, 0, aborted.out);
    assert.equal(JSON.parse(aborted.out).warm, true, "the adopted predecessor was still warm");
    await sleep(300);
    const result = await load.stop();
    assert.equal(result.failures, 0, JSON.stringify(result.problems));
    assert.equal((await get(`${p.proxyUrl()}/`)).version, "v1");
  });

  it("the data plane killed: the engine starts it again and it serves its table", async () => {
    const p = project();
    await p.up();
    assert.equal((await p.run(["deploy", "web"])).code, 0);
    const plane = p.dataPlanePid()!;
    process.kill(plane, "SIGKILL");
    await waitFor("a new data plane", () => p.dataPlanePid() !== undefined && p.dataPlanePid() !== plane, 20_000);
    await waitFor("v1 served again", async () => (await get(`${p.proxyUrl()}/`).catch(() => ({ version: undefined }))).version === "v1", 20_000);
  });

  it("an engine of another build takes over: the data plane is handed over to its code with no failed request", async () => {
    const p = project();
    await p.up();
    assert.equal((await p.run(["deploy", "web"])).code, 0);
    const plane = p.dataPlanePid();
    // A second build: the same sources in another folder, with one proxy file changed.
    const build = mkdtempSync(join(tmpdir(), "engineroom-build2-"));
    try {
      cpSync(join(root, "src"), join(build, "src"), { recursive: true });
      writeFileSync(join(build, "package.json"), readFileSync(join(root, "package.json")));
      symlinkSync(join(root, "node_modules"), join(build, "node_modules"));
      appendFileSync(join(build, "src/proxy/worker.ts"), "\n// build 2\n");
      const load = startLoad(p.proxyUrl(), { connections: 4, maxMs: 90_000 });
      await sleep(300);
      await p.kill("SIGINT");
      await p.up({ build });
      await waitFor("the handed-over data plane", () => p.dataPlanePid() !== plane, 30_000);
      await waitFor("the old data plane gone", () => !processAlive(plane!), 30_000);
      await sleep(500);
      const result = await load.stop();
      assert.equal(result.failures, 0, `no request failed: ${JSON.stringify(result.problems)}`);
      assert.equal((await get(`${p.proxyUrl()}/`)).version, "v1");
    } finally {
      await p.kill("SIGINT");
      rmSync(build, { recursive: true, force: true });
    }
  });
});
