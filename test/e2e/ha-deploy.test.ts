/**
 * A deploy in flight when the leader dies, through the CLI on the real PostgreSQL: leader A deploys v2
 * (an app whose health check fails, under a long start timeout, so v2 is still starting) and is killed
 * with SIGKILL while v2's instances run. Standby B leads, and its recovery fails the cut-off release
 * once; v1 serves from B's data plane, and A's data plane served v1 throughout under constant load.
 * The shared event log lost and repeated nothing. Every process of both projects ends with the test.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { processAlive } from "../../src/engine/index.js";
import { CliProject, cliArgs } from "../helpers/cli.js";
import { get, startLoad, type LoadResult } from "../helpers/load.js";
import { freePort } from "../helpers/ports.js";
import { testConfig } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

const url = process.env.ENGINEROOM_TEST_POSTGRES_URL;

/** The process groups of the instances a project's runtime recorded (each shim leads its instance's group), by release. */
function recordedInstances(project: CliProject): Array<{ releaseId: string; pid: number }> {
  const dir = join(project.dir, ".engineroom/instances");
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith(".json"));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      const record = JSON.parse(readFileSync(join(dir, name), "utf8")) as { releaseId: string; pid: number };
      return [{ releaseId: record.releaseId, pid: record.pid }];
    } catch {
      return []; // being written
    }
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("a deploy in flight when the leader dies", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set: HA deploy e2e skipped" }, () => {
  const schema = `er_ha_deploy_${randomBytes(5).toString("hex")}`;
  const db = new pg.Client({ connectionString: url });
  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) => (await db.query(text, params)).rows as T[];
  let a: CliProject;
  let b: CliProject;
  let bApi: number;
  const groups = new Set<number>();

  before(async () => {
    await db.connect();
    await sql(`CREATE SCHEMA ${schema}`);
    await sql(`SET search_path TO ${schema}`);
    const storeUrl = `${url}${url!.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    // Artifacts in PostgreSQL: B starts v1 from the store, not from A's folder. A long start timeout:
    // A is killed while v2 waits for its health gate, never by the gate's own timeout.
    const config = testConfig("", `store:\n  url: "${storeUrl}"\nha:\n  lease: 3s\n  renew: 1s\nartifacts:\n  store: postgres\n`)
      .replace("    instances: 2", "    artifact: ./app\n    instances: 2")
      .replace("start_timeout: 5s", "start_timeout: 120s");
    a = new CliProject(config);
    bApi = await freePort();
    b = new CliProject(config.replace("api:\n  listen: 127.0.0.1:0", `api:\n  listen: 127.0.0.1:${bApi}`));
  });

  after(async () => {
    for (const project of [a, b]) {
      for (const instance of project ? recordedInstances(project) : []) groups.add(instance.pid);
      await project?.cleanup().catch(() => {});
    }
    // `down` of the killed leader's folder stopped its data plane and every instance it recorded, v2's too.
    await waitFor("every instance's process group ended", () => [...groups].every((pgid) => !groupAlive(pgid)), 30_000);
    await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await db.end();
  });

  it("kill -9 of the leader while v2 starts: the standby leads and fails v2 once, v1 serves on both data planes, 0 requests failed", { timeout: 600_000 }, async () => {
    await a.up({ args: ["--deploy"] });
    const front = a.proxyUrl() + "/";
    await waitFor("v1 serving on a", async () => (await get(front).catch(() => ({ version: undefined }))).version === "v1", 120_000);
    // b stands by (it writes engine.json only once it leads and serves); its cleanup ends it.
    b.engine = spawn(process.execPath, [...cliArgs(), "up"], { cwd: b.dir, stdio: "ignore" });
    await waitFor("b standing by", () => fetch(`http://127.0.0.1:${bApi}/v1/health`).then((r) => r.status === 409, () => false), 60_000);

    const load = startLoad(front, { connections: 4, maxMs: 300_000, maxRequests: 3_000_000 });
    let result: LoadResult;
    try {
      const v2 = a.artifact({ version: "v2", healthStatus: 503 });
      const deploying = a.run(["deploy", "web", v2]);
      // v2 is starting: its release says so, and its instances run (failing their health check).
      let release: { id: string; state: string } | undefined;
      await waitFor("v2 starting with its instances running", async () => {
        [release] = await sql<{ id: string; state: string }>("SELECT id, state FROM releases WHERE number = 2");
        return release?.state === "starting" && recordedInstances(a).filter((i) => i.releaseId === release!.id).length === 2;
      }, 120_000);
      for (const instance of recordedInstances(a)) groups.add(instance.pid);
      const [{ max: lastBeforeKill }] = await sql<{ max: string }>("SELECT max(id) FROM events");
      const beforeKill = await sql<{ id: string; type: string }>("SELECT id, type FROM events ORDER BY id");

      await a.kill("SIGKILL");
      const cut = await deploying;
      assert.notEqual(cut.code, 0, `the deploy's CLI fails with its engine gone: ${cut.out}`);
      await waitFor("b leading and serving", () => b.info()?.pid === b.engine!.pid, 120_000);

      // B's recovery failed the cut-off release, once, and said why.
      const [failed] = await sql<{ state: string; reason: string }>("SELECT state, reason FROM releases WHERE id = $1", [release!.id]);
      assert.equal(failed?.state, "failed");
      assert.match(failed!.reason, /the engine stopped during this deploy; the switch never happened/);
      const v2Events = await sql<{ id: string; type: string }>("SELECT id, type FROM events WHERE release_id = $1 ORDER BY id", [release!.id]);
      assert.equal(v2Events.filter((e) => e.type === "release.failed").length, 1, JSON.stringify(v2Events));
      assert.equal(v2Events.at(-1)?.type, "release.failed");
      assert.ok(v2Events.some((e) => e.type === "release.starting"), "a's events of v2 are kept");
      assert.equal(v2Events.filter((e) => e.type === "release.starting").length, 1);

      // The event log: every event a wrote is still there, ids strictly increasing, each engine started once, b's after a's.
      const events = await sql<{ id: string; type: string; data: string; release_id: string | null }>("SELECT id, type, data, release_id FROM events ORDER BY id");
      const ids = events.map((e) => Number(e.id));
      assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), "ids strictly increasing");
      assert.deepEqual(
        events.filter((e) => Number(e.id) <= Number(lastBeforeKill)).map((e) => [e.id, e.type]),
        beforeKill.map((e) => [e.id, e.type]),
      );
      const started = events.filter((e) => e.type === "engine.started");
      assert.deepEqual(started.map((e) => (JSON.parse(e.data) as { pid: number }).pid), [a.engine!.pid, b.engine!.pid]);
      const failedAt = Number(v2Events.at(-1)!.id);
      assert.ok(Number(started[1]!.id) < failedAt && failedAt > Number(lastBeforeKill), "b failed v2 after it started");
      const lease = await sql<{ term: string; holder: string }>("SELECT term, holder FROM leader_lease");
      assert.equal(lease[0]?.term, "2");
      assert.ok(lease[0]!.holder.includes(`:${b.engine!.pid}:`));

      // v1 serves from B's data plane (started from the artifact store), and still from A's.
      await waitFor("v1 serving on b", async () => (await get(b.proxyUrl() + "/").catch(() => ({ version: undefined }))).version === "v1", 60_000);
      const status = await b.status();
      const web = status.environments[0]!.services.find((s) => s.name === "web")!;
      assert.equal(web.live?.number, 1);
      assert.ok(web.instances.every((i) => i.releaseId !== release!.id), "b runs no instance of v2");
      assert.equal((await get(front)).version, "v1");
      const plane = a.dataPlanePid();
      assert.ok(plane !== undefined && processAlive(plane), "a's data plane outlives its engine");
    } finally {
      result = await load.stop();
    }
    assert.equal(result.failures, 0, `requests failed on a's data plane: ${JSON.stringify(result.problems)}`);
    assert.ok(result.requests > 100, `constant load: ${result.requests} requests`);
    assert.deepEqual(Object.keys(result.versions), ["v1"]);
  });
});
